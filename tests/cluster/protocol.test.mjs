// The arena protocol (docs/protocol.md) against a single-node cluster
// (`warren node` without --peers): join, move and ack, edges and other
// players block, bad_seq, bad_name, ping/pong, leave, disconnect and resume.
// The node runs with a short --grace so disconnected players go quickly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, stopAllClusters, waitFor, delay } from './lib/cluster.mjs';

let c;
let failed = false;
const ID = 1;
const GRACE = 1500;

before(async () => {
    c = await startCluster({ n: 1, single: true, name: 'protocol', electionTimeout: 300, heartbeat: 50, extraArgs: ['--grace', String(GRACE)] });
    await c.leader({ timeout: 10000 });
    await waitFor(async () => (await c.http(ID, '/readyz')).status === 200, { timeout: 5000, what: 'single node ready' });
});

after(async () => {
    if (!c) return;
    const p = c.problems();
    const codes = await c.stop();
    p.push(...c.problems().filter((x) => !p.includes(x)));
    for (const [id, r] of Object.entries(codes)) if (r.code !== 0) p.push(`node ${id} exited ${JSON.stringify(r)} on SIGTERM, expected code 0`);
    if (failed || p.length) c.dumpLogs();
    await stopAllClusters();
    assert.deepEqual(p, [], 'no unexpected exits or sanitizer reports; clean exit on SIGTERM');
});

/** A test on the shared node; dumps logs on failure, closes its clients. */
function ptest(name, fn) {
    test(name, { timeout: 60000 }, async () => {
        const clients = [];
        const mk = async (label) => {
            const cl = await c.client(ID, label);
            clients.push(cl);
            return cl;
        };
        try {
            await fn(mk);
        } catch (e) {
            failed = true;
            throw e;
        } finally {
            for (const cl of clients) {
                if (cl.isOpen && cl.welcome) {
                    try {
                        cl.send({ t: 'leave' });
                        await cl.waitClosed({ timeout: 3000 });
                    } catch {
                        /* closed below */
                    }
                }
                await cl.close();
            }
            // Wait until every player of this test has left, so the next test starts on an empty arena.
            await waitFor(async () => (await c.api(ID, '/api/state')).players.length === 0, {
                timeout: GRACE + 5000,
                what: 'the arena to be empty after this test\'s clients left',
            }).catch((e) => {
                failed = true;
                throw e;
            });
        }
    });
}

const STEP = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0] };

/** Move and check the ack, with pacing under the 60/s rate limit. */
async function step(cl, dir, { blocked = false } = {}) {
    const [x0, y0] = [cl.x, cl.y];
    const r = await cl.moveAndWait(dir, { timeout: 5000 });
    assert.ok(r.ok, `${cl.label}: move ${dir} seq ${r.seq} acknowledged: ${r.error}`);
    const [dx, dy] = blocked ? [0, 0] : STEP[dir];
    assert.deepEqual([cl.x, cl.y], [x0 + dx, y0 + dy], `${cl.label}: position after ${dir}${blocked ? ' (blocked)' : ''} from (${x0},${y0})`);
    await delay(20); // pacing only
    return r;
}

ptest('single node: /api/cluster shows a one-voter cluster led by itself', async () => {
    const v = await c.api(ID, '/api/cluster');
    assert.equal(v.id, ID);
    assert.equal(v.role, 'leader');
    assert.equal(v.leader, ID);
    assert.equal(v.ready, true);
    assert.equal(v.nodes.length, 1);
    assert.equal(v.nodes[0].address, c.node(ID).clusterAddr);
    assert.match(v.state_hash, /^[0-9a-f]{16}$/);
    const h = await c.http(ID, '/healthz');
    assert.equal(h.status, 200);
});

