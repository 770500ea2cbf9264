// `warren cluster`: the local cluster behind nginx, driven as a user would
// (src/local/). `cluster up` returns with 3 nodes and nginx running in the
// background; HTTP and WebSocket work through nginx; `cluster status` sees
// them; after `cluster kill-node <leader>` nginx's passive failure detection
// routes new sessions around the dead node; `cluster restart-node` brings it
// back; `cluster down` leaves no process of the pid files behind. Telnet
// through nginx carries the player's address to the node (PROXY protocol):
// a failed login is logged, and throttled, under the client's own
// 127.0.0.1:<source port>, not nginx's. Whatever
// happens, the after hook runs `cluster down` and SIGKILLs any pid it saw.
//
// Environment: WARREN_BIN (default build/warren), WARREN_KEEP=1 keeps the
// cluster directory.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { runWarren, waitFor, tail, delay } from './lib/cluster.mjs';
import { LocalRuns, alive, freeRuns } from './lib/local.mjs';
import { TelnetClient } from './lib/telnet.mjs';
import { Player, randomName } from './lib/mud.mjs';

const N = 3;
const runs = new LocalRuns();
after(() => runs.cleanup());

/** Open ws://127.0.0.1:port/ws, join as `name`, resolve {ws, welcome}. */
function joinVia(port, name, timeout = 8000) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { handshakeTimeout: timeout });
        runs.sockets.add(ws);
        let done = false;
        const finish = (err, value) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            if (err) {
                ws.terminate();
                reject(err);
            } else {
                resolve(value);
            }
        };
        const timer = setTimeout(() => finish(new Error(`${name}: no welcome within ${timeout} ms`)), timeout);
        ws.on('open', () => ws.send(JSON.stringify({ t: 'join', name })));
        ws.on('message', (data) => {
            let m;
            try {
                m = JSON.parse(String(data));
            } catch {
                return;
            }
            if (m && m.t === 'welcome') finish(null, { ws, welcome: m });
            else if (m && m.t === 'error') finish(new Error(`${name}: error frame ${JSON.stringify(m)}`));
        });
        ws.on('unexpected-response', (req, res) => finish(new Error(`${name}: upgrade answered HTTP ${res.statusCode}`)));
        ws.on('error', (e) => finish(new Error(`${name}: ${e.message}`)));
        ws.on('close', (code) => finish(new Error(`${name}: closed (code ${code}) before the welcome`)));
    });
}

async function getJson(url) {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    const body = await r.text();
    return { status: r.status, server: r.headers.get('server'), body, json: r.status === 200 ? JSON.parse(body) : null };
}

function logs(dir) {
    const files = ['node1.log', 'node2.log', 'node3.log', 'nginx-error.log'];
    return files.map((f) => `----- ${f} -----\n${tail(path.join(dir, f), 25)}`).join('\n');
}

function show(r) {
    return `exit ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

test('cluster CLI: help, usage errors, no cluster', { timeout: 30000 }, async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-local-empty-'));
    runs.dirs.push(empty);
    let r = await runWarren(['cluster', '--help']);
    assert.equal(r.code, 0, show(r));
    for (const cmd of ['up', 'down', 'status', 'kill-node', 'restart-node']) {
        assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`));
        const h = await runWarren(['cluster', cmd, '--help']);
        assert.equal(h.code, 0, show(h));
        assert.match(h.stdout, new RegExp(`^usage: warren cluster ${cmd}`));
    }
    r = await runWarren(['cluster', 'up', '--bogus']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /unknown option '--bogus'/);
    r = await runWarren(['cluster', 'frobnicate']);
    assert.equal(r.code, 2, show(r));
    r = await runWarren(['cluster', 'kill-node', '--dir', empty]);
    assert.equal(r.code, 2, show(r));
    r = await runWarren(['cluster', 'up', '--http-port', '4000', '--lb-port', '4001']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /overlap/);
    r = await runWarren(['cluster', 'status', '--dir', empty]);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /no cluster/);
    r = await runWarren(['cluster', 'down', '--dir', empty]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /No cluster is running/);
});

