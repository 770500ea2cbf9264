// Convergence: clients on every node of a 3-node cluster move; every node
// ends with the same state at the same applied index, and that state is what
// the clients were shown. Also the health endpoints, /api/cluster's shape
// and `warren ctl status|whereis|state` against a live cluster.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster, stopAllClusters, randomDir, runWarren, waitFor, hashIndex } from './lib/cluster.mjs';

after(stopAllClusters);

const CLIENTS_PER_NODE = 2;
const MOVES = 20;

function checkWelcome(w, { name, node, leader }) {
    assert.equal(w.t, 'welcome');
    assert.match(String(w.token), /^[0-9a-f]{32}$/, 'welcome.token is 32 hex digits');
    assert.equal(w.leader, leader, 'welcome.leader');
    assert.equal(w.name, name, 'welcome.name');
    assert.equal(w.node, node, 'welcome.node is the node we are connected to');
    assert.ok(Number.isInteger(w.id) && w.id > 0, `welcome.id: ${w.id}`);
    assert.equal(w.seq, 0, 'welcome.seq of a new player');
    assert.ok(Number.isInteger(w.width) && w.width > 0, `welcome.width ${w.width}`);
    assert.ok(Number.isInteger(w.height) && w.height > 0, `welcome.height ${w.height}`);
    assert.ok(Number.isInteger(w.x) && w.x >= 0 && w.x < w.width, `welcome.x ${w.x}`);
    assert.ok(Number.isInteger(w.y) && w.y >= 0 && w.y < w.height, `welcome.y ${w.y}`);
    assert.equal(w.players, undefined, 'the player list comes in the update after the welcome');
}

/** The update that follows a welcome lists every player, the new one too. */
async function checkFullList(cl, w) {
    await waitFor(() => cl.players.get(w.id) && cl.players.get(w.id).connected === true, {
        timeout: 3000,
        what: `${w.name}: the update after the welcome, listing the new player`,
    });
    const me = cl.players.get(w.id);
    assert.deepEqual([me.x, me.y, me.name], [w.x, w.y, w.name]);
}

function checkClusterView(v, c, id) {
    assert.equal(v.id, id, '/api/cluster id');
    assert.ok(['leader', 'follower', 'candidate', 'unavailable'].includes(v.role), `role ${v.role}`);
    assert.ok(v.leader === null || Number.isInteger(v.leader), `leader ${v.leader}`);
    for (const k of ['term', 'commit_index', 'applied_index']) {
        assert.ok(Number.isInteger(v[k]) && v[k] >= 0, `${k}: ${JSON.stringify(v[k])}`);
    }
    assert.ok(v.applied_index <= v.commit_index, `applied_index ${v.applied_index} <= commit_index ${v.commit_index}`);
    assert.match(String(v.state_hash), /^[0-9a-f]{16}$/, 'state_hash is 16 hex digits');
    assert.equal(typeof v.ready, 'boolean', 'ready is a boolean');
    assert.ok(Array.isArray(v.nodes), 'nodes is an array');
    assert.equal(v.nodes.length, c.nodes.length, 'nodes lists every voter');
    for (const n of c.nodes) {
        const e = v.nodes.find((x) => x.id === n.id);
        assert.ok(e, `node ${n.id} listed by node ${id}`);
        assert.equal(e.address, n.clusterAddr, `node ${n.id} address`);
        assert.equal(e.role, 'voter', `node ${n.id} role`);
        assert.ok(e.http === null || typeof e.http === 'string', `node ${n.id} http ${e.http}`);
    }
}

