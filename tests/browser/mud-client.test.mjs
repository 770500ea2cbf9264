// Browser test of the MUD terminal (web/play.html, play.js) against fake
// nodes (fake-mud.mjs) that speak the MUD over WebSocket as docs/protocol.md
// describes; the real server's test is mud.test.mjs. It checks the client:
//
//   1. the login dialogue: the password line is hidden (type=password), never
//      echoed and never in the history;
//   2. commands echo locally, the server's ANSI text is shown, the side panel
//      follows GMCP (room, exits, who is here, vitals bars, channels), errors
//      show their message, Up/Down walk the history;
//   3. the page's node dies: the client fails over to the other node from
//      /api/cluster, resumes (no login), says "reconnected to node 2";
//   4. a stale token: bad_token, back to the login dialogue;
//   5. quit (close 1000): no reconnect until Enter;
//   6. xterm.js loads as an ES module where .mjs is served as JavaScript,
//      else as the classic script.

import assert from 'node:assert/strict';
import { test, after } from 'node:test';
import * as h from './lib.mjs';
import { fakeCluster } from './fake-mud.mjs';

const pages = [];
let browser = null;
const clusters = [];
after(async () => {
    if (browser) await browser.close().catch(() => {});
    for (const c of clusters) await c.close();
});

async function withDiagnostics(body) {
    try {
        await body();
    } catch (e) {
        await h.diagnostics(pages);
        throw e;
    }
}

