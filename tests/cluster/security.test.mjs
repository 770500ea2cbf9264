// Security and abuse: a node with the wrong cluster secret stays out; a
// forged stock-libraft RequestVote on a cluster port changes nothing, while
// the same bytes move the term of a stock libraft node (the positive
// control); bad WebSocket input gets one client errors or a close and nobody
// else notices.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { withCluster, stopAllClusters, waitFor, holdFor, Mover, raceTimeout } from './lib/cluster.mjs';
import { StockRaft } from './lib/stock_raft.mjs';

after(stopAllClusters);

const ET = 300;
const HB = 50;
const FAILURE_LINE = /refus|reject|bad|fail|denied|invalid|mismatch|wrong/i;
const AUTH_WORD = /\bMAC\b|secret|auth|handshake/i;

function authFailureLines(text) {
    return text.split('\n').filter((l) => !l.startsWith('==== harness') && AUTH_WORD.test(l) && FAILURE_LINE.test(l));
}

test(
    'a node with the wrong cluster secret never joins; the other two serve',
    { timeout: 60000 },
    withCluster(
        { n: 3, name: 'security-secret', electionTimeout: ET, heartbeat: HB, secrets: { 3: crypto.randomBytes(16).toString('hex') } },
        async (c) => {
            const info = await c.leaderInfo({ among: [1, 2], timeout: 15000 });
            assert.ok([1, 2].includes(info.id), `leader ${info.id} is node 1 or 2`);

            // The good pair serves clients.
            const cl = await c.client(info.id === 1 ? 2 : 1, 'good');
            await cl.join('sec_good');
            for (let i = 0; i < 5; i++) {
                const r = await cl.moveAndWait('right', { timeout: 5000 });
                assert.ok(r.ok, `move ${r.seq} on the healthy pair acknowledged: ${r.error}`);
            }

            // Node 3 learns nothing for 3 s: no leader, nothing applied
            // beyond the bootstrap configuration entry (index 1, which
            // libraft counts as committed on start), not ready.
            await holdFor(
                async () => {
                    const v = await c.api(3, '/api/cluster');
                    assert.equal(v.leader, null, `node 3 reports leader ${v.leader}`);
                    assert.notEqual(v.role, 'leader');
                    assert.ok(v.applied_index <= 1, `node 3 applied_index ${v.applied_index}`);
                },
                { duration: 3000, interval: 100, what: 'node 3 staying out of the cluster' },
            );
            const r3 = await c.http(3, '/readyz');
            assert.equal(r3.status, 503, `node 3 /readyz is 503 (got ${r3.status} ${r3.text})`);
            // And the good pair never listed it as having an HTTP address.
            const v1 = await c.api(info.id, '/api/cluster');
            assert.equal(v1.nodes.find((x) => x.id === 3).http, null, 'node 3 never registered its HTTP address');

            // Both sides say why in their logs.
            await waitFor(() => authFailureLines(c.logText(3)).length > 0, {
                timeout: 3000,
                what: 'a line in node 3\'s log about the refused handshake (MAC / secret)',
            });
            await waitFor(() => authFailureLines(c.logText(1)).length + authFailureLines(c.logText(2)).length > 0, {
                timeout: 3000,
                what: 'a line in node 1 or 2\'s log about rejecting a connection (MAC / secret)',
            });
            // Rate-limited: a few hundred lines at most in these seconds, not one per retry per peer.
            const n3 = authFailureLines(c.logText(3)).length;
            assert.ok(n3 < 500, `node 3 logged ${n3} handshake failure lines (not rate-limited?)`);

            // Positive control: the same node 3 (data dir, ports, peers),
            // restarted with the secret the others hold, joins and serves.
            // So it stayed out because of the secret, nothing else.
            fs.copyFileSync(c.node(1).cookieFile, c.node(3).cookieFile);
            await c.restart(3);
            await waitFor(
                async () => {
                    const v = await c.api(3, '/api/cluster').catch(() => null);
                    return v && v.leader === info.id && v.applied_index > 1;
                },
                { timeout: 15000, what: 'node 3, with the right secret, to follow the leader and apply entries' },
            );
            await waitFor(async () => (await c.http(3, '/readyz')).status === 200, { timeout: 10000, what: 'node 3 /readyz 200 with the right secret' });
            await waitFor(async () => (await c.api(info.id, '/api/cluster')).nodes.find((x) => x.id === 3).http !== null, {
                timeout: 10000,
                what: 'node 3 to register its HTTP address with the right secret',
            });
            const r3ok = await cl.moveAndWait('right', { timeout: 5000 });
            assert.ok(r3ok.ok, `a move with node 3 in the cluster is acknowledged: ${r3ok.error}`);
            await c.waitConverged();
            await cl.close();
        },
    ),
);

