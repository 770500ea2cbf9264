// Browser test of the MUD terminal (web/play.html) against a real 3-node
// cluster behind nginx (`warren cluster up`, telnet on), speaking the MUD
// over WebSocket (docs/protocol.md, "MUD over WebSocket"); the client alone
// is tested against fake nodes in mud-client.test.mjs.
//
//   1. at /play through nginx, create the character Alice (name, y, password
//      twice: the password line is hidden and never shown);
//   2. Tom logs in over telnet (tests/cluster/lib/telnet.mjs, a client that
//      negotiates) on a node that is NOT the page's; Alice walks north
//      (Room.Info and the side panel follow) and speaks there: Tom, still in
//      the square, does not hear it; Tom follows her: the side panel lists
//      him, each hears the other's `say`, the page shows Tom's channel
//      message in its side panel;
//   3. SIGKILL the page's node: the terminal says "-- reconnected to node N
//      --" (another node), and `look` shows the same room, still as Alice,
//      without logging in again; Alice and Tom still hear each other.
//
// The nodes hash passwords cheaply (--mud-pwhash-ops 1 --mud-pwhash-mem
// 8192). Screenshots: tests/artifacts/browser/mud-*.png, and the README's
// docs/mud-screenshot.png.

import assert from 'node:assert/strict';
import path from 'node:path';
import * as h from './lib.mjs';
import { TelnetClient } from '../cluster/lib/telnet.mjs';
import { answerChoices } from '../cluster/lib/mud.mjs';

const NAME_Q = /By what name are you known\? $/;
const CONFIRM_Q = /Create a new character called Alice\? \(y\/n\) $/;
const PASSWORD_Q = /Password: $/;
const AGAIN_Q = /Again, to be sure: $/;
const PASSWORD = 'correct-horse-42';

h.browserTest('mud', 'MUD at /play through nginx: Alice (browser) and Tom (telnet, another node) talk; her node is killed; resumed',
    120000, run, { cluster: { telnet: true, nodeArgs: ['--mud-pwhash-ops', '1', '--mud-pwhash-mem', '8192'] } });

async function run({ cluster, browser, pages }) {
    const t0 = Date.now();
    const A = await h.openPlay(browser, cluster.lb, 'mud', pages);
    let tom = null;
    try {
        await play(cluster, A, (t) => (tom = t));
    } catch (e) {
        if (tom) console.log(`==== telnet Tom: text (last 2000 chars)\n${tom.text().slice(-2000)}`);
        throw e;
    } finally {
        if (tom) await tom.close().catch(() => {});
    }
    console.log(`done in ${Date.now() - t0} ms`);
}

/** Tom's text received from now on must match `re` within `ms`. */
const hears = (tom, re, ms = 10000) => tom.waitFor(re, ms);

