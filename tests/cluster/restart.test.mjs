// Full-cluster restart: every node is killed with SIGKILL at once while its
// clients are still connected; after all three restart on their data dirs
// the arena is exactly the last acknowledged state.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster, stopAllClusters, randomDir, waitFor } from './lib/cluster.mjs';

after(stopAllClusters);

test(
    'kill -9 all three nodes and restart them: the state equals the last acknowledged state',
    { timeout: 120000 },
    withCluster({ n: 3, name: 'restart', electionTimeout: 300, heartbeat: 50 }, async (c) => {
        await c.leader();
        const clients = [];
        for (const n of c.nodes) {
            for (let k = 0; k < 2; k++) {
                const name = `rs_${n.id}_${k}`;
                const cl = await c.client(n.id, name);
                await cl.join(name);
                clients.push(cl);
            }
        }
        await Promise.all(
            clients.map(async (cl) => {
                for (let i = 0; i < 15; i++) {
                    const r = await cl.moveAndWait(randomDir(), { timeout: 5000 });
                    assert.ok(r.ok, `${cl.label}: move ${r.seq} not acknowledged: ${r.error}`);
                }
            }),
        );
        const before = await c.waitConverged();
        const recorded = await c.api(c.nodes[0].id, '/api/state');
        assert.equal(recorded.players.length, clients.length);
        // What the clients were acknowledged is what the state holds.
        for (const cl of clients) {
            const p = recorded.players.find((q) => q.id === cl.id);
            assert.ok(p, `${cl.name} in the recorded state`);
            assert.deepEqual([p.seq, p.x, p.y], [cl.acked, cl.x, cl.y], `${cl.name}: recorded state = what its client was acknowledged`);
        }

        // Kill every node at once; no socket was closed before.
        assert.ok(clients.every((cl) => cl.isOpen), 'all clients still connected before the kill');
        await Promise.all(c.nodes.map((n) => c.kill(n.id, 'SIGKILL')));
        for (const cl of clients) await cl.waitClosed({ timeout: 5000 });

        await Promise.all(c.nodes.map((n) => c.start(n.id)));
        await c.leader({ timeout: 15000 });
        const afterConv = await c.waitConverged({ timeout: 15000 });
        assert.ok(afterConv.applied_index >= before.applied_index, `applied_index after restart ${afterConv.applied_index} >= before ${before.applied_index}`);

        // Everything but the connection flag is exactly as recorded.
        const fields = (ps) => ps.map((p) => ({ id: p.id, name: p.name, x: p.x, y: p.y, seq: p.seq, node: p.node }));
        for (const n of c.nodes) {
            const s = await c.api(n.id, '/api/state');
            assert.equal(s.width, recorded.width);
            assert.equal(s.height, recorded.height);
            assert.deepEqual(fields(s.players), fields(recorded.players), `node ${n.id}: /api/state players after the full restart equal the recorded state`);
        }
        // Their sockets died with the nodes: within a few seconds every player
        // shows as disconnected (protocol.md: "or whose node dies"), not as a
        // ghost that stays connected forever.
        if (recorded.players.some((p) => 'connected' in p)) {
            await waitFor(
                async () => {
                    for (const n of c.nodes) {
                        const s = await c.api(n.id, '/api/state');
                        if (s.players.length !== recorded.players.length) throw new Error(`node ${n.id} has ${s.players.length} players`);
                        if (s.players.some((p) => p.connected !== false)) return false;
                    }
                    return true;
                },
                { timeout: 5000, what: 'every player to show connected: false after the full restart' },
            );
        }
    }),
);
