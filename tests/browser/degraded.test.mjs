// Browser test of the client's degraded and offline behaviour, through nginx
// on a 3-node `warren cluster up`:
//
//   1. "solo1" joins; the two nodes it is NOT connected to are killed, so its
//      node loses the majority: the status bar shows DEGRADED
//      (data-state="degraded");
//   2. after ~3 s of degraded the client fails over by itself: "reconnecting"
//      with an attempt counter and a countdown;
//   3. moves typed while reconnecting are queued: 22 key presses give 20
//      pending (the queue's bound) and 2 dropped, shown, not silently lost;
//   4. the two nodes are restarted: the client resumes as the same player and
//      the 20 queued moves are applied (position moved by exactly 20);
//   5. a page served directly by a node (not nginx) whose stored token is
//      unknown to the cluster (bad_token) shows the join form and can join.
//
// Screenshots: tests/artifacts/browser/degraded-*.png.

import assert from 'node:assert/strict';
import * as h from './lib.mjs';

h.browserTest('degraded', 'majority lost: degraded, failover, queued moves applied after recovery', 300000, run);

async function run({ cluster, browser, pages }) {
    const A = await h.openPage(browser, cluster.lb, 'solo', pages);
    const me0 = await h.join(A, 'solo1');
    const { width, node } = await h.snapshot(A);
    const others = [1, 2, 3].filter((i) => i !== node);
    await h.shot(A, 'degraded-01-joined');

    await A.evaluate(() => (window.seenStates = [window.warren.state]));
    for (const id of others) await cluster.kill(id);
    const t0 = Date.now();

    await A.waitForFunction(() => window.seenStates.includes('degraded'), null, { timeout: 15000 });
    console.log(`degraded after ${Date.now() - t0} ms`);
    assert.ok(await A.isVisible('#degraded-flag'), 'DEGRADED is shown');
    await h.shot(A, 'degraded-02-degraded');

    // The client gives up on the degraded node by itself after ~3 s.
    await A.waitForFunction(() => window.seenStates.indexOf('reconnecting') > window.seenStates.indexOf('degraded'),
        null, { timeout: 15000 });
    const tFail = Date.now() - t0;
    console.log(`failed over after ${tFail} ms`);
    assert.ok(tFail >= 2500, `stayed on the degraded node ~3 s before failing over (${tFail} ms)`);
    await A.waitForFunction(() => /^reconnecting: attempt \d+, next try in \d+\.\d s$/
        .test(document.querySelector('#attempt').textContent), null, { timeout: 15000 });
    await h.shot(A, 'degraded-03-reconnecting');

    // Moves typed now are queued (at most 20), the rest counted as dropped.
    const key = h.keyFor(me0, width);
    await A.waitForFunction(() => window.warren.state === 'reconnecting', null, { timeout: 10000 });
    for (let i = 0; i < 22; i++) {
        await A.keyboard.press(key);
        await h.delay(60);
    }
    let s = await h.snapshot(A);
    assert.equal(s.state, 'reconnecting', 'still reconnecting after the key presses');
    assert.equal(s.pending, 20, 'twenty moves pending');
    assert.equal(s.dropped, 2, 'two dropped');
    assert.equal(await A.textContent('#pending'), '20');
    assert.equal(await A.textContent('#dropped'), '2');
    assert.match(await A.textContent('#message'), /dropped/);
    await h.shot(A, 'degraded-04-queued');

    for (const id of others) await cluster.restart(id);
    const me = await h.settled(A, 40000);
    s = await h.snapshot(A);
    console.log(`recovered on node ${s.node} after ${Date.now() - t0} ms: ${JSON.stringify(s.me)}`);
    assert.equal(me.id, me0.id, 'same player after recovery');
    assert.equal(Math.abs(me.x - me0.x), 20, `the 20 queued moves were applied: ${me0.x} -> ${me.x}`);
    assert.equal(me.y, me0.y);
    assert.equal(s.dropped, 2, 'nothing more dropped');
    assert.ok(h.RED(await h.pixelAt(A, me.x, me.y)), 'drawn red at the new position');
    await h.shot(A, 'degraded-05-recovered');

    // A stale token (e.g. expired): resume answers bad_token, the join form
    // comes back, and joining works. This page is served by a node directly,
    // not through nginx.
    const direct = `http://${(await h.getJson(`${cluster.lb}api/cluster`)).nodes.find((n) => n.id === s.node).http}/`;
    const C = await h.openPage(browser, direct, 'stale', pages, (ctx) =>
        ctx.addInitScript(() => sessionStorage.setItem('warren.token', '00000000000000000000000000000000')));
    await C.waitForSelector('#join:not([hidden])', { timeout: 15000 });
    assert.equal((await h.snapshot(C)).me, null);
    const meC = await h.join(C, 'late3');
    assert.notEqual(meC.id, me0.id);
    await h.shot(C, 'degraded-06-bad-token-rejoined');
}
