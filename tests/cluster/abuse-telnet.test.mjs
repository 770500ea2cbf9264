// Input abuse on the telnet listener and the cluster port of a real 3-node
// cluster, then file-descriptor exhaustion. Telnet: a flood of connections
// from one address, a giant line, invalid UTF-8, an option storm, an
// unterminated subnegotiation, a client that tries to compress its input
// (MCCP2 only compresses server output, so that is the one place an inflate
// bomb could enter), a login that never ends. Cluster port: idle handshakes
// from one address. Each next to its positive control and a log line naming
// the client and the limit, while arena players keep moving with their p99
// held to a quiet run (lib/abuse.mjs latencyBound). Then nodes started
// under a low `ulimit -n` run out of descriptors: they refuse new clients
// with a log line, keep the old ones playing, do not spin, and accept again
// once some close.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { withCluster, stopAllClusters, waitFor, delay } from './lib/cluster.mjs';
import { TelnetClient, IAC, WILL, SB, OPT, subneg } from './lib/telnet.mjs';
import { FAST_PWHASH, Player, randomName } from './lib/mud.mjs';
import { Raw, probeMoves, latencyBound } from './lib/abuse.mjs';

after(stopAllClusters);

const LOGIN_TIMEOUT = 3000;
const HS_TIMEOUT = 1000;
const NOFILE = 128;
const NAME_PROMPT = /By what name are you known\? /;

/** 64 connections from 127.0.0.2 are taken, more get the busy line; another address is served. */
async function telnetFlood(c, port) {
    const socks = [];
    try {
        for (let i = 0; i < 68; i++) socks.push(await Raw.connect(port, { localAddress: '127.0.0.2' }));
        await waitFor(() => socks.filter((r) => r.ended).length >= 4, { timeout: 3000, what: '4 over the limit closed' });
        await delay(200);
        const refused = socks.filter((r) => r.ended);
        assert.equal(refused.length, 4, 'exactly the 4 over 64 are refused');
        for (const r of refused) assert.match(r.text(), /^Sorry, the server is busy; please try again later\.\r\n$/);
        await socks[0].waitText(NAME_PROMPT); // an accepted one is greeted
        const other = await Raw.connect(port, { localAddress: '127.0.0.3' });
        await other.waitText(NAME_PROMPT); // control: another address
        other.destroy();
    } finally {
        socks.forEach((r) => r.destroy());
    }
    assert.match(c.logText(1), /telnet 127\.0\.0\.2:\d+: refused: too many connections from this address \(max 64\)/);
}

/** A 40 KB line with no end closes; a 2 KB one is only dropped, and the connection goes on. */
async function giantLine(c, port) {
    const ok = await Raw.connect(port, { localAddress: '127.0.0.4' });
    await ok.waitText(NAME_PROMPT);
    ok.write('y'.repeat(2000) + '\r\n');
    await ok.waitText(/Line too long \(at most 1024 bytes\); ignored\./);
    const bad = await Raw.connect(port, { localAddress: '127.0.0.4' });
    await bad.waitText(NAME_PROMPT);
    bad.write('z'.repeat(40000));
    assert.ok(await bad.waitClosed(3000), 'a 40 KB line without an end closes the connection');
    bad.destroy();
    assert.ok(!ok.ended, 'control: the 2 KB line only cost its line');
    // Invalid UTF-8 (C3 28) is replaced, not refused: the dialogue goes on.
    const before = ok.text().length;
    ok.write(Buffer.concat([Buffer.from([0xc3, 0x28]), Buffer.from('\r\n')]));
    await ok.waitUntil((r) => NAME_PROMPT.test(r.text().slice(before)), { what: 'a new name prompt after invalid UTF-8' });
    assert.ok(!ok.ended);
    ok.destroy();
    assert.match(c.logText(1), /telnet 127\.0\.0\.4:\d+: closed: line over 16384 bytes with no end \(max_line 1024\)/);
}

/** IAC WILL 99 (refused: libtelnet answers DONT without an event) 3000 times closes; a real client negotiates fine. */
async function optionStorm(c, port) {
    const ok = await TelnetClient.connect(port, '127.0.0.1', { label: 'negotiator', mccp: true });
    await ok.waitFor(NAME_PROMPT);
    const storm = await Raw.connect(port, { localAddress: '127.0.0.5' });
    await storm.waitText(NAME_PROMPT);
    const one = Buffer.from([IAC, WILL, 99]);
    storm.write(Buffer.concat(Array(3000).fill(one)));
    assert.ok(await storm.waitClosed(3000), 'an option storm closes the connection');
    storm.destroy();
    // Unterminated subnegotiation: IAC SB GMCP and 20000 bytes, no IAC SE.
    const sb = await Raw.connect(port, { localAddress: '127.0.0.5' });
    await sb.waitText(NAME_PROMPT);
    sb.write(Buffer.concat([Buffer.from([IAC, SB, OPT.GMCP]), Buffer.from('Core.Hello ' + 'a'.repeat(20000))]));
    assert.ok(await sb.waitClosed(3000), 'an unterminated subnegotiation closes at max_subneg');
    sb.destroy();
    // Control: the negotiating client compresses (MCCP2) and a 4 KB GMCP message is fine.
    assert.ok(ok.compressing, 'control: MCCP2 runs for the real client');
    ok.sendGmcp('Core.Hello', { client: 'x'.repeat(4000), version: '1' });
    ok.send('');
    await delay(300);
    assert.ok(!ok.closed, 'control: the negotiating client is still connected');
    await ok.close();
    const log = c.logText(1);
    assert.match(log, /telnet 127\.0\.0\.5:\d+: closed: option storm: telnet commands over 50\/s \(burst 200\)/);
    assert.match(log, /telnet 127\.0\.0\.5:\d+: closed: subnegotiation over 8192 bytes without its end/);
}