test('MUD terminal: login, commands, side panel, failover with resume, bad token, quit', { timeout: 120000 }, () =>
    withDiagnostics(async () => {
        const fake = await fakeCluster(2);
        clusters.push(fake);
        browser = await h.launch();
        const A = await h.openPlay(browser, fake.url(1), 'mud-a', pages);
        assert.equal((await h.mudStatus(A)).xterm, 'script', 'xterm.js as classic script where .mjs is not JavaScript');
        await A.waitForSelector('.xterm', { timeout: 5000 });

        await h.waitText(A, 'By what name are you known?');
        await h.ask(A, 'alice', 'Choose a password');
        assert.equal(await A.getAttribute('#line', 'type'), 'password', 'password input hidden');
        await h.ask(A, 'sesame42', 'Again:');
        await h.ask(A, 'sesame42', /Welcome, Alice\.[\s\S]*The Square/);
        assert.equal(await A.getAttribute('#line', 'type'), 'text', 'input visible again');
        assert.ok(!(await h.mudText(A)).includes('sesame42'), 'the password is never shown');
        assert.deepEqual(await A.evaluate(() => window.__mud.history()), ['alice'], 'the password is not in the history');
        assert.match(await h.mudText(A), /By what name are you known\? alice\nCreating Alice\. Choose a password: \nAgain: \nWelcome/,
            'the name is echoed locally after the prompt, the password lines are not');
        await h.shot(A, 'mud-client-01-logged-in');

        // Side panel from GMCP.
        assert.equal(await A.textContent('#room-name'), 'The Square');
        assert.equal(await A.textContent('#room-area'), 'Town');
        assert.deepEqual(await A.$$eval('#room-exits button', (b) => b.map((x) => x.textContent)), ['north']);
        assert.deepEqual(await A.$$eval('#room-players li', (l) => l.map((x) => `${x.className}:${x.textContent}`)),
            ['player:Alice', 'npc:a guard']);
        assert.equal(await A.$$eval('#vitals .bar', (b) => b.length), 3, 'three vitals bars');
        assert.equal(await A.getAttribute('#vitals [data-key="hp"] .bar', 'aria-valuenow'), '17');
        assert.match(await A.textContent('#char-name'), /Alice/);
        assert.equal((await A.evaluate(() => window.__mud.gmcp['Room.Info'])).name, 'The Square');

        // Commands, echo, errors, channels, history.
        let from = await h.command(A, 'north');
        await h.waitText(A, /^north\n[\s\S]*North Street/m, { from });
        assert.equal(await A.textContent('#room-name'), 'North Street');
        await h.ask(A, 'say hello', "You say, 'hello'");
        await h.ask(A, 'chat hi all', '[chat] You: hi all');
        assert.match(await A.textContent('#channel-log'), /\[chat\] Alice: hi all/);
        await h.ask(A, 'fail', 'That went wrong.');
        await A.press('#line', 'ArrowUp');
        assert.equal(await A.inputValue('#line'), 'fail');
        await A.press('#line', 'ArrowUp');
        assert.equal(await A.inputValue('#line'), 'chat hi all');
        await A.press('#line', 'ArrowDown');
        await A.press('#line', 'ArrowDown');
        assert.equal(await A.inputValue('#line'), '');
        assert.equal(await A.$eval('#status', (e) => e.dataset.state), 'connected');
        assert.equal(await A.textContent('#node'), '1');
        await h.waitFor(() => A.evaluate(() => window.__mud.status().rtt !== null), { what: 'an RTT' });
        await h.shot(A, 'mud-client-02-playing');

        // The page's node dies: failover to node 2 and resume, no login.
        await A.waitForFunction(() => window.__mud.status().servers.length === 2, null, { timeout: 10000 });
        await A.evaluate(() => (window.seenStates = [document.querySelector('#status').dataset.state]));
        from = await h.mudMark(A);
        fake.kill(1);
        await h.waitText(A, '-- reconnected to node 2 --', { from, timeout: 20000 });
        assert.ok(await A.evaluate(() => window.seenStates.includes('reconnecting')), 'reconnecting was shown');
        assert.equal(await A.evaluate(() => window.__mud.node()), 2);
        assert.ok(await A.evaluate(() => window.__mud.connected()));
        assert.equal(await A.textContent('#node'), '2');
        const look = await h.ask(A, 'look', /North Street[\s\S]*Alice is here/);
        assert.ok(!/By what name/.test((await h.mudText(A)).slice(from)), `no login after the failover:\n${look}`);
        await h.shot(A, 'mud-client-03-resumed');

        // Quit: the server closes with 1000; no reconnect until Enter.
        await h.ask(A, 'quit', /Goodbye\.[\s\S]*disconnected; press Enter/);
        assert.equal(await A.$eval('#status', (e) => e.dataset.state), 'disconnected');
        await h.delay(500);
        assert.equal((await h.mudStatus(A)).state, 'disconnected', 'stays disconnected');
        from = await h.command(A, '');
        await h.waitText(A, 'By what name are you known?', { from });

        // A stale token: bad_token, then the login dialogue.
        const C = await h.openPlay(browser, fake.url(2), 'mud-stale', pages, (ctx) =>
            ctx.addInitScript(() => sessionStorage.setItem('warren.mud.token', 'ffffffffffffffffffffffffffffffff')));
        await h.waitText(C, /session is gone[\s\S]*By what name are you known\?/);
        assert.equal((await h.mudStatus(C)).inGame, false);
        assert.equal(await C.evaluate(() => sessionStorage.getItem('warren.mud.token')), null);
        await h.ask(C, 'Alice', 'Password:');
        await h.ask(C, 'sesame42', /The Square|North Street/);
        await h.shot(C, 'mud-client-04-relogin');
    }));

test('MUD terminal: xterm.js as an ES module where .mjs is JavaScript', { timeout: 60000 }, () =>
    withDiagnostics(async () => {
        const fake = await fakeCluster(1, { mjsAsJs: true });
        clusters.push(fake);
        browser ||= await h.launch();
        const P = await h.openPlay(browser, fake.url(1), 'mud-esm', pages);
        assert.equal((await h.mudStatus(P)).xterm, 'module');
        await h.waitText(P, 'By what name are you known?');
        assert.match(await P.innerText('.xterm-rows'), /By what name are you known\?/, 'xterm.js rendered the text');
        // A back link to the arena.
        assert.equal(await P.getAttribute('nav a', 'href'), '/');
    }));