ptest('join, welcome, move and ack; another client sees the moves', async (mk) => {
    const a = await mk('a');
    await waitFor(() => a.status, { timeout: 3000, what: 'a status frame on connect' });
    assert.deepEqual(a.statuses[0] && { t: a.statuses[0].t, degraded: a.statuses[0].degraded, leader: a.statuses[0].leader, node: a.statuses[0].node }, {
        t: 'status',
        degraded: false,
        leader: ID,
        node: ID,
    });
    const w = await a.join('alice');
    assert.equal(w.t, 'welcome');
    assert.equal(w.leader, ID);
    assert.match(String(w.token), /^[0-9a-f]{32}$/);
    assert.equal(w.name, 'alice');
    assert.equal(w.node, ID);
    assert.equal(w.seq, 0);
    assert.ok(Number.isInteger(w.id) && w.id > 0);
    assert.ok(w.x >= 0 && w.x < w.width && w.y >= 0 && w.y < w.height, `spawn (${w.x},${w.y}) in ${w.width}x${w.height}`);
    assert.equal(w.players, undefined, 'the player list comes in the update after the welcome');
    await waitFor(() => a.players.has(w.id), { timeout: 3000, what: 'the update after alice\'s welcome' });
    assert.deepEqual([...a.players.keys()], [w.id], 'alice alone in the arena');

    const b = await mk('b');
    const wb = await b.join('bob');
    assert.notEqual(wb.id, w.id);
    await waitFor(() => b.players.has(w.id) && b.players.has(wb.id), {
        timeout: 3000,
        what: 'the update after bob\'s welcome, listing alice and bob',
    });
    const alice = b.players.get(w.id);
    assert.ok(alice, 'the list after bob\'s welcome has alice');
    assert.deepEqual([alice.name, alice.x, alice.y], ['alice', w.x, w.y]);
    // Alice is told bob joined.
    await waitFor(() => a.players.has(wb.id), { timeout: 3000, what: 'alice to see bob join' });

    // Moves that cannot hit an edge: away from the nearer edge on x.
    const dir = w.x < w.width / 2 ? 'right' : 'left';
    const seqs = [];
    for (let i = 0; i < 3; i++) {
        // Bob might be in the way; then the move is blocked.
        const [nx, ny] = [a.x + STEP[dir][0], a.y + STEP[dir][1]];
        const blocked = b.x === nx && b.y === ny;
        seqs.push((await step(a, dir, { blocked })).seq);
    }
    assert.deepEqual(seqs, [1, 2, 3], 'seq increments from 1');
    assert.equal(a.acked, 3);
    await waitFor(() => {
        const p = b.players.get(a.id);
        return p && p.x === a.x && p.y === a.y && p.seq === 3;
    }, { timeout: 3000, what: 'bob to see alice\'s last move' });
    const s = await c.api(ID, '/api/state');
    const pa = s.players.find((p) => p.id === a.id);
    assert.deepEqual({ x: pa.x, y: pa.y, seq: pa.seq, name: pa.name, node: pa.node }, { x: a.x, y: a.y, seq: 3, name: 'alice', node: ID });
});

ptest('a move into an edge is acknowledged and leaves the position', async (mk) => {
    const a = await mk('edge');
    const w = await a.join('edgy');
    assert.equal((await c.api(ID, '/api/state')).players.length, 1, 'alone in the arena');
    for (let i = 0; i < w.width && a.x > 0; i++) await step(a, 'left');
    assert.equal(a.x, 0, 'reached the left edge');
    const r = await step(a, 'left', { blocked: true });
    for (let i = 0; i < w.height && a.y > 0; i++) await step(a, 'up');
    assert.equal(a.y, 0, 'reached the top edge');
    await step(a, 'up', { blocked: true });
    const s = await c.api(ID, '/api/state');
    const p = s.players.find((q) => q.id === a.id);
    assert.deepEqual([p.x, p.y, p.seq], [0, 0, a.seq], 'state: in the corner with the last seq');
    assert.ok(r.seq < a.seq);
});

