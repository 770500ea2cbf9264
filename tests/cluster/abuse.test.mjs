// Input abuse on the HTTP listener (plain HTTP, the arena's /ws and the
// MUD's /mud/ws) of a real 3-node cluster: slowloris, requests and
// WebSocket handshakes that never complete, half-open sockets, a flood of
// connections from one address, giant request headers, giant frames,
// invalid UTF-8, a client offering permessage-deflate and sending a
// "compressed" frame. Each abuse is checked next to a positive control (the
// same client, or the same input, behaving is served), and a node log line
// naming the client and the limit. Meanwhile well-behaved arena players keep
// moving, and their p99 round trip stays within the bound of
// lib/abuse.mjs latencyBound() against a quiet run measured first, in the
// same test.
//
// Source addresses: 127.0.0.1 is exempt from the per-address limit by
// default (a local proxy), so abusers connect from 127.0.0.2 and up, which
// Linux routes over loopback like any 127/8 address.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { withCluster, stopAllClusters, waitFor, delay } from './lib/cluster.mjs';
import { Raw, wsOpen, wsFrame, wsCloseCode, wsWaitText, WS_REQUEST, probeMoves, latencyBound } from './lib/abuse.mjs';

after(stopAllClusters);

const HEADER_TIMEOUT = 1500;
const IDLE_TIMEOUT = 2000;
const PER_IP = 64; // the default, not passed

