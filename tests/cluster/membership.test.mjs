// Live membership (docs/operations.md, "Membership"): a 3-node cluster grows
// to 5 with `warren node --join` while arena players move, and the MUD's
// zones spread onto the new nodes; then two nodes are removed with `warren
// ctl remove-node`, one of them the leader: they stop serving and say so,
// their players resume on the others, no acknowledged move is lost, the
// three members converge on one state hash and own every zone.
//
// Refusals, each with its positive control on the same node: a fresh node
// with a stale --peers list refuses to found a second cluster (then --join
// admits it); a node whose data belongs to another cluster refuses to join
// (then, with its data wiped, it joins).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { withCluster, waitFor, Mover, runWarren, hashIndex } from './lib/cluster.mjs';
import { rowWorld } from './lib/roll.mjs';

// 10 zones of 10 rooms, so that placement has something to spread over
// five nodes (the sample world has three zones).
const WORLD = rowWorld(10);

/** The leader as the live `ids` see it: one that says it leads, named by all. */
async function leaderOf(c, ids) {
    return waitFor(
        async () => {
            const views = await Promise.all(ids.map((id) => c.api(id, '/api/cluster').catch(() => null)));
            const l = views.find((v) => v && v.role === 'leader');
            return l && views.every((v) => v && v.leader === l.id) ? l.id : false;
        },
        { timeout: 10000, what: `a leader agreed on by nodes ${ids.join(',')}` },
    );
}

/** Wait until node `via` lists exactly `ids` as voters. */
async function waitVoters(c, via, ids, timeout = 15000) {
    const want = [...ids].sort((a, b) => a - b).join(',');
    return waitFor(
        async () => {
            const v = await c.api(via, '/api/cluster');
            const voters = v.nodes.filter((x) => x.role === 'voter').map((x) => x.id).sort((a, b) => a - b).join(',');
            return voters === want && v.nodes.length === ids.length ? v : false;
        },
        { timeout, what: `node ${via} to list voters ${want} and nothing else` },
    );
}

async function zoneOwners(c, via) {
    const m = await c.api(via, '/api/mud');
    return m.zones.map((z) => z.owner);
}

function ctl(c, via, ...args) {
    return runWarren(['ctl', '--node', c.node(via).http, ...args]);
}