/** libraft v0.15 stock TCP transport: handshake preamble + one RequestVote. */
function forgedRequestVote({ claimedId, address, term, lastLogIndex, lastLogTerm }) {
    const addr = Buffer.alloc(Math.ceil((address.length + 1) / 8) * 8); // NUL-padded to 8
    addr.write(address, 'latin1');
    const pre = Buffer.alloc(24);
    pre.writeBigUInt64LE(1n, 0); // UV__TCP_HANDSHAKE_PROTOCOL
    pre.writeBigUInt64LE(BigInt(claimedId), 8);
    pre.writeBigUInt64LE(BigInt(addr.length), 16);
    const msg = Buffer.alloc(16 + 40);
    msg.writeBigUInt64LE(3n, 0); // RAFT_IO_REQUEST_VOTE (raft.h: APPEND_ENTRIES=1, ..._RESULT=2, REQUEST_VOTE=3)
    msg.writeBigUInt64LE(40n, 8); // payload: term, candidate_id, last_log_index, last_log_term, flags
    msg.writeBigUInt64LE(BigInt(term), 16);
    msg.writeBigUInt64LE(BigInt(claimedId), 24);
    msg.writeBigUInt64LE(BigInt(lastLogIndex), 32);
    msg.writeBigUInt64LE(BigInt(lastLogTerm), 40);
    msg.writeBigUInt64LE(1n, 48); // flags: bit 0 disrupt_leader, bit 1 pre_vote
    return Buffer.concat([pre, addr, msg]);
}

/**
 * Connect to 127.0.0.1:@port and write @bytes once connected. The same code
 * sends the forged packet to a Warren node and to the stock libraft node, so
 * the two see the same bytes. Resolves once the bytes are written and the
 * peer has closed, or @waitClose ms after the connect: { connected,
 * closedAfter (ms after the connect, or null), received, sent (a copy) }.
 */
async function sendRaw(port, bytes, { waitClose }) {
    const sock = net.connect(port, '127.0.0.1');
    const r = { connected: false, closedAfter: null, received: 0, sent: null, destroy: () => sock.destroy() };
    let t0 = Date.now();
    const closed = new Promise((resolve) => sock.on('close', () => resolve(Date.now())));
    const written = new Promise((resolve) => {
        sock.on('connect', () => {
            r.connected = true;
            t0 = Date.now();
            r.sent = Buffer.from(bytes);
            sock.write(bytes, resolve);
        });
    });
    sock.on('data', (d) => (r.received += d.length));
    sock.on('error', () => {});
    if ((await raceTimeout(Promise.race([written.then(() => 'written'), closed]), 3000)) !== 'written') return r;
    const closedAt = await raceTimeout(closed, waitClose);
    if (closedAt !== null) r.closedAfter = closedAt - t0;
    return r;
}