ptest('a move into another player is acknowledged and leaves the position', async (mk) => {
    const a = await mk('corner');
    const wa = await a.join('cornered');
    // Alice goes to (0,0) while alone.
    for (let i = 0; i < wa.width && a.x > 0; i++) await step(a, 'left');
    for (let i = 0; i < wa.height && a.y > 0; i++) await step(a, 'up');
    assert.deepEqual([a.x, a.y], [0, 0]);
    const b = await mk('pusher');
    await b.join('pusher');
    // Bob goes to (1,0) by column >= 1, then pushes left into alice.
    if (b.x === 0) await step(b, 'right');
    for (let i = 0; i < wa.height && b.y > 0; i++) await step(b, 'up');
    for (let i = 0; i < wa.width && b.x > 1; i++) await step(b, 'left');
    assert.deepEqual([b.x, b.y], [1, 0], 'bob next to alice');
    await step(b, 'left', { blocked: true });
    await step(a, 'right', { blocked: true });
    await step(a, 'down');
});

ptest('bad_seq: a seq not greater than the last one is refused and dropped', async (mk) => {
    const a = await mk('seq');
    const w = await a.join('seqer');
    const dir = w.y < w.height / 2 ? 'down' : 'up';
    a.send({ t: 'move', dir, seq: 5 });
    await a.waitAcked(5, { timeout: 5000 });
    const pos = [a.x, a.y];
    a.send({ t: 'move', dir, seq: 5 });
    assert.equal((await a.waitError()).code, 'bad_seq');
    a.send({ t: 'move', dir, seq: 4 });
    assert.equal((await a.waitError()).code, 'bad_seq');
    a.send({ t: 'move', dir, seq: 2 ** 32 });
    const big = await a.waitError();
    assert.equal(big.code, 'bad_field', 'seq 2^32 is out of range');
    a.send({ t: 'move', dir, seq: 6 });
    await a.waitAcked(6, { timeout: 5000 });
    assert.equal(a.acked, 6);
    const s = await c.api(ID, '/api/state');
    const p = s.players.find((q) => q.id === a.id);
    assert.equal(p.seq, 6);
    assert.deepEqual([p.x, p.y], [pos[0], pos[1] + STEP[dir][1]], 'only seq 6 moved after seq 5');
    assert.equal(a.errors.length, 3);
});

ptest('bad_name: invalid names are refused and the connection stays usable', async (mk) => {
    const a = await mk('names');
    await assert.rejects(a.join(''), (e) => ['bad_name', 'bad_field'].includes(e.code), 'empty name refused');
    for (const name of ['x'.repeat(17), 'has space', 'semi;colon', 'ünïcode', 'tab\tname']) {
        await assert.rejects(a.join(name), (e) => e.code === 'bad_name', `name ${JSON.stringify(name)} refused with bad_name`);
    }
    a.send({ t: 'join' });
    const e = await a.waitError();
    assert.ok(['bad_field', 'bad_name'].includes(e.code), `join without a name: ${e.code}`);
    assert.equal((await c.api(ID, '/api/state')).players.length, 0, 'no player was created');
    const max = 'A-z_09'.padEnd(16, '-');
    const w = await a.join(max);
    assert.equal(w.name, max, '16 characters of A-Z a-z 0-9 _ - are fine');
    a.send({ t: 'join', name: 'again' });
    assert.equal((await a.waitError()).code, 'already_joined');
    // A second connection cannot take a name in use.
    const b = await mk('dup');
    await assert.rejects(b.join(max), (err) => err.code === 'name_taken', 'a name in use is refused with name_taken');
    assert.ok(b.isOpen, 'still open after name_taken');
    const wb = await b.join('dup_ok');
    assert.equal(wb.name, 'dup_ok');
});

ptest('ping gets a pong with the same id, before and after joining', async (mk) => {
    const a = await mk('pinger');
    const p1 = await a.ping(12345);
    assert.deepEqual(p1, { t: 'pong', id: 12345 });
    await a.join('pinger');
    const p2 = await a.ping(0);
    assert.equal(p2.id, 0);
});

