// `warren cluster up --tls` (issue 9): nginx terminates TLS in front of the
// local cluster, with a self-signed certificate made at start with openssl.
// Shown end to end through nginx's TLS ports, with certificate verification
// on (the generated certificate is the clients' only CA):
//   - a WSS client joins the arena and gets a move acknowledged; HTTPS
//     answers /api/cluster;
//   - a telnet client over TLS negotiates (GMCP, NAWS, TTYPE...) and
//     creates a MUD character;
//   - controls: the same clients trusting another self-signed certificate
//     are refused by verification, plain HTTP to the HTTPS port gets nginx's
//     400, and plain telnet to the telnet TLS port never sees the MUD; the
//     peer certificate is the one in DIR. So TLS really is in the path.
//   - a second `up` reuses the certificate; `down` stops everything.
// Plus the CLI's errors: a TLS port without --tls, openssl missing, a TLS
// port in use. The after hook runs `cluster down` and SIGKILLs any pid seen.
//
// Environment: WARREN_BIN (default build/warren), WARREN_KEEP=1 keeps the
// cluster directory.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { runWarren, tail } from './lib/cluster.mjs';
import { LocalRuns, alive, freeRuns, tryListen } from './lib/local.mjs';
import { TelnetClient, OPT, WILL } from './lib/telnet.mjs';
import { Player, randomName, FAST_PWHASH } from './lib/mud.mjs';

const N = 3;
const runs = new LocalRuns();
after(() => runs.cleanup());

function show(r) {
    return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

function logs(dir) {
    const files = ['node1.log', 'node2.log', 'node3.log', 'nginx-error.log', 'tls.log'];
    return files.map((f) => `----- ${f} -----\n${tail(path.join(dir, f), 25)}`).join('\n');
}

/** A self-signed certificate for localhost that is not the cluster's: the
 * wrong CA of the controls. */
function otherCert(dir) {
    const cert = path.join(dir, 'other-cert.pem');
    const key = path.join(dir, 'other-key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    return fs.readFileSync(cert);
}

/** GET https://127.0.0.1:port/path trusting @ca; {status, server, body, cert}. */
function httpsGet(port, p, ca) {
    return new Promise((resolve, reject) => {
        const req = https.get({ host: '127.0.0.1', port, path: p, ca, timeout: 5000 }, (res) => {
            let body = '';
            const cert = res.socket.getPeerX509Certificate();
            const protocol = res.socket.getProtocol();
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode, server: res.headers.server, body, cert, protocol }));
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
    });
}

/** Plain GET http://127.0.0.1:port/path; {status, body}. */
function httpGet(port, p) {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: p, timeout: 5000 }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
    });
}

/** Join the arena over wss://127.0.0.1:port/ws trusting @ca, move once, and
 * resolve with {welcome, update, cert} once the move is acknowledged (an
 * update of our own player with seq 1). */
function wssJoinAndMove(port, ca, name, timeout = 10000) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { ca, handshakeTimeout: timeout });
        runs.sockets.add(ws);
        let welcome = null;
        let done = false;
        const finish = (err, value) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            ws.terminate();
            if (err) reject(err);
            else resolve(value);
        };
        const timer = setTimeout(() => finish(new Error(`${name}: no acknowledged move within ${timeout} ms`)), timeout);
        ws.on('open', () => ws.send(JSON.stringify({ t: 'join', name })));
        ws.on('message', (data) => {
            let m;
            try {
                m = JSON.parse(String(data));
            } catch {
                return;
            }
            if (m.t === 'welcome') {
                welcome = m;
                ws.send(JSON.stringify({ t: 'move', dir: m.x > 0 ? 'left' : 'right', seq: 1 }));
            } else if (m.t === 'update' && welcome && Array.isArray(m.players)) {
                const me = m.players.find((p) => p.id === welcome.id && p.seq >= 1);
                if (me) finish(null, { welcome, update: me, cert: ws._socket.getPeerX509Certificate() });
            } else if (m.t === 'error') {
                finish(new Error(`${name}: error frame ${JSON.stringify(m)}`));
            }
        });
        ws.on('unexpected-response', (req, res) => finish(new Error(`${name}: upgrade answered HTTP ${res.statusCode}`)));
        ws.on('error', (e) => finish(Object.assign(new Error(`${name}: ${e.message}`), { code: e.code })));
        ws.on('close', (code) => finish(new Error(`${name}: closed (code ${code}) before the ack`)));
    });
}

// Verification failures of a self-signed certificate that is not trusted.
const UNTRUSTED = /SELF_SIGNED|UNABLE_TO_VERIFY|CERT_SIGNATURE_FAILURE|UNABLE_TO_GET_ISSUER/;