/** A client turning on MCCP2 for its own input (then a deflate bomb) is closed before inflating it. */
async function clientCompress(c, port) {
    const r = await Raw.connect(port, { localAddress: '127.0.0.6' });
    await r.waitText(NAME_PROMPT);
    const bomb = zlib.deflateSync(Buffer.alloc(8 << 20)); // 8 MiB of zeros in ~8 KiB
    r.write(Buffer.concat([subneg(OPT.COMPRESS2, ''), bomb]));
    assert.ok(await r.waitClosed(3000), 'client COMPRESS2 closes');
    r.destroy();
    assert.match(c.logText(1), /telnet 127\.0\.0\.6:\d+: closed: client sent COMPRESS2/);
}

/** A login that never ends is closed after --mud-login-timeout; a player who logged in stays. */
async function loginTimeout(c, port) {
    const p = await Player.connect(c, 1, { label: 'player' });
    await p.create(randomName('ab'), 'secret12');
    const idle = await Raw.connect(port, { localAddress: '127.0.0.7' });
    await idle.waitText(NAME_PROMPT);
    const t0 = Date.now();
    assert.ok(await idle.waitClosed(LOGIN_TIMEOUT + 3000), 'an idle login is closed');
    assert.ok(Date.now() - t0 >= LOGIN_TIMEOUT - 1100, `not before the timeout (${Date.now() - t0} ms)`);
    assert.match(idle.text(), /Login timed out\./);
    idle.destroy();
    await p.look(); // control: the player who logged in is served past the timeout
    await p.close();
}

/** Idle handshakes on the cluster port from one address: 16 get the challenge and a deadline, more are closed at once. */
async function clusterPort(c) {
    const port = Number(c.node(1).clusterAddr.split(':')[1]);
    const socks = [];
    try {
        for (let i = 0; i < 20; i++) socks.push(await Raw.connect(port, { localAddress: '127.0.0.8' }));
        await waitFor(() => socks.filter((r) => r.ended).length >= 4, { timeout: 3000, what: '4 handshakes over the limit closed' });
        const early = socks.filter((r) => r.ended);
        assert.equal(early.length, 4, 'the 4 over 16 are closed at once');
        for (const r of early) assert.equal(r.text(), '', 'closed without a challenge');
        const taken = socks.filter((r) => !r.ended);
        for (const r of taken) await r.waitText(/^WRNAUTH1/);
        const other = await Raw.connect(port, { localAddress: '127.0.0.9' }); // control: another address
        await other.waitText(/^WRNAUTH1/);
        other.destroy();
        for (const r of taken) assert.ok(await r.waitClosed(HS_TIMEOUT + 2000), 'an idle handshake is closed at its deadline');
    } finally {
        socks.forEach((r) => r.destroy());
    }
    // Lines are rate-limited per address (5 s): one idle handshake from an
    // address of its own shows the deadline's line.
    const lone = await Raw.connect(port, { localAddress: '127.0.0.10' });
    await lone.waitText(/^WRNAUTH1/);
    assert.ok(await lone.waitClosed(HS_TIMEOUT + 2000), 'a lone idle handshake is closed at its deadline');
    lone.destroy();
    const log = c.logText(1);
    assert.match(log, /rejected cluster connection from 127\.0\.0\.8:\d+: too many handshakes in progress from this address \(max 16\)/);
    assert.match(log, /rejected cluster connection from 127\.0\.0\.10:\d+: handshake not completed within 1000 ms/);
}