ptest('leave removes the player at once and closes the socket', async (mk) => {
    const watcher = await mk('watcher');
    await watcher.join('watcher');
    const a = await mk('leaver');
    const wa = await a.join('leaver');
    await waitFor(() => watcher.players.has(wa.id), { timeout: 3000, what: 'watcher sees the leaver join' });
    a.send({ t: 'leave' });
    await a.waitClosed({ timeout: 5000 });
    await waitFor(() => !watcher.players.has(wa.id), { timeout: 3000, what: 'watcher told that the leaver left' });
    assert.ok(watcher.messages.some((m) => m.t === 'left' && m.id === wa.id), 'watcher got {"t":"left","id":<leaver>}');
    const s = await c.api(ID, '/api/state');
    assert.deepEqual(
        s.players.map((p) => p.name),
        ['watcher'],
    );
    // The name is free again.
    const again = await mk('again');
    await again.join('leaver');
});

ptest('a closed connection leaves the player disconnected for the grace period, then it is removed', async (mk) => {
    const watcher = await mk('watcher');
    await watcher.join('watcher2');
    const b = await mk('closer');
    const wb = await b.join('closer');
    await waitFor(() => watcher.players.has(wb.id), { timeout: 3000, what: 'watcher sees the closer join' });
    const closedAt = Date.now();
    await b.close();
    await waitFor(() => watcher.players.get(wb.id)?.connected === false, { timeout: 3000, what: 'watcher told the closer is disconnected' });
    const s1 = await c.api(ID, '/api/state');
    const p1 = s1.players.find((p) => p.id === wb.id);
    assert.ok(p1, 'still in the arena right after the close');
    assert.equal(p1.connected, false);
    await waitFor(() => !watcher.players.has(wb.id), { timeout: GRACE + 5000, what: 'left for the closer after the grace period' });
    const gone = Date.now() - closedAt;
    assert.ok(gone >= GRACE - 100, `removed after ${gone} ms, not before the grace (${GRACE} ms)`);
    assert.ok(!(await c.api(ID, '/api/state')).players.some((p) => p.id === wb.id), 'removed from /api/state');
});

ptest('resume: a reconnect with the token takes the player back; a bad or expired token gets bad_token', async (mk) => {
    const a = await mk('first');
    const w = await a.join('resumer');
    const dir = w.x < w.width / 2 ? 'right' : 'left';
    for (let i = 0; i < 3; i++) await step(a, dir);
    const [x, y, token] = [a.x, a.y, a.token];
    await a.close();
    await waitFor(async () => (await c.api(ID, '/api/state')).players.find((p) => p.id === w.id)?.connected === false, {
        timeout: 3000,
        what: 'the player to show as disconnected',
    });

    const bad = await mk('badtoken');
    await assert.rejects(bad.resume('0'.repeat(32)), (e) => e.code === 'bad_token', 'unknown token refused with bad_token');

    const b = await mk('second');
    const wb = await b.resume(token);
    assert.deepEqual([wb.id, wb.name, wb.x, wb.y, wb.seq], [w.id, 'resumer', x, y, 3], 'same id, name, position and seq');
    assert.equal(b.seq, 3);
    await step(b, dir);
    assert.equal(b.acked, 4, 'moves go on above the resumed seq');
    b.send({ t: 'move', dir, seq: 2 });
    assert.equal((await b.waitError()).code, 'bad_seq', 'a seq at or below the resumed seq is refused');
    await waitFor(async () => (await c.api(ID, '/api/state')).players.find((p) => p.id === w.id)?.connected === true, {
        timeout: 3000,
        what: 'the resumed player to show as connected',
    });

    // Expired: close, wait past the grace period, then try.
    const t2 = b.token;
    await b.close();
    await waitFor(async () => !(await c.api(ID, '/api/state')).players.some((p) => p.id === w.id), {
        timeout: GRACE + 5000,
        what: 'the player to be removed after the grace period',
    });
    const late = await mk('late');
    await assert.rejects(late.resume(t2), (e) => e.code === 'bad_token', 'expired token refused with bad_token');
});