test(
    'a forged stock-libraft RequestVote (term 1000, disrupt_leader) is dropped and changes no term; the same bytes move a stock libraft node',
    { timeout: 60000 },
    withCluster({ n: 3, name: 'security-forged-vote', electionTimeout: ET, heartbeat: HB }, async (c) => {
        const info = await c.leaderInfo();
        await c.waitConverged();
        const views = {};
        for (const n of c.nodes) views[n.id] = await c.api(n.id, '/api/cluster');
        const term = views[info.id].term;
        for (const n of c.nodes) assert.equal(views[n.id].term, term, `node ${n.id} term before`);
        const target = c.nodes.find((n) => n.id !== info.id);
        const claimed = c.nodes.find((n) => n.id !== target.id && n.id !== info.id) || c.nodes.find((n) => n.id !== target.id);

        const pkt = forgedRequestVote({ claimedId: claimed.id, address: '127.0.0.1:9999', term: 1000, lastLogIndex: 1000000, lastLogTerm: 999 });
        assert.equal(pkt.length, 24 + 16 + 56);
        const neg = await sendRaw(target.clusterPort, pkt, { waitClose: 4500 });
        neg.destroy();
        assert.ok(neg.connected, `connected to node ${target.id}'s cluster port ${target.clusterPort}`);
        assert.ok(neg.closedAfter !== null, `node ${target.id} closed the forged connection (within 4.5 s; handshake deadline is 3 s)`);
        console.log(`# forged connection closed by node ${target.id} after ${neg.closedAfter} ms (it sent us ${neg.received} bytes)`);

        await holdFor(
            async () => {
                for (const n of c.nodes) {
                    const v = await c.api(n.id, '/api/cluster');
                    assert.equal(v.term, term, `node ${n.id} term`);
                    assert.equal(v.leader, info.id, `node ${n.id} leader`);
                }
            },
            { duration: 1200, interval: 50, what: 'terms and leader after the forged RequestVote' },
        );
        // The cluster still commits.
        const cl = await c.client(target.id, 'after-forgery');
        await cl.join('sec_after');
        const r = await cl.moveAndWait('up', { timeout: 5000 });
        assert.ok(r.ok, `a move after the forgery is acknowledged: ${r.error}`);
        await cl.close();

        // Positive control: the very same bytes, sent the same way to a
        // stock libraft 0.15 node (its unauthenticated transport), move its
        // term to 1000. So the packet is a well-formed RequestVote, and the
        // cluster above ignored it because of the handshake, not because
        // the test mis-encoded it.
        const stock = await StockRaft.start({ id: 77 });
        try {
            const before = stock.term;
            assert.ok(before < 1000, `stock node term ${before} before the packet`);
            const pos = await sendRaw(stock.port, pkt, { waitClose: 0 });
            try {
                assert.ok(pos.connected, `connected to the stock node on port ${stock.port}`);
                assert.deepEqual(pos.sent, neg.sent, 'the stock node got byte for byte what node ' + target.id + ' got');
                await waitFor(() => stock.term >= 1000, {
                    timeout: 5000,
                    what: `the stock libraft node's term to reach 1000 (it is ${stock.term}; lines: ${stock.lines.join(' | ')})`,
                });
            } finally {
                pos.destroy();
            }
            console.log(`# the same packet moved the stock libraft node from term ${before} to ${stock.term}`);
        } finally {
            const exit = await stock.stop();
            assert.deepEqual(exit, { code: 0, signal: null }, `stock node exit (stderr: ${stock.stderr})`);
        }
    }),
);