test('cluster up --tls: usage errors, openssl missing, a TLS port in use', { timeout: 30000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-tls-cli-'));
    runs.dirs.push(dir);
    const help = await runWarren(['cluster', 'up', '--help']);
    assert.equal(help.code, 0, show(help));
    for (const opt of ['--tls', '--lb-tls-port', '--lb-telnet-tls-port']) assert.ok(help.stdout.includes(opt), `up --help documents ${opt}`);

    let r = await runWarren(['cluster', 'up', '--dir', dir, '--lb-tls-port', '4443']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /--lb-tls-port is for --tls/);

    const [P, Q, R, T, U, S, V] = await freeRuns([N, N, 1, N, 1, 1, 1]);
    const ports = ['--http-port', String(P), '--cluster-port', String(Q), '--lb-port', String(R), '--telnet-port', String(T),
        '--lb-telnet-port', String(U), '--lb-tls-port', String(S), '--lb-telnet-tls-port', String(V)];
    r = await runWarren(['cluster', 'up', '--tls', '--dir', dir, ...ports, '--lb-telnet-tls-port', String(R)]);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /overlap: lb .* and lb-telnet-tls/);

    r = await runWarren(['cluster', 'up', '--tls', '--dir', dir, ...ports], { env: { ...process.env, WARREN_OPENSSL: path.join(dir, 'no-openssl') } });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /install openssl: scripts\/install-deps\.sh/i);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.pid') || f.startsWith('tls-')), [], 'nothing started, no certificate');

    const held = await tryListen(S);
    assert.ok(held, `port ${S} free for the test to hold`);
    try {
        r = await runWarren(['cluster', 'up', '--tls', '--dir', dir, ...ports]);
    } finally {
        await new Promise((res) => held.close(res));
    }
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, new RegExp(`cannot use 127\\.0\\.0\\.1:${S} \\(nginx's --lb-tls-port\\): already in use`));
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.pid')), [], 'nothing started');
});

