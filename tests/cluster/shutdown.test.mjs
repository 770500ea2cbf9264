// Clean shutdown: SIGTERM while client commands are still in flight must
// end the node with exit code 0 (docs: "it exits 0 on SIGTERM after a clean
// shutdown"), with no crash and no sanitizer report, and the node must come
// back on its data dir with every acknowledged move.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster, stopAllClusters, randomDir } from './lib/cluster.mjs';

after(stopAllClusters);

const ROUNDS = 5;
const CLIENTS = 8;

test(
    'SIGTERM right after clients disconnect (commands in flight) exits 0, five times over',
    { timeout: 120000 },
    withCluster({ n: 1, single: true, name: 'shutdown', electionTimeout: 300, heartbeat: 50, cleanShutdown: true }, async (c) => {
        const acked = new Map(); // name -> {seq, x, y}
        for (let round = 1; round <= ROUNDS; round++) {
            await c.leader({ timeout: 10000 });
            const clients = [];
            for (let k = 0; k < CLIENTS; k++) {
                const name = `sd${round}_${k}`;
                const cl = await c.client(1, name);
                await cl.join(name);
                clients.push(cl);
            }
            await Promise.all(
                clients.map(async (cl) => {
                    for (let i = 0; i < 5; i++) {
                        const r = await cl.moveAndWait(randomDir(), { timeout: 5000 });
                        assert.ok(r.ok, `${cl.label}: move ${r.seq} acknowledged: ${r.error}`);
                    }
                    acked.set(cl.name, { seq: cl.acked, x: cl.x, y: cl.y });
                }),
            );
            // Moves that will not be acknowledged before the shutdown, then
            // disconnects (each one a command for the log), then SIGTERM.
            for (const cl of clients) cl.move(randomDir());
            for (const cl of clients) cl.terminate();
            const r = await c.kill(1, 'SIGTERM');
            assert.deepEqual(r, { code: 0, signal: null }, `round ${round}: exit status after SIGTERM with commands in flight`);
            assert.deepEqual(c.problems(), [], `round ${round}: no crash or sanitizer report`);

            await c.start(1);
            await c.leader({ timeout: 10000 });
            const s = await c.api(1, '/api/state');
            for (const [name, a] of acked) {
                const p = s.players.find((q) => q.name === name);
                if (!p) continue; // removed after its grace period: allowed
                assert.ok(p.seq >= a.seq, `round ${round}: ${name} seq ${p.seq} >= acknowledged ${a.seq}`);
                if (p.seq === a.seq) assert.deepEqual([p.x, p.y], [a.x, a.y], `round ${round}: ${name} position`);
            }
            for (const cl of clients) {
                assert.ok(
                    s.players.some((q) => q.name === cl.name),
                    `round ${round}: ${cl.name} (acked seq ${acked.get(cl.name).seq}) is still in the arena after the restart (grace period is 30 s)`,
                );
            }
        }
    }),
);