test(
    'bad WebSocket input gets that client errors or a close; a client beside it keeps moving',
    { timeout: 90000 },
    withCluster({ n: 3, name: 'security-ws-abuse', electionTimeout: ET, heartbeat: HB }, async (c) => {
        await c.leader();
        const nodeId = c.nodes[1].id;
        const good = await c.client(nodeId, 'good');
        await good.join('ws_good');
        const mover = new Mover(good, { minInterval: 40, ackTimeout: 3000 }).start();
        try {
            await waitFor(() => good.acked >= 3, { timeout: 5000, what: 'the good client to get acks' });

            const bad = await c.client(nodeId, 'bad');
            // Move before join.
            bad.send({ t: 'move', dir: 'up', seq: 1 });
            assert.equal((await bad.waitError()).code, 'not_joined');
            // Not JSON; JSON but not an object; unknown type; missing type.
            bad.sendRaw('{this is not json');
            assert.equal((await bad.waitError()).code, 'bad_json');
            bad.sendRaw('[1,2,3]');
            assert.equal((await bad.waitError()).code, 'bad_json');
            bad.send({ t: 'teleport', x: 1, y: 1 });
            assert.equal((await bad.waitError()).code, 'bad_type');
            bad.send({ hello: 'world' });
            const e = await bad.waitError();
            assert.ok(['bad_type', 'bad_field'].includes(e.code), `message without t: ${e.code}`);
            // Bad names, then a good join; bad fields after joining.
            bad.send({ t: 'join', name: 'no spaces allowed' });
            assert.equal((await bad.waitError()).code, 'bad_name');
            await bad.join('ws_bad');
            bad.send({ t: 'move', dir: 'sideways', seq: 1 });
            assert.equal((await bad.waitError()).code, 'bad_field');
            bad.send({ t: 'move', dir: 'up', seq: 'one' });
            assert.equal((await bad.waitError()).code, 'bad_field');
            // Positive control: a well-formed move from the same client, with
            // the seq the refused ones carried, is applied (had one of them
            // been applied, this would be bad_seq).
            const okMove = await bad.moveAndWait('up', { timeout: 5000 });
            assert.ok(okMove.ok && okMove.seq === 1, `a good move after the bad ones is acknowledged: ${okMove.error}`);
            // Still open after all that.
            assert.ok(bad.isOpen, 'connection stays open after error frames');
            await bad.ping(7);
            // A message of exactly the limit (--max-ws-message, 4096 bytes)
            // is answered; one byte more closes with 1009.
            const sized = (id, len) => {
                const base = JSON.stringify({ t: 'ping', id, pad: '' });
                return JSON.stringify({ t: 'ping', id, pad: 'x'.repeat(len - base.length) });
            };
            assert.equal(sized(8, 4096).length, 4096);
            const atLimit = bad.waitMessage((m) => m && m.t === 'pong' && m.id === 8, { timeout: 3000, what: 'pong 8 (a 4096-byte message)' });
            bad.sendRaw(sized(8, 4096));
            await atLimit;
            assert.equal(sized(1, 4097).length, 4097);
            bad.sendRaw(sized(1, 4097));
            const ci = await bad.waitClosed({ timeout: 5000 });
            assert.equal(ci.code, 1009, `oversized frame close code (got ${ci.code} ${ci.reason})`);

            // A binary frame: closed with 1003; the same bytes as a text
            // frame are answered (positive control).
            const pingBytes = Buffer.from(JSON.stringify({ t: 'ping', id: 9 }));
            const txt = await c.client(nodeId, 'text');
            const pong9 = txt.waitMessage((m) => m && m.t === 'pong' && m.id === 9, { timeout: 3000, what: 'pong 9 to a text frame' });
            txt.sendRaw(pingBytes.toString());
            await pong9;
            assert.ok(txt.isOpen, 'the text frame left its connection open');
            await txt.close();
            const bin = await c.client(nodeId, 'binary');
            bin.sendRaw(pingBytes, { binary: true });
            const cb = await bin.waitClosed({ timeout: 5000 });
            assert.equal(cb.code, 1003, `binary frame close code (got ${cb.code} ${cb.reason})`);

            // A flood of 400 pings in one go: closed with 1008 (rate limit).
            const flood = await c.client(nodeId, 'flood');
            for (let i = 0; i < 400 && flood.isOpen; i++) flood.send({ t: 'ping', id: i });
            const cf = await flood.waitClosed({ timeout: 5000 });
            assert.equal(cf.code, 1008, `rate-limited client close code (got ${cf.code} ${cf.reason})`);
            const pongs = flood.messages.filter((m) => m.t === 'pong').length;
            assert.ok(pongs <= 130, `at most the burst (120) of pings answered before the close, got ${pongs}`);

            // The bad player's state holds its one good move and none of its
            // rejected ones.
            const s = await c.api(nodeId, '/api/state');
            const bp = s.players.find((p) => p.name === 'ws_bad');
            if (bp) assert.equal(bp.seq, 1, 'the bad client\'s rejected moves were not applied, its good one was');

            // Meanwhile the good client kept moving.
            const mark = good.acked;
            await waitFor(() => good.acked >= mark + 3, { timeout: 5000, what: 'the good client to keep getting acks' });
        } finally {
            await mover.stop();
        }
        const failed = mover.records.filter((r) => !r.ok);
        assert.deepEqual(failed, [], 'every move of the good client was acknowledged');
        assert.deepEqual(good.errors, [], 'the good client got no error frames');
        assert.ok(good.isOpen, 'the good client is still connected');
        await c.waitConverged();
    }),
);