test('cluster up --tls: WSS, HTTPS and telnet over TLS through nginx, verified; wrong CA and plain clients refused', { timeout: 90000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-tls-'));
    runs.dirs.push(dir);
    const [P, Q, R, T, U, S, V] = await freeRuns([N, N, 1, N, 1, 1, 1]);
    const ports = ['--http-port', String(P), '--cluster-port', String(Q), '--lb-port', String(R), '--telnet-port', String(T),
        '--lb-telnet-port', String(U), '--lb-tls-port', String(S), '--lb-telnet-tls-port', String(V)];
    const upArgs = ['cluster', 'up', '--tls', '-n', String(N), '--dir', dir, ...ports, '--', ...FAST_PWHASH];
    let downDone = false;
    try {
        const up = await runWarren(upArgs, { timeout: 40000 });
        runs.readPids(dir);
        assert.equal(up.code, 0, show(up));
        assert.match(up.stdout, /TLS: made a self-signed certificate for localhost and 127\.0\.0\.1/);
        assert.ok(up.stdout.includes(`https://127.0.0.1:${S}/`), `up prints the HTTPS URL:\n${up.stdout}`);
        assert.ok(up.stdout.includes(`telnet over TLS on 127.0.0.1 ${V}`), `up prints the telnet TLS port:\n${up.stdout}`);

        // The pair in DIR: key 0600, a certificate for localhost and 127.0.0.1.
        const certFile = path.join(dir, 'tls-cert.pem');
        const ca = fs.readFileSync(certFile);
        assert.equal(fs.statSync(path.join(dir, 'tls-key.pem')).mode & 0o777, 0o600, 'the key is mode 0600');
        const x509 = new crypto.X509Certificate(ca);
        assert.match(x509.subjectAltName, /DNS:localhost/);
        assert.match(x509.subjectAltName, /IP Address:127\.0\.0\.1/);
        const conf = fs.readFileSync(path.join(dir, 'cluster.conf'), 'utf8');
        assert.match(conf, new RegExp(`^lb-tls-port ${S}$`, 'm'));
        assert.match(conf, new RegExp(`^lb-telnet-tls-port ${V}$`, 'm'));
        const st = await runWarren(['cluster', 'status', '--dir', dir]);
        assert.equal(st.code, 0, show(st));
        assert.ok(st.stdout.includes(`https://127.0.0.1:${S}/`) && st.stdout.includes(`127.0.0.1 ${V}`), `status shows the TLS ports:\n${st.stdout}`);

        // HTTPS: nginx answers with the node's /api/cluster, over TLS 1.2+
        // with the certificate from DIR.
        const info = await httpsGet(S, '/api/cluster', ca);
        assert.equal(info.status, 200, info.body);
        assert.match(info.server || '', /nginx/);
        assert.equal(JSON.parse(info.body).nodes.length, N);
        assert.match(info.protocol, /^TLSv1\.[23]$/);
        assert.equal(info.cert.fingerprint256, x509.fingerprint256, 'the HTTPS port serves the certificate in DIR');

        // (1) WSS: join the arena, one move acknowledged.
        const arena = await wssJoinAndMove(S, ca, 'tlstest');
        assert.equal(arena.welcome.name, 'tlstest');
        assert.equal(arena.update.seq, 1);
        assert.equal(arena.cert.fingerprint256, x509.fingerprint256, 'the WSS connection is TLS with our certificate');

        // (2) Telnet over TLS: real negotiation, then a new character.
        const t = await TelnetClient.connect(V, '127.0.0.1', { stripAnsi: true, label: 'telnet-tls', tls: { ca } });
        runs.sockets.add(t.socket);
        assert.equal(t.socket.authorized, true, 'the telnet TLS peer is verified');
        assert.equal(t.socket.getPeerX509Certificate().fingerprint256, x509.fingerprint256);
        const p = new Player(t, 'telnet-tls');
        const name = randomName('Tl');
        await p.create(name, 'tls-pass-1', { timeout: 20000 });
        assert.ok(t.received.some(([cmd, opt]) => cmd === WILL && opt === OPT.GMCP), 'the server offered GMCP through TLS');
        assert.ok(t.local.has(OPT.NAWS) && t.local.has(OPT.TTYPE), `NAWS and TTYPE agreed through TLS (local: ${[...t.local]})`);
        assert.ok(t.gmcp('Room.Info'), 'GMCP Room.Info arrived through TLS');
        await p.cmd('quit', 'Goodbye.');
        t.close();

        // (3) Controls. A client trusting another certificate is refused by
        // verification, on both TLS ports.
        const wrong = otherCert(dir);
        await assert.rejects(wssJoinAndMove(S, wrong, 'tlswrong', 5000), (e) => UNTRUSTED.test(e.code || '') || /self[- ]signed|verify/i.test(e.message));
        await assert.rejects(httpsGet(S, '/api/cluster', wrong), (e) => UNTRUSTED.test(e.code || ''));
        await assert.rejects(
            TelnetClient.connect(V, '127.0.0.1', { label: 'telnet-wrong-ca', tls: { ca: wrong } }),
            /self[- ]signed|unable to verify|certificate/i,
        );
        // Plain HTTP to the HTTPS port: nginx's "plain HTTP request was sent
        // to HTTPS port", never the game.
        const plain = await httpGet(S, '/api/cluster');
        assert.equal(plain.status, 400, plain.body);
        assert.match(plain.body, /plain HTTP request was sent to HTTPS port/);
        // Plain telnet to the telnet TLS port: the bytes are no TLS
        // handshake, nginx closes, the MUD's greeting never comes.
        const raw = await TelnetClient.connect(V, '127.0.0.1', { label: 'plain-to-tls' });
        runs.sockets.add(raw.socket);
        raw.send('hello');
        await assert.rejects(raw.waitFor(/By what name are you known\?/, 5000));
        raw.close();

        // A second up reuses the certificate (down first).
        let r = await runWarren(['cluster', 'down', '--dir', dir], { timeout: 20000 });
        assert.equal(r.code, 0, show(r));
        r = await runWarren(upArgs, { timeout: 40000 });
        runs.readPids(dir);
        assert.equal(r.code, 0, show(r));
        assert.match(r.stdout, /TLS: reusing the certificate already in .*tls-cert\.pem/);
        assert.deepEqual(fs.readFileSync(certFile), ca, 'the same certificate');
        const again = await httpsGet(S, '/healthz', ca);
        assert.equal(again.status, 200, again.body);

        // (4) down stops everything.
        const pids = runs.readPids(dir);
        assert.deepEqual(Object.keys(pids).sort(), ['nginx', 'node1', 'node2', 'node3']);
        const down = await runWarren(['cluster', 'down', '--dir', dir], { timeout: 20000 });
        downDone = true;
        assert.equal(down.code, 0, show(down));
        for (const [n, pid] of Object.entries(pids)) assert.ok(!alive(pid), `${n} (pid ${pid}) is gone after down`);
        assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.pid')), [], 'down removes the pid files');
        await assert.rejects(httpsGet(S, '/healthz', ca), /ECONNREFUSED/);
    } catch (e) {
        console.error(logs(dir));
        throw e;
    } finally {
        if (!downDone) await runWarren(['cluster', 'down', '--dir', dir], { timeout: 20000 });
    }
});