test(
    'membership: grow 3 -> 5 with --join while clients play, remove two (one the leader); refusals',
    { timeout: 150000 },
    withCluster({ name: 'membership', extraArgs: ['--mud-world', WORLD] }, async (c) => {
        // MUD world loaded, zones on the three founders
        await waitFor(async () => (await zoneOwners(c, 1)).every((o) => o > 0) && (await zoneOwners(c, 1)).length === 10, {
            timeout: 15000,
            what: 'the 10-zone world loaded and every zone owned',
        });
        const clusterId = (await c.api(1, '/api/cluster')).cluster_id;
        assert.match(clusterId || '', /^[0-9a-f]{32}$/, 'the cluster has an id');

        // Players: one per founder, moving all along.
        const players = []; // {name, cl, mover, best}
        const play = async (id, name) => {
            const cl = await c.client(id, name);
            await cl.join(name);
            const mover = new Mover(cl, { minInterval: 60, ackTimeout: 2000, maxMs: 140000 }).start();
            const p = { name, cl, mover, id: cl.id, token: cl.token, node: id, acked: () => Math.max(p.best, p.cl.acked), best: 0 };
            players.push(p);
            return p;
        };
        for (const id of [1, 2, 3]) await play(id, `p${id}`);
        await waitFor(() => players.every((p) => p.cl.acked >= 3), { timeout: 10000, what: 'every founder player acked 3 moves' });

        // --- a stale peer list refuses, then --join admits the same node
        const n4 = await c.addNode(4);
        n4.args = ['--peers', c.peersArg()]; // the founders and node 4: a stale list
        await c.start(4, { waitHealthy: false, expectExit: true });
        const refused = await c.waitExit(4);
        assert.equal(refused.code, 1, 'a fresh node whose peers already run a cluster without it exits 1');
        const log4 = c.logText(4);
        assert.match(log4, /already runs at .* and does not list node 4 .*stale.*--join/, 'it says why, and what to do');
        assert.ok(!fs.existsSync(path.join(n4.dataDir, 'metadata1')) && !fs.existsSync(path.join(n4.dataDir, 'metadata2')), 'the refused node wrote no Raft log');
        n4.args = ['--join', c.node(1).clusterAddr];
        await c.start(4);
        await waitVoters(c, 1, [1, 2, 3, 4]);
        assert.match(c.logText(4), /added this node; starting with an empty log/);

        // --- another cluster's data refuses, then an empty data dir joins
        const n5 = await c.addNode(5, { args: [] }); // alone: a one-node cluster of its own
        await c.start(5);
        const other = await waitFor(async () => (await c.api(5, '/api/cluster')).cluster_id || false, { timeout: 10000, what: 'node 5 to found its own cluster' });
        assert.notEqual(other, clusterId, 'a second cluster has another id');
        await c.kill(5, 'SIGTERM');
        const follower = (await leaderOf(c, [1, 2, 3, 4])) === 2 ? 3 : 2;
        n5.args = ['--join', c.node(follower).clusterAddr];
        await c.start(5, { waitHealthy: false, expectExit: true });
        assert.equal((await c.waitExit(5)).code, 1, "a node with another cluster's data refuses to join");
        assert.match(c.logText(5), new RegExp(`belongs to cluster ${other}, but the node at --join .* is in cluster ${clusterId}`));
        fs.rmSync(n5.dataDir, { recursive: true, force: true });
        await c.start(5); // joins through a follower: redirected to the leader
        await waitVoters(c, 1, [1, 2, 3, 4, 5]);
        for (const id of [4, 5]) {
            const v = await c.api(id, '/api/cluster');
            assert.equal(v.cluster_id, clusterId, `node ${id} records the cluster's id`);
        }

        // The new nodes serve clients: a player on node 5.
        const p5 = await play(5, 'p5');
        await waitFor(() => p5.cl.acked >= 3, { timeout: 10000, what: 'the player on node 5 acked 3 moves' });

        // Zones spread onto the joined nodes.
        await waitFor(
            async () => {
                const owners = await zoneOwners(c, 5);
                return owners.includes(4) && owners.includes(5) ? owners : false;
            },
            { timeout: 30000, interval: 200, what: 'zones placed on nodes 4 and 5' },
        );

        // --- remove two nodes: the leader (asked through another node, so
        // ctl follows the 307) and node 4
        const L = await leaderOf(c, [1, 2, 3, 4, 5]);
        const victims = [L, L === 4 ? 1 : 4];
        const remaining = [1, 2, 3, 4, 5].filter((id) => !victims.includes(id));
        for (const id of victims) c.expectExit(id);
        for (const id of victims) {
            const via = remaining[0];
            const r = await ctl(c, via, 'remove-node', String(id));
            assert.equal(r.code, 0, `ctl remove-node ${id}: ${r.stderr}`);
            assert.match(r.stdout, new RegExp(`node ${id} removed`));
            const e = await c.waitExit(id, { timeout: 15000 });
            assert.equal(e.code, 0, `removed node ${id} exits 0`);
            assert.match(c.logText(id), new RegExp(`node ${id}: removed from cluster ${clusterId}`), `node ${id} says it was removed`);
        }
        await waitVoters(c, remaining[0], remaining);
        const L2 = await leaderOf(c, remaining);
        assert.ok(remaining.includes(L2), 'a remaining node leads');

        // Refusals of the API, each next to its working form above.
        let r = await ctl(c, remaining[0], 'remove-node', '99');
        assert.equal(r.code, 1);
        assert.match(r.stderr, /node 99 is not a member/);
        r = await ctl(c, remaining[0], 'add-node', '7', c.node(remaining[1]).clusterAddr);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /address .* is already node/);

        // Players of the removed nodes were closed; they resume elsewhere.
        for (const p of players.filter((q) => victims.includes(q.node))) {
            const ci = await p.cl.waitClosed({ timeout: 10000 });
            assert.equal(ci.code, 1001, `${p.name}: the removed node closes with 1001 (going away)`);
            await p.mover.stop();
            p.best = Math.max(p.best, p.cl.acked);
            const to = remaining[players.indexOf(p) % remaining.length];
            const cl = await c.client(to, `${p.name}~resumed`);
            const w = await cl.resume(p.token);
            assert.equal(w.id, p.id, `${p.name} resumes its player on node ${to}`);
            assert.ok(w.seq >= p.best, `${p.name}: resumed at seq ${w.seq} >= acked ${p.best}`);
            p.cl = cl;
            p.node = to;
            p.mover = new Mover(cl, { minInterval: 60, ackTimeout: 2000, maxMs: 60000 }).start();
        }
        await waitFor(() => players.every((p) => p.cl.acked >= p.best + 2), { timeout: 15000, what: 'every player acked 2 more moves after the removals' });

        // Zones only on members.
        await waitFor(
            async () => {
                const owners = await zoneOwners(c, remaining[0]);
                return owners.every((o) => remaining.includes(o)) ? owners : false;
            },
            { timeout: 15000, interval: 200, what: `every zone owned by one of ${remaining.join(',')}` },
        );

        // Stop, converge, and check every acknowledged move.
        await Promise.all(players.map((p) => p.mover.stop()));
        const conv = await c.waitConverged({ among: remaining, timeout: 15000 });
        for (const id of remaining) {
            const s = await c.api(id, '/api/state');
            for (const p of players) {
                const q = s.players.find((x) => x.id === p.id);
                assert.ok(q, `node ${id}: player ${p.name} is in /api/state`);
                assert.ok(q.seq >= p.acked(), `node ${id}: ${p.name} at seq ${q.seq} >= its highest acked ${p.acked()}`);
            }
            if (hashIndex(s) === conv.applied_index) assert.equal(s.state_hash, conv.state_hash);
        }
        console.log(`# membership: leader ${L} and node ${victims[1]} removed; members ${remaining.join(',')} converged at ${conv.applied_index} (${conv.state_hash})`);
    }),
);
