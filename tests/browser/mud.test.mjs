// Browser test of the MUD terminal (web/play.html) against a real 3-node
// cluster behind nginx (`warren cluster up`), once the server speaks the MUD
// over WebSocket (docs/protocol.md, "MUD over WebSocket"). Until then it is
// skipped; the client alone is tested against fake nodes in
// mud-client.test.mjs.
//
//   1. at /play through nginx, create the character Alice (name, password
//      twice: the password line is hidden and never shown);
//   2. walk north (Room.Info changes to the room of the exit), say hello;
//   3. SIGKILL the node the page is connected to: the terminal says
//      "-- reconnected to node N --" (another node), and `look` shows the
//      same room, still as Alice, without logging in again;
//   4. the node is restarted.
//
// The login dialogue's wording is the server's: the patterns below are
// deliberately loose. Screenshots: tests/artifacts/browser/mud-*.png.

import assert from 'node:assert/strict';
import * as h from './lib.mjs';

const NAME_Q = /name/i;                   // "By what name are you known?"
const PASSWORD_Q = /password/i;           // "Choose a password:"
const AGAIN_Q = /again|repeat|confirm/i;  // "Again:"
const PASSWORD = 'correct-horse-42';

h.browserTest('mud', 'MUD at /play through nginx: create Alice, walk, say; her node is killed; resumed', 300000, run,
    { skip: 'needs the MUD server' });

async function run({ cluster, browser, pages }) {
    const A = await h.openPlay(browser, cluster.lb, 'mud', pages);

    // 1. Create Alice.
    await h.waitText(A, NAME_Q);
    await h.ask(A, 'Alice', PASSWORD_Q);
    assert.equal(await A.getAttribute('#line', 'type'), 'password', 'the server hid the input');
    await h.ask(A, PASSWORD, AGAIN_Q);
    await h.command(A, PASSWORD);
    await A.waitForFunction(() => window.__mud.status().inGame, null, { timeout: 15000 });
    assert.equal(await A.getAttribute('#line', 'type'), 'text', 'input visible again');
    assert.ok(!(await h.mudText(A)).includes(PASSWORD), 'the password is never shown');
    assert.equal((await h.mudStatus(A)).name, 'Alice');
    await A.waitForFunction(() => window.__mud.gmcp['Room.Info'], null, { timeout: 10000 });
    await h.shot(A, 'mud-01-created');

    // 2. Walk north, say hello.
    const start = await A.evaluate(() => window.__mud.gmcp['Room.Info']);
    assert.ok(start.exits && start.exits.n != null, `the start room has an exit north: ${JSON.stringify(start)}`);
    await h.command(A, 'north');
    await A.waitForFunction((n) => window.__mud.gmcp['Room.Info']?.num === n, start.exits.n, { timeout: 10000 });
    const room = await A.evaluate(() => window.__mud.gmcp['Room.Info']);
    assert.equal(await A.textContent('#room-name'), room.name);
    await h.ask(A, 'say hello', /hello/);
    await h.shot(A, 'mud-02-walked');

    // 3. Kill the page's node: resumed elsewhere, same room, same name.
    const node = await A.evaluate(() => window.__mud.node());
    assert.ok(node >= 1, `connected to a node (${node})`);
    const from = await h.mudMark(A);
    console.log(`killing node ${node} (Alice in room ${room.num} "${room.name}")`);
    const t0 = Date.now();
    await cluster.kill(node);
    await h.waitText(A, /-- reconnected to node \d+ --/, { from, timeout: 30000 });
    await A.waitForFunction((dead) => window.__mud.connected() && window.__mud.node() !== dead, node, { timeout: 10000 });
    console.log(`resumed on node ${await A.evaluate(() => window.__mud.node())} after ${Date.now() - t0} ms`);
    await h.ask(A, 'look', room.name);
    const after = await h.mudText(A);
    assert.ok(!PASSWORD_Q.test(after.slice(from)), `no login after the failover:\n${after.slice(from)}`);
    assert.equal((await h.mudStatus(A)).name, 'Alice');
    assert.match(await A.textContent('#char-name'), /Alice/);
    assert.equal((await A.evaluate(() => window.__mud.gmcp['Room.Info'])).num, room.num, 'same room');
    assert.notEqual(Number(await A.textContent('#node')), node, '#node shows another node');
    await h.shot(A, 'mud-03-resumed');

    // 4. Back to three nodes.
    await cluster.restart(node);
}