test('cluster up behind nginx: HTTP and WebSocket through nginx, kill the leader, down', { timeout: 120000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-local-'));
    runs.dirs.push(dir);
    const [P, Q, R, T, U] = await freeRuns([N, N, 1, N, 1]);
    const ports = ['--http-port', String(P), '--cluster-port', String(Q), '--lb-port', String(R), '--telnet-port', String(T), '--lb-telnet-port', String(U)];
    let downDone = false;
    try {
        // up: returns 0 with everything running in the background. execFile
        // also waits for our stdout to close, so this fails (times out) if a
        // child kept the pipe.
        const up = await runWarren(
            ['cluster', 'up', '-n', String(N), '--dir', dir, ...ports],
            { timeout: 40000 },
        );
        runs.readPids(dir);
        assert.equal(up.code, 0, show(up));
        assert.ok(up.stdout.includes(`http://127.0.0.1:${R}/`), `up prints the game URL:\n${up.stdout}`);
        assert.ok(up.stdout.includes(`ctl --node 127.0.0.1:${P} status`), `up prints the ctl command:\n${up.stdout}`);
        assert.ok(up.stdout.includes(`http://127.0.0.1:${R}/play`), `up prints the MUD URL:\n${up.stdout}`);
        assert.ok(up.stdout.includes(`telnet 127.0.0.1 ${U}`), `up prints the telnet command:\n${up.stdout}`);
        assert.ok(up.stdout.includes(`telnet 127.0.0.1:${T + N - 1}`), `up prints each node's telnet port:\n${up.stdout}`);
        // nginx's stream block listens on the telnet port (whether the
        // nodes serve telnet yet or not).
        await new Promise((resolve, reject) => {
            const sock = net.connect({ host: '127.0.0.1', port: U }, () => { sock.destroy(); resolve(); });
            sock.on('error', reject);
        });
        const pids = runs.readPids(dir);
        assert.deepEqual(Object.keys(pids).sort(), ['nginx', 'node1', 'node2', 'node3']);
        for (const [name, pid] of Object.entries(pids)) assert.ok(alive(pid), `${name} (pid ${pid}) runs after up returned`);
        const cookie = fs.statSync(path.join(dir, 'cookie'));
        assert.equal(cookie.mode & 0o777, 0o600, 'cookie is mode 0600');
        assert.ok(cookie.size >= 32, 'cookie holds the secret');
        // The admin token up made: ctl given it may change the cluster
        // (role lookup of an unknown character: 404 from the MUD, past the
        // token check); the process-wide test token is refused (401).
        const tokenFile = path.join(dir, 'admin-token');
        assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600, 'admin-token is mode 0600');
        const withToken = await runWarren(['ctl', '--node', `127.0.0.1:${P}`, '--admin-token-file', tokenFile, 'role', 'Nobody']);
        assert.doesNotMatch(withToken.stderr, /401/, show(withToken));
        assert.match(withToken.stderr + withToken.stdout, /no character|not found|404|no world|not loaded/i, show(withToken));
        const otherToken = await runWarren(['ctl', '--node', `127.0.0.1:${P}`, 'role', 'Nobody']);
        assert.match(otherToken.stderr, /wrong admin token/, show(otherToken));

        // A second up on the same dir is refused.
        const again = await runWarren(['cluster', 'up', '--dir', dir, ...ports]);
        assert.equal(again.code, 1, show(again));
        assert.match(again.stderr, /already running/);

        // HTTP through nginx.
        const info = await getJson(`http://127.0.0.1:${R}/api/cluster`);
        assert.equal(info.status, 200, info.body);
        assert.match(info.server || '', /nginx/);
        assert.equal(info.json.nodes.length, N);

        // WebSocket through nginx.
        const first = await joinVia(R, 'lbtest');
        assert.equal(first.welcome.name, 'lbtest');

        // Telnet through nginx: nginx sends a PROXY v1 line, so the node
        // sees this client's own source port (not nginx's connection's).
        // A failed login logs the address the throttle counts.
        const name = randomName('Px');
        const lbPlayer = async (label) => new Player(await TelnetClient.connect(U, '127.0.0.1', { stripAnsi: true, label }), label);
        const p1 = await lbPlayer('lb-telnet-1');
        await p1.create(name, 'proxy-pass-1', { timeout: 20000 });
        await p1.cmd('quit', 'Goodbye.');
        p1.t.close();
        const p2 = await lbPlayer('lb-telnet-2');
        const sport = p2.t.socket.localPort;
        await p2.t.waitFor(/By what name are you known\? $/, 10000);
        p2.t.send(name);
        await p2.t.waitFor('Password: ', 10000);
        p2.t.send('wrong-password');
        await p2.t.waitFor('Wrong password.', 10000);
        const want = `mud: failed login for ${name} from 127.0.0.1:${sport}`;
        await waitFor(
            () => [1, 2, 3].some((i) => tail(path.join(dir, `node${i}.log`), 400).includes(want)),
            { timeout: 5000, interval: 100, what: `"${want}" in a node log` },
        );
        p2.t.close();
        // Positive control for the trust list: a direct connection to a
        // node's own port (from 127.0.0.1, a trusted address) without a
        // PROXY line is plain telnet.
        const direct = await TelnetClient.connect(T, '127.0.0.1', { stripAnsi: true, label: 'direct' });
        await direct.waitFor(/By what name are you known\? $/, 10000);
        direct.close();

        // status: every process runs, three nodes listed.
        const st = await runWarren(['cluster', 'status', '--dir', dir]);
        assert.equal(st.code, 0, show(st));
        for (let i = 1; i <= N; i++) {
            assert.match(st.stdout, new RegExp(`^node ${i}\\s+${pids[`node${i}`]}\\s+running`, 'm'));
            assert.match(st.stdout, new RegExp(`^${i}\\s+(leader|follower|candidate)\\s`, 'm'));
        }
        assert.match(st.stdout, /^nginx\s+\d+\s+running/m);
        assert.match(st.stdout, /^state: /m);

        // Kill the leader.
        const leader = await waitFor(
            async () => {
                const r = await getJson(`http://127.0.0.1:${R}/api/cluster`);
                return r.json && r.json.leader;
            },
            { timeout: 10000, interval: 100, what: 'a known leader' },
        );
        const kill = await runWarren(['cluster', 'kill-node', String(leader), '--dir', dir]);
        assert.equal(kill.code, 0, show(kill));
        assert.ok(!alive(pids[`node${leader}`]), `node ${leader} is dead after kill-node`);

        // Plain requests through nginx keep working at once: the dead node
        // refuses the connection and nginx tries the next one.
        for (let k = 0; k < 2 * N; k++) {
            const r = await getJson(`http://127.0.0.1:${R}/api/cluster`);
            assert.equal(r.status, 200, `request ${k} through nginx after the kill: ${r.status} ${r.body}`);
            assert.notEqual(r.json.id, leader);
        }

        // And a new session joins, on a survivor (a few bounded tries: the
        // join waits for the new leader).
        let joined = null;
        const errors = [];
        for (let attempt = 0; attempt < 3 && !joined; attempt++) {
            try {
                joined = await joinVia(R, `lbtest${attempt + 2}`);
            } catch (e) {
                errors.push(e.message);
                await delay(500);
            }
        }
        assert.ok(joined, `a WebSocket through nginx joins after the leader died: ${errors.join('; ')}`);
        assert.notEqual(joined.welcome.node, leader);

        // restart-node brings the killed node back with the recorded flags.
        const restart = await runWarren(['cluster', 'restart-node', String(leader), '--dir', dir], { timeout: 30000 });
        assert.equal(restart.code, 0, show(restart));
        const restarted = runs.readPids(dir)[`node${leader}`];
        assert.ok(restarted && restarted !== pids[`node${leader}`] && alive(restarted), `node ${leader} runs again (pid ${restarted})`);
        pids[`node${leader}`] = restarted;
        const st2 = await runWarren(['cluster', 'status', '--dir', dir]);
        assert.equal(st2.code, 0, show(st2));

        // down: everything stops; no pid file, no process.
        const down = await runWarren(['cluster', 'down', '--dir', dir], { timeout: 20000 });
        downDone = true;
        assert.equal(down.code, 0, show(down));
        assert.match(down.stdout, /stopped nginx/);
        for (const [name, pid] of Object.entries(pids)) assert.ok(!alive(pid), `${name} (pid ${pid}) is gone after down`);
        assert.deepEqual(
            fs.readdirSync(dir).filter((f) => f.endsWith('.pid')),
            [],
            'down removes the pid files',
        );
        const down2 = await runWarren(['cluster', 'down', '--dir', dir]);
        assert.equal(down2.code, 0, show(down2));
        assert.match(down2.stdout, /No cluster is running/);
    } catch (e) {
        console.error(logs(dir));
        throw e;
    } finally {
        if (!downDone) await runWarren(['cluster', 'down', '--dir', dir], { timeout: 20000 });
    }
});
