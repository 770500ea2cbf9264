// The /admin dashboard's feed, /admin/ws, on 3 nodes run with --admin-reads
// token: a dashboard that sends no token gets {"t":"auth_required"} and no
// snapshot, and is closed (1008) after 10 s; a wrong token is refused with
// an error, a close 1008 and a log line; the right token (the control, on
// the same node) gets snapshots in which every member is up and polled:
// the node asks its peers' /api/cluster with the token the dashboard gave,
// as their reads are closed too. The buttons' POSTs sent through the feed
// reach the endpoint with the page's token: 401 for a wrong one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { withCluster, stopAllClusters, waitFor, adminToken } from './lib/cluster.mjs';

after(stopAllClusters);

/** Open /admin/ws on node `id`; messages collect in .got, the close in .closed. */
function dashboard(c, id) {
    const ws = new WebSocket(`ws://${c.node(id).http}/admin/ws`);
    const d = { ws, got: [], closed: null, opened: Date.now() };
    ws.on('message', (m) => d.got.push(JSON.parse(String(m))));
    ws.on('close', (code, reason) => (d.closed = { code, reason: String(reason), t: Date.now() }));
    ws.on('error', () => {});
    d.open = new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
    });
    return d;
}

test(
    '/admin/ws with --admin-reads token: nothing without the token, 1008 for a wrong one, every member polled with the right one',
    { timeout: 60000 },
    withCluster({ n: 3, name: 'admin-ws', electionTimeout: 300, heartbeat: 50, extraArgs: ['--admin-reads', 'token'] }, async (c) => {
        // (c.leader() reads /api/cluster, closed here: the snapshot says it.)
        const token = adminToken();

        const silent = dashboard(c, 1);
        const wrong = dashboard(c, 1);
        const right = dashboard(c, 1);
        await Promise.all([silent.open, wrong.open, right.open]);
        wrong.ws.send(JSON.stringify({ t: 'auth', token: 'not-the-token-at-all' }));
        right.ws.send(JSON.stringify({ t: 'auth', token }));

        // The control: the right token gets snapshots with every member up.
        const snap = await waitFor(() => right.got.findLast((m) => m.t === 'snapshot'
            && m.cluster.leader != null && m.members.length === 3 && m.members.every((x) => x.up === true && x.view)),
        { timeout: 20000, what: 'a snapshot with a leader and 3 members up' });
        assert.ok(right.got.some((m) => m.t === 'auth' && m.ok === true), 'told the token is right');
        assert.equal(snap.node, 1);
        for (const m of snap.members) {
            assert.match(m.view.state_hash, /^[0-9a-f]{16}$/, `member ${m.id} polled: ${JSON.stringify(m)}`);
            assert.equal(typeof m.view.stats.connections, 'number');
        }
        assert.ok(snap.leader && snap.leader.id === snap.cluster.leader, 'the leader and since when');

        // A wrong token: an error, a close 1008, a log line.
        await waitFor(() => wrong.closed, { timeout: 5000, what: 'the wrong token closed' });
        assert.equal(wrong.closed.code, 1008);
        assert.ok(wrong.got.some((m) => m.t === 'error' && /wrong admin token/.test(m.error)), JSON.stringify(wrong.got));
        assert.ok(!wrong.got.some((m) => m.t === 'snapshot'), 'no snapshot for a wrong token');
        await waitFor(() => /admin: \/admin\/ws refused from 127\.0\.0\.1:\d+: wrong token/.test(c.logText(1)),
            { timeout: 3000, what: 'the refusal log line' });

        // The buttons' POSTs through the feed: another path is refused
        // unsent; a wrong token gets the endpoint's 401; the right one gets
        // past the token check (405 where the endpoint does not exist yet).
        const result = async (id, msg) => {
            right.ws.send(JSON.stringify({ t: 'post', id, ...msg }));
            return waitFor(() => right.got.find((m) => m.t === 'result' && m.id === id), { timeout: 12000, what: `result ${id}` });
        };
        const other = await result(1, { path: '/api/mud/world', body: {}, token });
        assert.equal(other.status, 0);
        assert.match(other.error, /transfer and \/api\/cluster\/drain only/);
        const bad = await result(2, { path: '/api/cluster/transfer', body: { id: null }, token: 'not-the-token-at-all' });
        assert.equal(bad.status, 401, JSON.stringify(bad));
        assert.match(bad.body.error, /wrong admin token/);
        const good = await result(3, { path: '/api/cluster/transfer', body: { id: null }, token });
        console.log(`transfer through /admin/ws with the token: ${JSON.stringify(good)}`);
        assert.ok(good.status !== 401 && good.status !== 0, JSON.stringify(good));

        // No token at all: told so, nothing else, closed after 10 s.
        assert.deepEqual(silent.got.map((m) => m.t), ['auth_required']);
        await waitFor(() => silent.closed, { timeout: 14000, what: 'the silent dashboard closed' });
        assert.equal(silent.closed.code, 1008);
        assert.ok(silent.closed.t - silent.opened >= 9500, `closed after ~10 s (${silent.closed.t - silent.opened} ms)`);
        assert.deepEqual(silent.got.map((m) => m.t), ['auth_required'], 'still no snapshot');
        assert.ok(right.closed === null, 'the authorized dashboard stays');
        right.ws.close();
    }),
);
