// Drain (docs/operations.md, "Drain and rolling restart"): 3 nodes, a MUD
// world of 6 zones, arena players and MUD characters (over /mud/ws)
// playing on every node. A drain request without the admin token is
// refused (401) and logged; with it (`warren ctl drain`), the leader is
// emptied: it hands the leadership over, its zones and the arena singleton
// move to the others (zone state kept: only the owner changes), its
// clients are closed with 1012 and resume on other nodes as the same
// player / character, and it reports drained. While it drains, a new
// WebSocket is refused with 503 naming another node (the others take it:
// the clients' resumes) and a telnet connection is told which address to
// use. `warren ctl undrain` gives it zones again and it takes clients.
// Nothing acknowledged is lost: every arena player's final seq is at least
// its highest ack, every character stands in the room it was last told.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

import { withCluster, waitFor, runWarren, adminToken } from './lib/cluster.mjs';
import { TelnetClient } from './lib/telnet.mjs';
import { FAST_PWHASH } from './lib/mud.mjs';
import { rowWorld, ResumingArena, ResumingMud } from './lib/roll.mjs';

const WORLD = rowWorld(6);

function post(c, id, path, body, token) {
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    return fetch(`http://${c.node(id).http}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(3000) });
}

/** Open a WebSocket to @port@path; resolves {status, body} of a refused
 * upgrade, or {status: 101} (closed at once) when it opens. */
function upgrade(port, p) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${p}`, { handshakeTimeout: 3000 });
        ws.on('unexpected-response', (req, res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(body) }));
        });
        ws.on('open', () => {
            ws.terminate();
            resolve({ status: 101 });
        });
        ws.on('error', (e) => reject(e));
    });
}

async function owners(c, via) {
    return (await c.api(via, '/api/mud')).zones.map((z) => z.owner);
}

test(
    'drain: the token guards it; the drained leader holds no leadership, zones, singletons or clients; its clients resume elsewhere; undrain gives zones back',
    { timeout: 120000 },
    withCluster({ name: 'drain', telnet: true, extraArgs: ['--mud-world', WORLD, ...FAST_PWHASH] }, async (c) => {
        await waitFor(async () => (await owners(c, 1)).length === 6 && (await owners(c, 1)).every((o) => o > 0), {
            timeout: 20000,
            what: 'the world loaded and every zone owned',
        });
        const L = await c.leader();
        const others = [1, 2, 3].filter((id) => id !== L);
        // Every client's node list starts at the leader (the node drained),
        // so that most of them are on it when the drain comes.
        const order = [L, ...others].map((id) => ({ id, port: c.node(id).httpPort }));
        const arena = [0, 1, 2, 3].map((k) => new ResumingArena(`d${k}`, order, k === 3 ? 1 : 0, { maxMs: 100000 }).start());
        const mud = [0, 1].map((k) => new ResumingMud(`Drainer${'ab'[k]}`, `pw-drain-${k}`, order, 0, { maxMs: 100000 }).start());
        const all = [...arena, ...mud];
        try {
            await drainAndCheck(c, L, others, arena, mud, all);
        } finally {
            await Promise.all(all.map((p) => p.stop()));
        }
    }),
);

