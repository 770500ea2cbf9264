// Browser test of the arena client (web/) against a real 3-node cluster
// behind nginx (`warren cluster up`). Two players, "red1" (page A) and
// "blue2" (page B), each in a browser context of its own:
//
//   1. both join through nginx; A moves; A sees its red square move (in
//      window.warren and in the canvas pixels) and B sees A's blue square;
//   2. five times in a row: SIGKILL the node A is connected to; A's status
//      goes to "reconnecting", then "connected" on another node as the same
//      player at the same position with nothing dropped; A moves again and B
//      sees it; the killed node is restarted so the cluster is back to 3;
//   3. A reloads the page: it resumes (token in sessionStorage) as the same
//      player at the same position;
//   4. B never lost A's player: no `left` for it, and never missing from B's
//      player map (sampled every 50 ms).
// Both pages get their player updates as binary frames (docs/protocol.md,
// "Binary updates"); step 1 checks that they decoded some.
//
// Screenshots of every step: tests/artifacts/browser/arena-*.png.

import assert from 'node:assert/strict';
import * as h from './lib.mjs';

const ROUNDS = 5;
h.browserTest('arena', `two players through nginx; A's node is killed ${ROUNDS} times in a row`, 600000, run);

async function run({ cluster, browser, pages }) {
    const A = await h.openPage(browser, cluster.lb, 'a', pages);
    const B = await h.openPage(browser, cluster.lb, 'b', pages);
    // The form refuses an invalid name without sending it.
    await A.waitForSelector('#join:not([hidden])', { timeout: 10000 });
    await A.fill('#name', 'bad name!');
    await A.click('#join-btn');
    assert.match(await A.textContent('#join-error'), /1-16/);
    assert.equal((await h.snapshot(A)).me, null);

    const meA0 = await h.join(A, 'red1');
    const meB = await h.join(B, 'blue2');
    const aId = meA0.id;
    assert.notEqual(aId, meB.id);
    const { width } = await h.snapshot(A);
    await h.shot(A, 'arena-01-joined-a');
    await h.shot(B, 'arena-01-joined-b');

    // B records, every 50 ms, whether A's player is in its map.
    await B.evaluate((id) => {
        window.missingA = [];
        window.disconnectedA = 0;
        setInterval(() => {
            const p = window.warren.players.get(id);
            if (!p) window.missingA.push(Date.now());
            else if (!p.connected) window.disconnectedA++;
        }, 50);
    }, aId);

    // Move A n cells, then check both views (state and pixels).
    async function moveAndCheck(step, n) {
        const snap = await h.snapshot(A);
        const from = snap.me;
        await h.press(A, h.keyFor(from, width, snap.players, n), n);
        const me = await h.settled(A);
        assert.equal(Math.abs(me.x - from.x), n, `A moved ${n} cells: ${JSON.stringify(from)} -> ${JSON.stringify(me)}`);
        assert.equal(me.y, from.y);
        assert.ok(h.RED(await h.pixelAt(A, me.x, me.y)), `A draws itself red at (${me.x},${me.y})`);
        assert.ok(!h.RED(await h.pixelAt(A, from.x, from.y)), `A no longer red at (${from.x},${from.y})`);
        await B.waitForFunction(([id, x, y]) => {
            const p = window.warren.players.get(id);
            return p && p.x === x && p.y === y && p.connected && window.warren.state === 'connected';
        }, [aId, me.x, me.y], { timeout: 20000 });
        assert.ok(h.BLUE(await h.pixelAt(B, me.x, me.y)), `B draws A blue at (${me.x},${me.y})`);
        await h.shot(A, `arena-${step}-a`);
        await h.shot(B, `arena-${step}-b`);
        return me;
    }

    let me = await moveAndCheck('02-moved', 3);
    // Both pages asked for binary updates ("enc":"bin") and drew from them.
    for (const [P, who] of [[A, 'A'], [B, 'B']]) {
        const n = await P.evaluate(() => window.warren.binaryFrames);
        assert.ok(n > 0, `${who} decoded ${n} binary update frames`);
    }

    // A held key (auto-repeat) moves at most once per 50 ms.
    {
        const key = h.keyFor(me, width);
        const t = Date.now();
        for (let i = 0; i < 10; i++) await A.keyboard.down(key);  // repeats: repeat=true
        const elapsed = Date.now() - t;
        await A.keyboard.up(key);
        const now = await h.settled(A);
        const moved = Math.abs(now.x - me.x);
        console.log(`held key: 10 keydowns in ${elapsed} ms moved ${moved} cell(s)`);
        assert.ok(moved >= 1 && moved <= 1 + Math.floor(elapsed / 50), `held key throttled (${moved} moves in ${elapsed} ms)`);
        me = now;
    }

    for (let round = 1; round <= ROUNDS; round++) {
        const r = `r${round}`;
        const node = Number(await A.textContent('#node'));
        assert.ok(node >= 1, `#node shows a node id (${node})`);
        await A.evaluate(() => (window.seenStates = [window.warren.state]));
        console.log(`round ${round}: killing node ${node} (A on it, player ${aId} at ${me.x},${me.y})`);
        const t0 = Date.now();
        await cluster.kill(node);

        // "reconnecting" must be observed (by the test's own observer).
        await A.waitForFunction(() => window.seenStates.includes('reconnecting'), null, { timeout: 10000 });
        await h.shot(A, `arena-${r}-1-reconnecting-a`);

        // Back, on another node, as the same player at the same place.
        await A.waitForFunction((dead) => window.warren.state === 'connected' && window.warren.node !== null
            && window.warren.node !== dead, node, { timeout: 30000 });
        const s = await h.snapshot(A);
        console.log(`round ${round}: A back on node ${s.node} after ${Date.now() - t0} ms`);
        assert.notEqual(Number(s.nodeText), node, '#node shows a different node');
        assert.equal(s.me.id, aId, 'same player id after resume');
        assert.deepEqual([s.me.x, s.me.y], [me.x, me.y], 'same position after resume');
        assert.equal(s.dropped, 0, 'no move dropped');
        await h.shot(A, `arena-${r}-2-recovered-a`);

        me = await moveAndCheck(`${r}-3-moved`, 2);

        // Bring the cluster back to 3 nodes before the next round.
        await cluster.restart(node);
        await h.shot(A, `arena-${r}-4-restarted-a`);
    }

    // A reload resumes with the token kept in sessionStorage.
    await A.reload({ timeout: 15000 });
    await A.waitForFunction(() => window.warren.state === 'connected' && window.warren.me, null, { timeout: 15000 });
    const s = await h.snapshot(A);
    assert.equal(s.me.id, aId, 'same player after a reload');
    assert.deepEqual([s.me.x, s.me.y], [me.x, me.y], 'same position after a reload');
    assert.ok(await A.isHidden('#join'), 'no join form after a reload');
    await h.shot(A, 'arena-03-reloaded-a');
    me = await moveAndCheck('04-moved-after-reload', 1);

    const b = await h.snapshot(B);
    const missing = await B.evaluate(() => window.missingA.length);
    console.log(`B saw A as disconnected (faded) in ${await B.evaluate(() => window.disconnectedA)} samples of 50 ms`);
    assert.ok(!b.leftIds.includes(aId), `B never got left for A (left: ${JSON.stringify(b.leftIds)})`);
    assert.equal(missing, 0, "A's player was never missing from B's view");
    assert.ok(b.players[aId], "A's player is in B's view at the end");
}