/** CPU seconds (user + system) of @pid so far. */
function cpuSeconds(pid) {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * Open sockets to node @id's HTTP port until @refused(raw) says one was
 * refused (bounded: 400 sockets, 20 s); returns the open ones.
 */
async function exhaust(c, id, refused) {
    const socks = [];
    const until = Date.now() + 20000;
    for (let i = 0; i < 400 && Date.now() < until; i++) {
        const r = await Raw.connect(c.node(id).httpPort).catch(() => null);
        if (r === null) continue;
        socks.push(r);
        const closed = await r.waitClosed(60);
        if (closed && refused(r)) return socks;
    }
    throw new Error(`node ${id}: no connection refused after ${socks.length} sockets`);
}

/** Node @id out of descriptors: the old player moves, no spin, accepts again after some close. */
async function fdExhaustion(c, id, player, refused, logRe) {
    const socks = await exhaust(c, id, refused);
    try {
        if (logRe) await waitFor(() => logRe.test(c.logText(id)), { timeout: 3000, what: `node ${id}: ${logRe}` });
        const pid = c.node(id).proc.pid;
        const cpu0 = cpuSeconds(pid);
        // Keep knocking for a second: each refused connection must cost little.
        for (let i = 0; i < 10; i++) {
            const r = await Raw.connect(c.node(id).httpPort).catch(() => null);
            if (r) await r.waitClosed(100).then(() => r.destroy());
            await delay(100);
        }
        const used = cpuSeconds(pid) - cpu0;
        assert.ok(used < 0.6, `node ${id} used ${used.toFixed(2)} CPU s in ~1 s at its descriptor limit (spinning?)`);
        for (let i = 0; i < 5; i++) {
            const r = await player.moveAndWait(i % 2 ? 'left' : 'right', { timeout: 5000 });
            assert.ok(r.ok, `node ${id}: the old player still plays at the limit: ${r.error}`);
        }
        assert.ok(c.node(id).alive, `node ${id} is alive`);
    } finally {
        socks.slice(0, 40).forEach((r) => r.destroy());
    }
    // Positive control: room again.
    await waitFor(
        async () => {
            const cl = await c.client(id, `after${id}`).catch(() => null);
            if (!cl) return false;
            await cl.join(`after_${id}`);
            const r = await cl.moveAndWait('left');
            return r.ok;
        },
        { timeout: 5000, what: `node ${id} accepting and serving again` },
    );
    socks.forEach((r) => r.destroy());
}

test(
    'telnet and cluster-port abuse and descriptor exhaustion cost only the abuser',
    { timeout: 90000 },
    withCluster(
        {
            n: 3,
            name: 'abuse-telnet',
            telnet: true,
            extraArgs: [...FAST_PWHASH, '--mud-login-timeout', String(LOGIN_TIMEOUT), '--cluster-handshake-timeout', String(HS_TIMEOUT)],
            // Low descriptor limits: node 3 with the default reserve, node 2
            // with none, so its accepts really fail with EMFILE.
            commandPrefix: {
                2: ['sh', '-c', `ulimit -n ${NOFILE} && exec "$0" "$@" --fd-reserve 0`],
                3: ['sh', '-c', `ulimit -n ${NOFILE} && exec "$0" "$@"`],
            },
        },
        async (c) => {
            await c.leaderInfo({ timeout: 15000 });
            const port = c.telnetPort(1);
            const players = [];
            for (const [id, k] of [[1, 0], [1, 1], [1, 2], [2, 3], [3, 4]]) {
                const cl = await c.client(id, `good${k}`);
                await cl.join(`good_${k}`);
                players.push(cl);
            }
            const probers = players.slice(0, 4);
            await probeMoves(probers, { durationMs: 800 });
            const quiet = await probeMoves(probers, { durationMs: 4000 });
            assert.deepEqual(quiet.failed, [], 'quiet run: every move acknowledged');

            const abuses = [telnetFlood, giantLine, optionStorm, clientCompress, loginTimeout, clusterPort];
            const probe = probeMoves(probers, { durationMs: 6000 });
            const results = await Promise.allSettled(abuses.map((f) => f(c, port)));
            const loud = await probe;
            const bad = results.map((r, i) => (r.status === 'rejected' ? `${abuses[i].name}: ${r.reason && r.reason.stack}` : null)).filter(Boolean);
            assert.deepEqual(bad, [], 'every abuse got its close, and its control was served');
            const bound = latencyBound(quiet.p99);
            console.log(`abuse_latency telnet quiet_p99_ms=${quiet.p99} quiet_n=${quiet.lat.length} abuse_p99_ms=${loud.p99} abuse_n=${loud.lat.length} bound_ms=${bound}`);
            assert.deepEqual(loud.failed, [], 'under abuse: every move acknowledged');
            assert.ok(quiet.lat.length >= 200 && loud.lat.length >= 200, `enough samples (${quiet.lat.length}, ${loud.lat.length})`);
            assert.ok(loud.p99 <= bound, `p99 under abuse ${loud.p99} ms within ${bound} ms (quiet p99 ${quiet.p99} ms)`);

            // Descriptors: node 3 keeps its reserve and says so with a 503
            // and a log line. Node 2 (no reserve) really hits EMFILE: libuv
            // then accepts and closes what it cannot take (its reserve-fd
            // trick, which tells the node nothing, so no line to look for),
            // and the clients see a close without a byte.
            await fdExhaustion(c, 3, players[4], (r) => /^HTTP\/1\.1 503 /.test(r.text()), /http 127\.0\.0\.1:\d+: refused: file descriptors nearly exhausted \(fd \d+ of the limit 128; 32 kept in reserve\)/);
            await fdExhaustion(c, 2, players[3], (r) => r.text() === '', null);
            for (const cl of players) assert.ok(cl.isOpen, `${cl.label} still connected`);
        },
    ),
);