async function drainAndCheck(c, L, others, arena, mud, all) {
    {
        await waitFor(() => all.every((p) => p.acks >= 3), { timeout: 20000, what: 'every client acknowledged 3 commands' });
        const onL = all.filter((p) => p.node === L);
        assert.ok(onL.length >= 3, `clients play on the leader (node ${L}): ${onL.length}`);
        assert.ok((await owners(c, L)).includes(L), `node ${L} owns zones before the drain`);

        // --- without the token: refused and logged; nothing changes
        const r401 = await post(c, L, '/api/cluster/drain', { id: L });
        assert.equal(r401.status, 401, 'a drain without the admin token is refused');
        await waitFor(() => /admin: POST \/api\/cluster\/drain refused from 127\.0\.0\.1:\d+: no token/.test(c.logText(L)), {
            timeout: 3000,
            what: 'the refusal in the log',
        });
        const rWrong = await post(c, L, '/api/cluster/drain', { id: L }, 'x'.repeat(32));
        assert.equal(rWrong.status, 401, 'a wrong token is refused too');
        assert.equal((await c.api(L, '/api/cluster')).draining, false, 'the refused requests marked nothing');

        // --- with it (ctl, through a follower: it follows the 307)
        const t0 = Date.now();
        const r = await runWarren(['ctl', '--node', c.node(others[0]).http, 'drain', String(L), '--wait', '30'], { timeout: 40000 });
        assert.equal(r.code, 0, `ctl drain succeeds:\n${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, new RegExp(`node ${L} drained in [\\d.]+ s`));
        const drainMs = Date.now() - t0;

        const v = await c.api(L, '/api/cluster');
        assert.equal(v.draining, true);
        assert.equal(v.drained, true);
        assert.notEqual(v.role, 'leader', 'the drained node does not lead');
        assert.deepEqual(v.holds, { leader: false, zones: 0, singletons: 0, clients: 0 });
        const newLeader = await c.leader();
        assert.ok(others.includes(newLeader), `another node leads: ${newLeader}`);
        assert.ok(!(await owners(c, newLeader)).includes(L), 'no zone on the drained node');
        const reg = await c.api(newLeader, '/api/registry');
        assert.equal(reg.names.find((e) => e.name === 'arena').node, newLeader, 'the arena singleton moved with the leadership');
        assert.equal((await c.api(newLeader, '/api/cluster')).nodes.find((n) => n.id === L).draining, true, 'every node sees the mark');

        // its clients were told to move (1012) and resumed elsewhere as themselves
        await waitFor(() => onL.every((p) => p.node !== null && p.node !== L && p.welcomes.length >= 2), {
            timeout: 15000,
            what: 'every client of the drained node resumed on another node',
        });
        for (const p of onL) {
            assert.ok(p.closes.some((x) => x.node === L && x.code === 1012), `${p.label} was closed with 1012: closes ${JSON.stringify(p.closes)} refused ${JSON.stringify(p.refused)} welcomes ${JSON.stringify(p.welcomes)}`);
        }
        for (const p of arena) assert.equal(p.ids.size, 1, `${p.label} kept its player id: ${[...p.ids]}`);
        for (const p of mud) assert.deepEqual([...p.names], [p.name], `${p.label} kept its character`);

        // new connections: the upgrade is refused naming another node; a
        // telnet player is told where to go
        for (const p of ['/ws', '/mud/ws']) {
            const { status, body } = await upgrade(c.node(L).httpPort, p);
            assert.equal(status, 503, `a WebSocket upgrade of ${p} on the draining node is refused`);
            assert.match(body.error, new RegExp(`node ${L} is draining`));
            assert.ok(others.some((id) => body.elsewhere === c.node(id).http), `it names another node: ${body.elsewhere}`);
            assert.equal((await upgrade(c.node(others[0]).httpPort, p)).status, 101, `positive control: ${p} opens on node ${others[0]}`);
        }
        const tn = await TelnetClient.connect(c.telnetPort(L), '127.0.0.1', { stripAnsi: true, label: 'telnet@drained' });
        await tn.waitFor(/Please connect again to the game's address, or to 127\.0\.0\.1:(\d+) \(telnet 127\.0\.0\.1 \d+\), and log in/, 5000);
        const named = Number(/or to 127\.0\.0\.1:(\d+)/.exec(tn.text())[1]);
        assert.ok(others.some((id) => c.telnetPort(id) === named), `the telnet line names another node's telnet port (${named})`);
        await waitFor(() => tn.closed, { timeout: 5000, what: 'the telnet connection closed' });
        // positive control: another node takes a telnet player
        const tn2 = await TelnetClient.connect(c.telnetPort(others[0]), '127.0.0.1', { stripAnsi: true, label: 'telnet@other' });
        await tn2.waitFor(/By what name are you known\? $/, 5000);
        tn2.close();

        // --- undrain: zones come back, clients are taken
        const u = await runWarren(['ctl', '--node', c.node(L).http, 'undrain', String(L)], { timeout: 20000 });
        assert.equal(u.code, 0, `ctl undrain succeeds:\n${u.stdout}\n${u.stderr}`);
        await waitFor(async () => (await owners(c, L)).includes(L), { timeout: 20000, interval: 250, what: `a zone placed on node ${L} again` });
        const back = new ResumingArena('dback', [{ id: L, port: c.node(L).httpPort }], 0, { maxMs: 20000 }).start();
        await waitFor(() => back.acks >= 2, { timeout: 10000, what: 'a new player on the undrained node' });
        await back.stop();

        // --- nothing acknowledged lost
        await Promise.all(all.map((p) => p.stop()));
        await waitFor(
            async () => {
                const st = await c.api(newLeader, '/api/state');
                return arena.every((p) => (st.players.find((x) => x.id === p.id) || { seq: -1 }).seq >= p.acked);
            },
            { timeout: 5000, what: 'every arena player at or beyond its highest ack' },
        );
        const m = await c.api(newLeader, '/api/mud');
        for (const p of mud) {
            const ch = m.players.find((x) => x.name === p.name);
            assert.ok(ch, `${p.name} is in the world`);
            const [z, rr] = ch.room.replace(/^z/, '').split('.r');
            assert.equal(`Room ${z}.${rr}`, p.room.name, `${p.name} stands where it was last told`);
        }
        const pauses = all.map((p) => p.maxPause);
        console.log(`# drain of node ${L}: ${drainMs} ms; longest pause a client saw: ${Math.max(...pauses)} ms (${all.map((p) => `${p.label} ${p.maxPause}`).join(', ')})`);
    }
}