const GET = (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;

/** A whole GET answered on a fresh socket from @from: the status code. */
async function getStatus(port, from, p = '/healthz') {
    const r = await Raw.connect(port, { localAddress: from });
    r.write(GET(p));
    await r.waitText(/^HTTP\/1\.1 \d{3}[^]*\r\n\r\n/);
    const code = Number(r.text().slice(9, 12));
    r.destroy();
    return code;
}

/** Slowloris: headers trickled one line every 300 ms never end: 408. Control: the same request whole. */
async function slowloris(c, port) {
    const socks = [];
    for (let i = 0; i < 8; i++) {
        const r = await Raw.connect(port, { localAddress: '127.0.0.4' });
        r.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
        socks.push(r);
    }
    const trickle = setInterval(() => socks.forEach((r, i) => r.write(`X-Slow-${i}: y\r\n`)), 300);
    try {
        for (const r of socks) await r.waitText(/^HTTP\/1\.1 408 /, { timeout: HEADER_TIMEOUT + 3000 });
        for (const r of socks) assert.ok(await r.waitClosed(3000), 'a slowloris socket is closed after its 408');
    } finally {
        clearInterval(trickle);
        socks.forEach((r) => r.destroy());
    }
    assert.equal(await getStatus(port, '127.0.0.4'), 200, 'control: the same request sent whole is served');
    await waitFor(() => /127\.0\.0\.4:\d+: closed: request headers not complete within 1500 ms/.test(c.logText(1)), {
        timeout: 2000,
        what: 'a log line naming the slowloris client and the header timeout',
    });
}

/** A WebSocket handshake (on /ws and /mud/ws) that never ends: 408. Control: a whole one gets 101. */
async function stalledHandshakes(c, port) {
    for (const p of ['/ws', '/mud/ws']) {
        const r = await Raw.connect(port, { localAddress: '127.0.0.5' });
        r.write(WS_REQUEST(p).replace(/\r\n\r\n$/, '\r\n')); // no blank line: never complete
        await r.waitText(/^HTTP\/1\.1 408 /, { timeout: HEADER_TIMEOUT + 3000 });
        assert.ok(await r.waitClosed(3000), `a stalled ${p} handshake is closed`);
        const ok = await wsOpen(port, p, { localAddress: '127.0.0.5' });
        ok.raw.destroy();
    }
}

/** Half-open: a socket that sends nothing is closed after the idle timeout; one that keeps asking stays. */
async function halfOpen(c, port) {
    const idle = await Raw.connect(port, { localAddress: '127.0.0.6' });
    const busy = await Raw.connect(port, { localAddress: '127.0.0.6' });
    const t0 = Date.now();
    let answered = 0;
    while (Date.now() - t0 < IDLE_TIMEOUT + 1200) {
        busy.write(GET('/healthz'));
        await busy.waitUntil((r) => (r.text().match(/HTTP\/1\.1 200/g) || []).length > answered, { timeout: 2000, what: 'keep-alive answer' });
        answered++;
        await delay(400);
    }
    assert.ok(await idle.waitClosed(3000), 'the silent socket is closed after --idle-timeout');
    assert.ok(!busy.ended, 'control: a keep-alive socket that keeps asking is not closed');
    assert.equal(idle.text(), '', 'the silent socket got no bytes, only a close');
    idle.destroy();
    busy.destroy();
}

/** A flood of connections from one address: PER_IP are taken, the rest get 503; other addresses are served. */
async function connectionFlood(c, port) {
    const socks = [];
    try {
        for (let i = 0; i < PER_IP + 6; i++) socks.push(await Raw.connect(port, { localAddress: '127.0.0.2' }));
        await waitFor(() => socks.filter((r) => r.ended).length >= 6, { timeout: 3000, what: '6 sockets over the limit closed' });
        await delay(200);
        const refused = socks.filter((r) => r.ended);
        assert.equal(refused.length, 6, `exactly the 6 over ${PER_IP} are refused`);
        for (const r of refused) assert.match(r.text(), /^HTTP\/1\.1 503 Service Unavailable\r\n/);
        assert.equal(await getStatus(port, '127.0.0.3'), 200, 'control: another address is served during the flood');
        assert.equal(await getStatus(port, '127.0.0.1'), 200, 'control: the exempt 127.0.0.1 is served during the flood');
        // One of the accepted ones is served normally.
        const first = socks[0];
        first.write(GET('/healthz'));
        await first.waitText(/^HTTP\/1\.1 200 /);
    } finally {
        socks.forEach((r) => r.destroy());
    }
    // Room again from that address once they are gone (the node sees the FINs).
    await waitFor(async () => (await getStatus(port, '127.0.0.2').catch(() => 0)) === 200, { timeout: 3000, what: '127.0.0.2 served again' });
    assert.match(c.logText(1), /http 127\.0\.0\.2:\d+: refused: too many connections from this address \(max 64\)/);
}

/** Giant request line and headers: 431. Control: the same request with small headers. */
async function giantHeaders(c, port) {
    for (const req of [`GET /healthz?${'q'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`]) {
        const r = await Raw.connect(port, { localAddress: '127.0.0.7' });
        r.write(req);
        await r.waitText(/^HTTP\/1\.1 431 /);
        assert.ok(await r.waitClosed(3000), 'closed after 431');
        r.destroy();
    }
    assert.equal(await getStatus(port, '127.0.0.7'), 200, 'control: a request with small headers is served');
    assert.match(c.logText(1), /http 127\.0\.0\.7:\d+: closed: request header too large/);
}

/** On /ws and /mud/ws: a ping is answered (control), then a giant frame gets 1009, invalid UTF-8 1007. */
async function badFrames(c, port) {
    for (const p of ['/ws', '/mud/ws']) {
        // Giant: a header announcing 64 MiB; nothing more is sent or needed.
        const a = await wsOpen(port, p, { localAddress: '127.0.0.8' });
        a.raw.write(wsFrame(1, JSON.stringify({ t: 'ping', id: 7 })));
        await wsWaitText(a.raw, /"pong"/);
        a.raw.write(wsFrame(1, null, { len: 64 << 20 }));
        assert.equal(await wsCloseCode(a.raw), 1009, `${p}: a 64 MiB frame gets close 1009`);
        a.raw.destroy();
        // Invalid UTF-8 (C3 28: a lead byte without its continuation).
        const b = await wsOpen(port, p, { localAddress: '127.0.0.8' });
        b.raw.write(wsFrame(1, Buffer.from('{"t":"ping","id":"é"}', 'utf8')));
        await wsWaitText(b.raw, /"pong"/); // control: valid UTF-8 beyond ASCII
        b.raw.write(wsFrame(1, Buffer.from([0x7b, 0xc3, 0x28, 0x7d])));
        assert.equal(await wsCloseCode(b.raw), 1007, `${p}: invalid UTF-8 gets close 1007`);
        b.raw.destroy();
    }
    assert.match(c.logText(1), /http 127\.0\.0\.8:\d+: closed: websocket message too large/);
    assert.match(c.logText(1), /http 127\.0\.0\.8:\d+: websocket closed \(1007\): invalid UTF-8/);
}

/** permessage-deflate is never negotiated, so no inflate bomb: the offer gets no extension, an RSV1 frame 1002. */
async function deflate(c, port) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: true, localAddress: '127.0.0.9' });
    await new Promise((res, rej) => {
        ws.once('open', res);
        ws.once('error', rej);
    });
    assert.equal(ws.extensions, '', 'the server accepted no extension');
    const pong = new Promise((res) => ws.on('message', (d) => /"pong"/.test(String(d)) && res()));
    ws.send(JSON.stringify({ t: 'ping', id: 1 }));
    await pong;
    ws.close();
    const { raw, head } = await wsOpen(port, '/ws', { localAddress: '127.0.0.9', extra: 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' });
    assert.doesNotMatch(head, /sec-websocket-extensions/i, 'no extension in the 101');
    raw.write(wsFrame(1, JSON.stringify({ t: 'ping', id: 2 }))); // control: plain frame
    await wsWaitText(raw, /"pong"/);
    // A deflate bomb's first frame: RSV1 set, a few bytes that would inflate to a lot.
    raw.write(wsFrame(1, Buffer.from([0xed, 0xc1, 0x01, 0x0d, 0x00, 0x00, 0x00, 0x80]), { rsv1: true }));
    assert.equal(await wsCloseCode(raw), 1002, 'an RSV1 (compressed) frame gets close 1002');
    raw.destroy();
}

test(
    'HTTP and WebSocket abuse gets each abuser a clear close while other players keep their latency',
    { timeout: 90000 },
    withCluster(
        {
            n: 3,
            name: 'abuse-http',
            extraArgs: ['--header-timeout', String(HEADER_TIMEOUT), '--idle-timeout', String(IDLE_TIMEOUT)],
        },
        async (c) => {
            await c.leaderInfo({ timeout: 15000 });
            const port = c.node(1).httpPort;
            const players = [];
            for (const [id, k] of [[1, 0], [1, 1], [1, 2], [2, 3]]) {
                const cl = await c.client(id, `good${k}`);
                await cl.join(`good_${k}`);
                players.push(cl);
            }
            await probeMoves(players, { durationMs: 800 }); // warm-up
            const quiet = await probeMoves(players, { durationMs: 4000 });
            assert.deepEqual(quiet.failed, [], 'quiet run: every move acknowledged');
            assert.ok(quiet.lat.length >= 200, `quiet run: enough samples (${quiet.lat.length})`);

            // Every abuse at once, against node 1, while the players move.
            const abuses = [slowloris, stalledHandshakes, halfOpen, connectionFlood, giantHeaders, badFrames, deflate];
            const probe = probeMoves(players, { durationMs: 6000 });
            const results = await Promise.allSettled(abuses.map((f) => f(c, port)));
            const loud = await probe;
            const bad = results.map((r, i) => (r.status === 'rejected' ? `${abuses[i].name}: ${r.reason && r.reason.stack}` : null)).filter(Boolean);
            assert.deepEqual(bad, [], 'every abuse got its close, and its control was served');

            const bound = latencyBound(quiet.p99);
            console.log(`abuse_latency http quiet_p99_ms=${quiet.p99} quiet_n=${quiet.lat.length} abuse_p99_ms=${loud.p99} abuse_n=${loud.lat.length} bound_ms=${bound}`);
            assert.deepEqual(loud.failed, [], 'under abuse: every move acknowledged');
            assert.ok(loud.lat.length >= 200, `under abuse: enough samples (${loud.lat.length})`);
            assert.ok(loud.p99 <= bound, `p99 under abuse ${loud.p99} ms within ${bound} ms (quiet p99 ${quiet.p99} ms)`);
            // And the players were never closed.
            for (const cl of players) assert.ok(cl.isOpen, `${cl.label} still connected`);
        },
    ),
);
