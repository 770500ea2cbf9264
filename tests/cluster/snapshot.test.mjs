// Snapshots cover the whole state: with a tiny snapshot threshold, a node
// that was down while the log moved past what the others keep is brought
// back by an InstallSnapshot (libraft), restores the world from it, and ends
// with the same state hash as the others. A full restart then rebuilds every
// node from its own snapshot plus the log after it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster, stopAllClusters, waitFor } from './lib/cluster.mjs';

after(stopAllClusters);

test(
    'a node that missed more than the kept log catches up from a snapshot',
    { timeout: 120000 },
    withCluster(
        {
            n: 3,
            name: 'snapshot',
            electionTimeout: 300,
            heartbeat: 50,
            extraArgs: ['--snapshot-threshold', '32', '--snapshot-trailing', '16'],
        },
        async (c) => {
            const lead = await c.leader();
            const lagger = c.liveIds().find((id) => id !== lead);
            const other = c.liveIds().find((id) => id !== lead && id !== lagger);

            const a = await c.client(lead, 'snapA');
            const b = await c.client(other, 'snapB');
            await a.join('snapA');
            await b.join('snapB');
            await c.kill(lagger, 'SIGKILL');

            // Far more entries than the 16 kept behind a snapshot: one move
            // at a time, so each is its own entry.
            for (let i = 0; i < 60; i++) {
                const cl = i % 2 ? a : b;
                const r = await cl.moveAndWait(i % 4 < 2 ? 'left' : 'right', { timeout: 5000 });
                assert.ok(r.ok, `move ${i} acknowledged: ${r.error}`);
            }
            const before = await c.api(lead, '/api/cluster');

            await c.start(lagger);
            const conv = await c.waitConverged({ timeout: 20000 });
            assert.ok(conv.applied_index >= before.applied_index, 'the lagging node caught up');
            const log = c.logText(lagger);
            assert.match(log, /restored a snapshot/, 'it caught up through a snapshot, not the log');

            const states = await Promise.all(c.nodes.map((n) => c.api(n.id, '/api/state')));
            for (const s of states) assert.deepEqual(s.players, states[0].players);
            const seqs = Object.fromEntries(states[0].players.map((p) => [p.name, p.seq]));
            assert.equal(seqs.snapA, a.acked, 'snapA at its acknowledged seq');
            assert.equal(seqs.snapB, b.acked, 'snapB at its acknowledged seq');

            // Everyone down, everyone back: each node restores its own
            // snapshot and replays the log after it.
            await a.close();
            await b.close();
            const settled = await c.waitConverged({ timeout: 10000 });
            const want = await c.api(lead, '/api/state');
            for (const n of c.nodes) await c.kill(n.id, 'SIGKILL');
            for (const n of c.nodes) await c.start(n.id);
            await c.leader({ timeout: 15000 });
            await c.waitConverged({ timeout: 20000 });
            const got = await c.api(lead, '/api/state');
            assert.deepEqual(
                got.players.map(({ id, name, x, y, seq }) => ({ id, name, x, y, seq })),
                want.players.map(({ id, name, x, y, seq }) => ({ id, name, x, y, seq })),
                `the state after a full restart equals the state at index ${settled.applied_index}`,
            );
        },
    ),
);