test(
    'three nodes: clients on every node converge to one state at one applied index',
    { timeout: 150000 },
    withCluster({ n: 3, name: 'convergence', electionTimeout: 300, heartbeat: 50 }, async (c) => {
        const leader = await c.leader();

        // Health and readiness on every node.
        for (const n of c.nodes) {
            const h = await c.http(n.id, '/healthz');
            assert.equal(h.status, 200, `node ${n.id} /healthz`);
            assert.match(h.text, /ok/, `node ${n.id} /healthz body`);
            await waitFor(async () => (await c.http(n.id, '/readyz')).status === 200, { timeout: 5000, what: `node ${n.id} /readyz 200` });
            assert.match((await c.http(n.id, '/readyz')).text, /ready/);
        }

        // /api/cluster shape, and every node's HTTP address registered.
        for (const n of c.nodes) {
            const v = await c.api(n.id, '/api/cluster');
            checkClusterView(v, c, n.id);
            assert.equal(v.ready, true, `node ${n.id} ready`);
            assert.equal(v.leader, leader, `node ${n.id} names leader ${leader}`);
            assert.equal(v.role, n.id === leader ? 'leader' : 'follower', `node ${n.id} role`);
        }
        await waitFor(
            async () => {
                for (const n of c.nodes) {
                    const v = await c.api(n.id, '/api/cluster');
                    for (const m of c.nodes) {
                        const e = v.nodes.find((x) => x.id === m.id);
                        if (e.http !== m.http) return false;
                    }
                }
                return true;
            },
            { timeout: 5000, what: 'nodes[].http to show every node\'s --http address on every node' },
        );

        // Clients join on every node.
        const clients = [];
        for (const n of c.nodes) {
            for (let k = 0; k < CLIENTS_PER_NODE; k++) {
                const name = `conv_${n.id}_${k}`;
                const cl = await c.client(n.id, name);
                const w = await cl.join(name);
                checkWelcome(w, { name, node: n.id, leader });
                await checkFullList(cl, w);
                assert.ok(cl.statuses.length >= 1, `${name}: a status frame on connect`);
                assert.deepEqual(
                    { degraded: cl.statuses[0].degraded, leader: cl.statuses[0].leader, node: cl.statuses[0].node },
                    { degraded: false, leader, node: n.id },
                    `${name}: first status frame`,
                );
                clients.push(cl);
            }
        }
        assert.equal(new Set(clients.map((cl) => cl.id)).size, clients.length, 'player ids are unique');
        assert.equal(new Set(clients.map((cl) => cl.token)).size, clients.length, 'tokens are unique');

        // Every client makes MOVES random moves, each waiting for its ack.
        await Promise.all(
            clients.map(async (cl) => {
                for (let i = 0; i < MOVES; i++) {
                    const r = await cl.moveAndWait(randomDir(), { timeout: 5000 });
                    assert.ok(r.ok, `${cl.label}: move seq ${r.seq} not acknowledged: ${r.error}`);
                }
                assert.equal(cl.acked, MOVES, `${cl.label} acked`);
                assert.deepEqual(cl.errors, [], `${cl.label} got no error frames`);
            }),
        );

        const conv = await c.waitConverged({ timeout: 10000 });

        // /api/state on every node: every player, with the acked seq and the
        // position its own client was shown.
        const states = {};
        for (const n of c.nodes) {
            const s = await c.api(n.id, '/api/state');
            states[n.id] = s;
            assert.ok(Array.isArray(s.players), `node ${n.id} /api/state players`);
            if (hashIndex(s) === conv.applied_index) assert.equal(s.state_hash, conv.state_hash, `node ${n.id} /api/state hash at index ${conv.applied_index}`);
            assert.equal(s.width, clients[0].welcome.width);
            assert.equal(s.height, clients[0].welcome.height);
            const ids = s.players.map((p) => p.id);
            assert.deepEqual(ids, [...ids].sort((a, b) => a - b), `node ${n.id}: players sorted by id`);
            assert.equal(s.players.length, clients.length, `node ${n.id}: player count`);
            for (const cl of clients) {
                const p = s.players.find((q) => q.id === cl.id);
                assert.ok(p, `node ${n.id}: player ${cl.name} (id ${cl.id}) missing`);
                assert.deepEqual(
                    { name: p.name, x: p.x, y: p.y, seq: p.seq, node: p.node, connected: p.connected ?? true },
                    { name: cl.name, x: cl.x, y: cl.y, seq: cl.acked, node: cl.nodeId, connected: true },
                    `node ${n.id}: player ${cl.name} as its client saw it`,
                );
            }
        }
        for (const n of c.nodes) assert.deepEqual(states[n.id].players, states[c.nodes[0].id].players, `node ${n.id} players = node ${c.nodes[0].id} players`);

        // Every client was shown every other player where the state has it.
        const ref = states[leader].players;
        await waitFor(
            () =>
                clients.every((cl) =>
                    ref.every((p) => {
                        const q = cl.players.get(p.id);
                        return q && q.x === p.x && q.y === p.y && q.seq === p.seq;
                    }),
                ),
            { timeout: 3000, what: 'every client to have been shown every player\'s final position and seq' },
        );

        // No token (or its hash) leaks through the API.
        for (const n of c.nodes) {
            const raw = (await c.http(n.id, '/api/state')).text + (await c.http(n.id, '/api/registry')).text;
            for (const cl of clients) assert.ok(!raw.includes(cl.token), `node ${n.id}: ${cl.name}'s token is not in /api/state or /api/registry`);
        }

        // Registry: the arena singleton on the leader, every player registered.
        const reg = await c.api(leader, '/api/registry');
        assert.ok(Array.isArray(reg.names), '/api/registry names');
        const arena = reg.names.find((e) => e.name === 'arena');
        assert.ok(arena, 'registry has "arena"');
        assert.equal(arena.kind, 'singleton');
        assert.equal(arena.node, leader, 'arena singleton runs on the leader');
        for (const cl of clients) {
            const e = reg.names.find((x) => x.name === `player/${cl.name}`);
            assert.ok(e, `registry has player/${cl.name}`);
            assert.equal(e.node, cl.nodeId, `player/${cl.name} node`);
        }

        // warren ctl against a follower.
        const follower = c.nodes.find((n) => n.id !== leader);
        const st = await runWarren(['ctl', '--node', follower.http, 'status']);
        assert.equal(st.code, 0, `ctl status exit code; stderr: ${st.stderr}`);
        for (const n of c.nodes) {
            assert.match(st.stdout, new RegExp(`(^|[^0-9])${n.id}([^0-9]|$)`, 'm'), `ctl status mentions node ${n.id}:\n${st.stdout}`);
        }
        const leaderLine = st.stdout.split('\n').find((l) => /leader/.test(l) && new RegExp(`(^|\\s)${leader}(\\s|$)`).test(l));
        assert.ok(leaderLine, `ctl status shows node ${leader} as leader:\n${st.stdout}`);
        assert.ok(st.stdout.includes(conv.state_hash), `ctl status shows the state hash ${conv.state_hash}:\n${st.stdout}`);
        assert.doesNotMatch(st.stdout, /diverg/i, 'ctl status verdict');

        const wh = await runWarren(['ctl', '--node', follower.http, 'whereis', 'arena']);
        assert.equal(wh.code, 0, `ctl whereis arena exit code; stderr: ${wh.stderr}`);
        const m = /node\s+(\d+)/.exec(wh.stdout);
        assert.ok(m, `ctl whereis arena names a node:\n${wh.stdout}`);
        assert.equal(Number(m[1]), leader, `ctl whereis arena names the leader:\n${wh.stdout}`);

        const cs = await runWarren(['ctl', '--node', follower.http, 'state']);
        assert.equal(cs.code, 0, `ctl state exit code; stderr: ${cs.stderr}`);
        for (const p of ref) {
            const row = new RegExp(`(^|\\s)${p.id}\\s+${p.name}\\s+${p.x}\\s+${p.y}\\s+${p.seq}\\s+${p.node}(\\s|$)`, 'm');
            assert.match(cs.stdout, row, `ctl state lists ${p.name} as ID NAME X Y SEQ NODE = ${p.id} ${p.name} ${p.x} ${p.y} ${p.seq} ${p.node}:\n${cs.stdout}`);
        }

        const bad = await runWarren(['ctl', '--node', follower.http, 'whereis', 'no-such-name-xyz']);
        assert.notEqual(bad.code, 0, 'ctl whereis of an unknown name fails');

        for (const cl of clients) await cl.close();
    }),
);