async function play(cluster, A, keepTom) {
    // 1. Create Alice.
    await h.waitText(A, NAME_Q);
    await h.ask(A, 'Alice', CONFIRM_Q);
    assert.equal(await A.getAttribute('#line', 'type'), 'text', 'the name and the y/n are typed visibly');
    await h.ask(A, 'y', PASSWORD_Q);
    assert.equal(await A.getAttribute('#line', 'type'), 'password', 'the server hid the input');
    await h.ask(A, PASSWORD, AGAIN_Q);
    const choices = await h.answerChoices(A, await h.command(A, PASSWORD));
    assert.equal(await A.getAttribute('#line', 'type'), 'text', 'input visible again');
    const login = await h.mudText(A);
    assert.match(login, /By what name are you known\? Alice\n/, 'positive control: a typed line is echoed');
    assert.ok(!login.includes(PASSWORD), 'the password is never shown');
    // (the history keeps one of two equal lines in a row: the answers "1", "1")
    const typed = ['Alice', 'y', ...choices].filter((l, i, all) => i === 0 || l !== all[i - 1]);
    assert.deepEqual(await A.evaluate(() => window.__mud.history()), typed, 'no password in the history');
    assert.equal((await h.mudStatus(A)).name, 'Alice');
    await A.waitForFunction(() => window.__mud.gmcp['Room.Info'], null, { timeout: 10000 });
    const square = await A.evaluate(() => window.__mud.gmcp['Room.Info']);
    await h.waitText(A, square.name);
    assert.match(await A.textContent('#char-name'), /Alice/);

    // The status bar names the page's node.
    const node = await A.evaluate(() => window.__mud.node());
    assert.ok(node >= 1 && node <= 3, `connected to a node (${node})`);
    assert.equal(await A.textContent('#state-text'), 'connected');
    assert.equal(Number(await A.textContent('#node')), node, '#node shows the page\'s node');
    await h.shot(A, 'mud-01-created');

    // 2. Tom, over telnet to another node, in the start room too.
    const tomNode = node === 1 ? 2 : 1;
    const tom = await TelnetClient.connect(cluster.telnetPort(tomNode), '127.0.0.1', { stripAnsi: true, label: 'tom' });
    keepTom(tom);
    await tom.waitFor(/By what name are you known\? $/);
    tom.send('Tom');
    await tom.waitFor(/\(y\/n\) $/);
    tom.send('y');
    await tom.waitFor(/Password: $/);
    assert.ok(tom.echoHidden(), 'telnet: the server took the echo for the password');
    tom.send('telnet-pw-7');
    await tom.waitFor(/Again, to be sure: $/);
    tom.send('telnet-pw-7');
    await answerChoices(tom);
    await tom.waitFor(new RegExp(`Welcome to .*, Tom\\.[\\s\\S]*${square.name}[\\s\\S]*Alice is here\\.`), 10000);
    await h.waitText(A, 'Tom has entered the game.');
    await A.waitForFunction(() => [...document.querySelectorAll('#room-players li')].some((li) => li.textContent === 'Tom'),
        null, { timeout: 5000 });
    const who = await h.ask(A, 'who', /players? online/);
    assert.match(who, new RegExp(`Alice +${square.name}.*node ${node}\\b`), `who: Alice on the page's node ${node}`);
    assert.match(who, new RegExp(`Tom +${square.name}.*node ${tomNode}\\b`), `who: Tom on node ${tomNode}`);

    // Alice walks north; the side panel follows.
    assert.ok(square.exits && square.exits.n != null, `the start room has an exit north: ${JSON.stringify(square)}`);
    assert.ok(await A.isVisible('#room-exits button[data-dir="n"]'), 'the exit north is a button');
    await h.command(A, 'north');
    await A.waitForFunction((n) => window.__mud.gmcp['Room.Info']?.num === n, square.exits.n, { timeout: 10000 });
    const room = await A.evaluate(() => window.__mud.gmcp['Room.Info']);
    await h.waitText(A, room.name);
    assert.equal(await A.textContent('#room-name'), room.name);
    assert.deepEqual(await A.$$eval('#room-exits button', (bs) => bs.map((b) => b.dataset.dir).sort()),
        Object.keys(room.exits).sort(), 'the exit buttons are the room\'s exits');
    assert.ok(!(await A.$$eval('#room-players li', (ls) => ls.map((l) => l.textContent))).includes('Tom'),
        'Tom stayed in the square');
    await hears(tom, /Alice leaves north\./);

    // Negative: a say in the next room is not heard in the square. Its
    // control: Tom then follows (his move is ordered after the say) and
    // hears Alice's next say in the same room.
    await h.ask(A, 'say only this room hears me', /You say 'only this room hears me'/);
    tom.send('north');
    await hears(tom, new RegExp(`${room.name}[\\s\\S]*Alice is here\\.`));
    assert.ok(!tom.text().includes('only this room hears me'), 'Tom, in another room, did not hear Alice');
    await h.waitText(A, /Tom arrives from the south\./);
    await A.waitForFunction(() => [...document.querySelectorAll('#room-players li')].some((li) => li.textContent === 'Tom'),
        null, { timeout: 5000 });

    // Talk both ways, and a channel message into the side panel.
    let from = await h.mudMark(A);
    tom.send('say hello from telnet');
    await h.waitText(A, /Tom says 'hello from telnet'/, { from });
    await h.ask(A, 'say hello from the browser', /You say 'hello from the browser'/);
    await hears(tom, /Alice says 'hello from the browser'/);
    from = await h.mudMark(A);
    tom.send('global anyone for a pint?');
    await h.waitText(A, /\[global\] Tom: anyone for a pint\?/, { from });
    await A.waitForFunction(() => /\[global\] Tom: anyone for a pint\?/.test(document.querySelector('#channel-log').textContent),
        null, { timeout: 5000 });
    await h.shot(A, 'mud-02-talked');

    // 3. Kill the page's node: resumed elsewhere, same room, same name.
    from = await h.mudMark(A);
    console.log(`killing node ${node} (Alice in room ${room.num} "${room.name}"; Tom on node ${tomNode})`);
    const tk = Date.now();
    await cluster.kill(node);
    await h.waitText(A, /-- reconnected to node \d+ --/, { from, timeout: 30000 });
    await A.waitForFunction((dead) => window.__mud.connected() && window.__mud.node() !== dead, node, { timeout: 10000 });
    const now = await A.evaluate(() => window.__mud.node());
    console.log(`resumed on node ${now} after ${Date.now() - tk} ms`);
    const notice = (await h.mudText(A)).slice(from);
    assert.match(notice, new RegExp(`-- reconnected to node ${now} --`), 'the notice names the new node');
    await h.ask(A, 'look', new RegExp(`${room.name}[\\s\\S]*Tom is here\\.`));
    const after = (await h.mudText(A)).slice(from);
    assert.match(after, /Welcome back, Alice\./, 'positive control: the resume\'s own text is shown');
    assert.ok(!/By what name|Password:/.test(after), `no login after the failover:\n${after}`);
    assert.equal((await h.mudStatus(A)).name, 'Alice');
    assert.match(await A.textContent('#char-name'), /Alice/);
    assert.equal((await A.evaluate(() => window.__mud.gmcp['Room.Info'])).num, room.num, 'same room');
    assert.equal(await A.textContent('#room-name'), room.name);
    assert.equal(Number(await A.textContent('#node')), now, '#node shows the new node');
    assert.equal(await A.textContent('#state-text'), 'connected');

    // Still talking, both ways.
    from = await h.mudMark(A);
    tom.send('say welcome back');
    await h.waitText(A, /Tom says 'welcome back'/, { from });
    await h.ask(A, 'say thanks, Tom', /You say 'thanks, Tom'/);
    await hears(tom, /Alice says 'thanks, Tom'/);
    await h.shot(A, 'mud-03-resumed');
    // The README's picture: refreshed only when asked, so a test run leaves
    // the tree as it found it.
    if (process.env.WARREN_SCREENSHOTS)
        await A.screenshot({ path: path.join(h.REPO, 'docs', 'mud-screenshot.png'), timeout: 10000 });
}
