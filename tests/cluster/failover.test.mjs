// Failover: clients keep moving while the leader is killed with SIGKILL,
// five times in a row. Every acknowledged move survives, a new leader takes
// over, clients on the survivors get acks again, and the killed node comes
// back on its data dir and catches up to the same state.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster, stopAllClusters, Mover, waitFor } from './lib/cluster.mjs';

after(stopAllClusters);

const ROUNDS = Number(process.env.FAILOVER_ROUNDS || 5);
const CLIENTS_PER_NODE = 2;
// Measuring other timeouts: FAILOVER_ET=100 node --test tests/cluster/failover.test.mjs
const ET = Number(process.env.FAILOVER_ET || 300);
const HB = Number(process.env.FAILOVER_HB || Math.max(10, Math.min(50, Math.floor(ET / 5))));

test(
    'kill -9 the leader five times: acked moves survive, a new leader serves, the node catches up',
    { timeout: 280000 },
    withCluster({ n: 3, name: 'failover', electionTimeout: ET, heartbeat: HB }, async (c) => {
        await c.leader();
        const all = []; // {cl, mover, nodeId}
        let serial = 0;
        const addClient = async (nodeId, round) => {
            const name = `fo${round}_${nodeId}_${serial++}`;
            const cl = await c.client(nodeId, name);
            await cl.join(name);
            const mover = new Mover(cl, { minInterval: 40, ackTimeout: 1500 }).start();
            const e = { cl, mover, nodeId, name };
            all.push(e);
            return e;
        };
        const open = () => all.filter((e) => !e.cl.closeInfo);

        try {
            for (const n of c.nodes) for (let k = 0; k < CLIENTS_PER_NODE; k++) await addClient(n.id, 0);
            await waitFor(() => all.every((e) => e.cl.acked >= 3), { timeout: 10000, what: 'every client to get 3 acks' });

            const failoverMs = [];
            for (let round = 1; round <= ROUNDS; round++) {
                const before = await c.leaderInfo();
                const L = before.id;
                const victims = open().filter((e) => e.nodeId === L);
                const survivors = open().filter((e) => e.nodeId !== L);
                const atKill = open();

                const killAt = Date.now();
                await c.kill(L, 'SIGKILL');
                for (const v of victims) await v.cl.waitClosed({ timeout: 5000 });

                const after = await c.leaderInfo({ timeout: 10000 });
                assert.notEqual(after.id, L);
                assert.ok(after.term > before.term, `round ${round}: new term ${after.term} > old term ${before.term}`);

                // Clients on the survivors keep moving until each has an ack
                // for a move it sent after the kill.
                await waitFor(() => survivors.every((e) => e.mover.acksSentAfter(killAt).length > 0), {
                    timeout: 15000,
                    what: `round ${round}: an ack for a move sent after the kill on every surviving client`,
                });
                const firstAck = Math.min(...survivors.map((e) => Math.min(...e.mover.acksSentAfter(killAt).map((r) => r.ackedAt))));
                const ms = firstAck - killAt;
                failoverMs.push(ms);
                console.log(`failover_ms round=${round} ms=${ms} killed=${L} new_leader=${after.id} term=${after.term}`);

                // Clients of the dead node come back on the survivors: the
                // first resumes its player with its token (protocol.md), the
                // others join again under new names.
                const live = c.liveIds();
                let i = 0;
                for (const [k, v] of victims.entries()) {
                    const target = live[i++ % live.length];
                    if (k > 0) {
                        await addClient(target, round);
                        continue;
                    }
                    const cl = await c.client(target, `${v.name}~r${round}`);
                    const w = await cl.resume(v.cl.token);
                    assert.equal(w.id, v.cl.id, `round ${round}: resume gives back player ${v.name}`);
                    assert.equal(w.name, v.name);
                    assert.equal(w.node, target);
                    assert.ok(w.seq >= v.cl.acked, `round ${round}: resumed ${v.name} at seq ${w.seq} >= its acked seq ${v.cl.acked}`);
                    if (w.seq === v.cl.acked) assert.deepEqual([w.x, w.y], [v.cl.x, v.cl.y], `round ${round}: resumed ${v.name} where its client last saw it`);
                    const mover = new Mover(cl, { minInterval: 40, ackTimeout: 1500 }).start();
                    all.push({ cl, mover, nodeId: target, name: v.name });
                }

                // Hold the movers still and check every player on the survivors.
                await Promise.all(open().map((e) => e.mover.pause()));
                await c.waitConverged({ among: live, timeout: 10000 });
                for (const id of live) {
                    const s = await c.api(id, '/api/state');
                    for (const e of all) {
                        const p = s.players.find((q) => q.id === e.cl.id);
                        const mustBeThere = atKill.includes(e) || !e.cl.closeInfo;
                        if (!p) {
                            assert.ok(!mustBeThere, `round ${round}, node ${id}: player ${e.name} (id ${e.cl.id}, was on node ${e.nodeId}, acked seq ${e.cl.acked}) is missing from /api/state`);
                            continue;
                        }
                        assert.ok(
                            p.seq >= e.cl.acked,
                            `round ${round}, node ${id}: player ${e.name} has seq ${p.seq} < acknowledged seq ${e.cl.acked} (an acknowledged move was lost)`,
                        );
                        if (p.seq === e.cl.acked) {
                            assert.deepEqual([p.x, p.y], [e.cl.x, e.cl.y], `round ${round}, node ${id}: ${e.name} position at its acked seq`);
                        }
                    }
                }

                // The killed node comes back on its data dir and catches up.
                await c.start(L);
                const conv = await c.waitConverged({ timeout: 20000 });
                const states = await Promise.all(c.nodes.map((n) => c.api(n.id, '/api/state')));
                for (const s of states) assert.deepEqual(s.players, states[0].players, `round ${round}: /api/state players equal on all nodes`);
                console.log(`# round ${round}: node ${L} caught up at applied_index ${conv.applied_index} hash ${conv.state_hash}`);

                // A client on the restarted node, then everyone moves again.
                await addClient(L, round);
                const mark = new Map(open().map((e) => [e, e.cl.acked]));
                for (const e of open()) e.mover.resume();
                await waitFor(() => open().every((e) => e.cl.acked >= mark.get(e) + 10), {
                    timeout: 10000,
                    what: `round ${round}: 10 new acks on every open client after the restart`,
                });
            }
            console.log(`failover_ms summary: ${failoverMs.join(' ')} (median ${[...failoverMs].sort((a, b) => a - b)[Math.floor(failoverMs.length / 2)]})`);
        } finally {
            await Promise.all(all.map((e) => e.mover.stop()));
        }
    }),
);
