// Black-box harness for Warren cluster tests (style habit 23): starts real
// `warren node` processes on loopback with ephemeral ports, talks to them
// over HTTP and WebSocket only, and waits with bounded polls, never with a
// sleep for correctness. Every process it starts is killed when the test
// process exits, whatever happened.
//
//   const c = await startCluster({ n: 3, name: 'my-test' });
//   const leader = await c.leader();
//   ...
//   await c.stop();
//
// Environment:
//   WARREN_BIN   binary to run (default build/warren; e.g. build-san/warren)
//   WARREN_KEEP  1 = keep the temp dirs (data dirs, cookie) after the test
//   WARREN_TRACE 1 = print harness progress lines

import { spawn, execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';

export { delay };

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ARTIFACTS = path.join(REPO, 'tests', 'artifacts');

export function warrenBin() {
    const b = process.env.WARREN_BIN || 'build/warren';
    return path.isAbsolute(b) ? b : path.join(REPO, b);
}

export function trace(...args) {
    if (process.env.WARREN_TRACE === '1') console.log('[harness]', ...args);
}

/* ------------------------------------------------------------------ */
/* Process hygiene: nothing we start outlives us.                      */

const liveProcs = new Set();
const liveClusters = new Set();

function killAllSync() {
    for (const p of liveProcs) {
        try {
            p.kill('SIGKILL');
        } catch {
            /* already gone */
        }
    }
    liveProcs.clear();
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
        killAllSync();
        process.exit(128 + (os.constants.signals[sig] || 1));
    });
}

/** Stop every cluster this process started and has not stopped yet. */
export async function stopAllClusters() {
    for (const c of [...liveClusters]) await c.stop().catch(() => {});
}

/* ------------------------------------------------------------------ */
/* Small utilities.                                                    */

const handedOut = new Set();

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Chosen below the
 * kernel's ephemeral range (32768-60999), not with bind :0: a node that keeps
 * dialling a killed peer's ephemeral port can end up connected to itself on
 * it (TCP simultaneous open) and squat the port the peer restarts on.
 */
export async function freePort() {
    const tryBind = (port) =>
        new Promise((resolve) => {
            const s = net.createServer();
            s.unref();
            s.once('error', () => resolve(false));
            s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
        });
    for (let i = 0; i < 200; i++) {
        const port = 10000 + crypto.randomInt(22000);
        if (handedOut.has(port)) continue;
        if (await tryBind(port)) {
            handedOut.add(port);
            return port;
        }
    }
    throw new Error('freePort: no free port below 32768 after 200 tries');
}

function short(v, n = 400) {
    let s;
    try {
        s = typeof v === 'string' ? v : JSON.stringify(v);
    } catch {
        s = String(v);
    }
    if (s === undefined) s = String(v);
    return s.length > n ? s.slice(0, n) + '…' : s;
}

/**
 * Bounded polling. Calls fn() every `interval` ms until it returns a truthy
 * value (returned) or `timeout` ms have passed (throws, naming `what` and the
 * last value or error seen). Exceptions thrown by fn count as "not yet",
 * except errors marked fatal (err.fatal = true), which are rethrown at once.
 */
export async function waitFor(fn, { timeout = 10000, interval = 20, what = 'condition' } = {}) {
    const start = Date.now();
    let last;
    let lastErr;
    let tries = 0;
    const maxTries = Math.ceil(timeout / Math.max(1, interval)) + 1000;
    while (tries++ < maxTries) {
        try {
            last = await fn();
            lastErr = undefined;
            if (last) return last;
        } catch (e) {
            if (e && e.fatal) throw e;
            lastErr = e;
        }
        if (Date.now() - start >= timeout) break;
        await delay(interval);
    }
    const detail = lastErr ? `last error: ${lastErr.message || lastErr}` : `last value: ${short(last)}`;
    throw new Error(`timed out after ${Date.now() - start} ms waiting for ${what} (${detail})`);
}

/**
 * The opposite of waitFor: check(…) must hold (not throw) on every poll for
 * `duration` ms. Used for "X never happens within T" observations.
 */
export async function holdFor(check, { duration = 1000, interval = 50, what = 'condition' } = {}) {
    const start = Date.now();
    let polls = 0;
    const maxPolls = Math.ceil(duration / Math.max(1, interval)) + 1000;
    while (polls++ < maxPolls) {
        try {
            await check();
        } catch (e) {
            e.message = `${what} broke after ${Date.now() - start} ms: ${e.message}`;
            throw e;
        }
        if (Date.now() - start >= duration) return polls;
        await delay(interval);
    }
    return polls;
}

/**
 * Resolve with what `p` resolves to, or with `onTimeout` after `ms` ms,
 * whichever comes first; the timer is cleared either way (so a pending
 * timeout never keeps the test process alive).
 */
export function raceTimeout(p, ms, onTimeout = null) {
    let timer;
    const t = new Promise((resolve) => {
        timer = setTimeout(() => resolve(onTimeout), ms);
    });
    return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * The log index a node's state_hash belongs to (an /api/cluster or
 * /api/state answer): state_hash_index, or applied_index from a release
 * that hashed on every request. Compare hashes only at equal hash indexes.
 */
export function hashIndex(v) {
    return Number.isInteger(v.state_hash_index) ? v.state_hash_index : v.applied_index;
}

export function fatal(msg) {
    const e = new Error(msg);
    e.fatal = true;
    return e;
}

/** Last `n` lines of a file ('' if missing). */
export function tail(file, n = 40) {
    let text;
    try {
        text = fs.readFileSync(file, 'utf8');
    } catch {
        return '';
    }
    const lines = text.split('\n');
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n).join('\n');
}

function sanitizeName(s) {
    return String(s || 'test').replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 80);
}

/*
 * The admin token every cluster of this process is started with
 * (--admin-token-file) and that runWarren hands to `warren ctl` through
 * WARREN_ADMIN_TOKEN_FILE, as an operator's ctl reads it. A test that needs
 * another token or none passes opts.adminTokenFile (null: no flag).
 */
let adminTokenPath = null;
export function adminTokenFile() {
    if (adminTokenPath === null) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-admin-'));
        adminTokenPath = path.join(dir, 'admin-token');
        fs.writeFileSync(adminTokenPath, crypto.randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
        process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    }
    return adminTokenPath;
}
export function adminToken() {
    return fs.readFileSync(adminTokenFile(), 'utf8').trim();
}

/** Run `warren ARGS...` (or another binary, `bin`) to completion:
 * {code, signal, stdout, stderr}. */
export function runWarren(args, { timeout = 15000, env, bin } = {}) {
    return new Promise((resolve) => {
        const e = env || { ...process.env, WARREN_ADMIN_TOKEN_FILE: adminTokenFile() };
        execFile(bin || warrenBin(), args, { timeout, maxBuffer: 8 << 20, env: e }, (err, stdout, stderr) => {
            let code = 0;
            let signal = null;
            if (err) {
                code = typeof err.code === 'number' ? err.code : null;
                signal = err.signal || null;
                if (code === null && !signal) stderr += `\n[harness] ${err.message}`;
            }
            resolve({ code, signal, stdout: String(stdout), stderr: String(stderr) });
        });
    });
}

/* ------------------------------------------------------------------ */
/* The cluster.                                                        */

const SANITIZER_RE = /ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|runtime error:|SUMMARY: (Address|Leak|Undefined)/;

class Node {
    constructor(cluster, id) {
        this.cluster = cluster;
        this.id = id;
        this.host = '127.0.0.1'; // bind IP for --cluster and --http (opts.hosts)
        this.commandPrefix = []; // e.g. ['ip', 'netns', 'exec', NS] (opts.commandPrefix)
        this.httpPort = 0;
        this.clusterPort = 0;
        this.telnetPort = 0; // 0: no --telnet (opts.telnet)
        this.dir = '';
        this.dataDir = '';
        this.cookieFile = '';
        this.logFile = '';
        this.proc = null;
        this.exit = null; // {code, signal} of the last run
        this.expectExit = false;
        this.starts = 0;
        this.unexpectedExits = [];
        this.args = null; // Cluster.addNode: arguments instead of --peers
    }
    get alive() {
        return this.proc !== null && this.exit === null;
    }
    get http() {
        return `${this.host}:${this.httpPort}`;
    }
    get clusterAddr() {
        return `${this.host}:${this.clusterPort}`;
    }
    get telnet() {
        return `${this.host}:${this.telnetPort}`;
    }
}

export class Cluster {
    constructor(opts) {
        this.opts = opts;
        this.name = sanitizeName(opts.name);
        this.nodes = [];
        this.clients = new Set();
        this.stopped = false;
        this.artifactDir = opts.artifactDir || path.join(ARTIFACTS, this.name);
        this.tmp = '';
    }

    node(id) {
        const n = this.nodes.find((x) => x.id === id);
        if (!n) throw new Error(`no node ${id} in cluster ${this.name}`);
        return n;
    }

    liveIds() {
        return this.nodes.filter((n) => n.alive).map((n) => n.id);
    }

    majority() {
        return Math.floor(this.nodes.length / 2) + 1;
    }

    /** Node `id`'s telnet port; only for clusters started with `telnet: true`. */
    telnetPort(id) {
        const n = this.node(id);
        if (!n.telnetPort) throw new Error(`cluster ${this.name} has no telnet listeners (start it with telnet: true)`);
        return n.telnetPort;
    }

    peersArg() {
        return this.nodes.map((n) => `${n.id}=${n.clusterAddr}`).join(',');
    }

    argsFor(n) {
        const a = ['node', '--id', String(n.id), '--cluster', n.clusterAddr, '--http', n.http];
        if (n.telnetPort) a.push('--telnet', n.telnet);
        if (!this.opts.single && !n.args) a.push('--peers', this.peersArg());
        a.push('--data', n.dataDir, '--cookie-file', n.cookieFile);
        const token = this.opts.adminTokenFile === undefined ? adminTokenFile() : this.opts.adminTokenFile;
        if (token) a.push('--admin-token-file', token);
        if (this.opts.electionTimeout) a.push('--election-timeout', String(this.opts.electionTimeout));
        if (this.opts.heartbeat) a.push('--heartbeat', String(this.opts.heartbeat));
        if (this.opts.extraArgs) a.push(...this.opts.extraArgs);
        if (this.opts.nodeArgs) a.push(...this.opts.nodeArgs(n.id));
        if (n.args) a.push(...n.args);
        return a;
    }

    async _newNode(id) {
        const n = new Node(this, id);
        const h = this.opts.hosts;
        const host = typeof h === 'function' ? h(id) : h && h[id];
        if (host) n.host = host;
        const pre = this.opts.commandPrefix;
        const prefix = typeof pre === 'function' ? pre(id) : pre && pre[id];
        if (prefix) n.commandPrefix = [...prefix];
        n.httpPort = await freePort();
        n.clusterPort = await freePort();
        if (this.opts.telnet) n.telnetPort = await freePort();
        n.dir = path.join(this.tmp, `node${id}`);
        fs.mkdirSync(n.dir, { recursive: true });
        n.dataDir = path.join(n.dir, 'data');
        n.cookieFile = path.join(n.dir, 'cookie');
        const s = (this.opts.secrets && this.opts.secrets[id]) || this.secret;
        fs.writeFileSync(n.cookieFile, s + '\n', { mode: 0o600 });
        n.logFile = path.join(this.artifactDir, `node${id}.log`);
        this.nodes.push(n);
        return n;
    }

    /**
     * A node beyond the first ones (live membership): fresh ports, data dir
     * and log, the cluster's secret, not started (start(id) does). Its
     * command line is the usual one with `args` in place of --peers, e.g.
     * ['--join', c.node(1).clusterAddr]; set node.args again to change it.
     * The nodes started at first keep their command lines, except that
     * --peers lists added nodes too (read on the first start only).
     */
    async addNode(id, { args = [] } = {}) {
        if (this.nodes.some((x) => x.id === id)) throw new Error(`cluster ${this.name} already has a node ${id}`);
        const n = await this._newNode(id);
        n.args = [...args];
        return n;
    }

    /** Node `id`'s next exit is expected (it was removed, or must refuse to start). */
    expectExit(id) {
        this.node(id).expectExit = true;
    }

    /** Wait (bounded) until node `id` has exited; resolves {code, signal}. */
    async waitExit(id, { timeout = 10000 } = {}) {
        const n = this.node(id);
        if (n.exit) return n.exit;
        const proc = n.proc;
        const r = await raceTimeout(new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal }))), timeout);
        if (r === null) throw new Error(`node ${id} did not exit within ${timeout} ms`);
        return r;
    }

    async _setup() {
        const bin = warrenBin();
        if (!fs.existsSync(bin)) throw new Error(`warren binary not found at ${bin} (run make, or set WARREN_BIN)`);
        fs.rmSync(this.artifactDir, { recursive: true, force: true });
        fs.mkdirSync(this.artifactDir, { recursive: true });
        this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `warren-${this.name}-`));
        this.secret = crypto.randomBytes(16).toString('hex');
        const ids = this.opts.ids || Array.from({ length: this.opts.n }, (_, i) => i + 1);
        for (const id of ids) await this._newNode(id);
        fs.writeFileSync(
            path.join(this.artifactDir, 'cluster.json'),
            JSON.stringify(
                this.nodes.map((n) => ({
                    id: n.id,
                    http: n.http,
                    cluster: n.clusterAddr,
                    ...(n.telnetPort ? { telnet: n.telnet } : {}),
                    data: n.dataDir,
                    ...(n.commandPrefix.length ? { prefix: n.commandPrefix } : {}),
                    args: this.argsFor(n),
                })),
                null,
                2,
            ),
        );
    }

    /**
     * Start node `id` (first start or restart on the same dir and ports).
     * Waits for /healthz unless waitHealthy is false; expectExit: the node
     * is meant to stop by itself (e.g. refuse to start), not a failure.
     */
    async start(id, { waitHealthy = true, expectExit = false } = {}) {
        const n = this.node(id);
        if (n.alive) throw new Error(`node ${id} is already running (pid ${n.proc.pid})`);
        const fd = fs.openSync(n.logFile, 'a');
        const cmd = [...n.commandPrefix, warrenBin(), ...this.argsFor(n)];
        fs.writeSync(fd, `==== harness: start #${n.starts + 1} of node ${id} at ${new Date().toISOString()}: ${cmd.join(' ')}\n`);
        const env = { ...process.env, ...(this.opts.env || {}) };
        if (!env.ASAN_OPTIONS) env.ASAN_OPTIONS = 'abort_on_error=0:detect_leaks=1';
        // With a prefix like `ip netns exec NS`, that command execs the node
        // in place, so proc.pid is still the node's pid (signals reach it).
        const proc = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', fd, fd], env });
        fs.closeSync(fd);
        n.proc = proc;
        n.exit = null;
        n.expectExit = expectExit;
        n.starts++;
        liveProcs.add(proc);
        proc.on('error', (e) => {
            fs.appendFileSync(n.logFile, `==== harness: spawn error: ${e.message}\n`);
        });
        proc.on('exit', (code, signal) => {
            liveProcs.delete(proc);
            if (n.proc === proc) {
                n.exit = { code, signal };
                if (!n.expectExit) n.unexpectedExits.push({ code, signal, at: new Date().toISOString() });
            }
            if (this.opts.onExit) this.opts.onExit(n, proc.pid, code, signal, n.proc !== proc || n.expectExit);
            try {
                fs.appendFileSync(n.logFile, `==== harness: node ${id} exited code=${code} signal=${signal}${n.expectExit ? '' : ' (UNEXPECTED)'}\n`);
            } catch {
                /* artifacts dir removed */
            }
        });
        trace(`started node ${id} pid ${proc.pid}`);
        if (waitHealthy) {
            await waitFor(
                async () => {
                    if (!n.alive) throw fatal(`node ${id} exited during startup (${JSON.stringify(n.exit)}); log tail:\n${tail(n.logFile, 20)}`);
                    const r = await this.http(id, '/healthz');
                    return r.status === 200;
                },
                { timeout: 10000, interval: 25, what: `node ${id} /healthz` },
            );
        }
        return n;
    }

    /** Send `signal` to node `id` and wait (bounded) until it has exited. */
    async kill(id, signal = 'SIGKILL', { timeout = 5000 } = {}) {
        const n = this.node(id);
        if (!n.alive) return n.exit;
        n.expectExit = true;
        const proc = n.proc;
        const exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve({ code, signal: sig })));
        proc.kill(signal);
        const r = await raceTimeout(exited, timeout);
        if (r === null) {
            proc.kill('SIGKILL');
            await raceTimeout(exited, 5000);
            throw new Error(`node ${id} did not exit within ${timeout} ms of ${signal}; SIGKILLed`);
        }
        trace(`node ${id} exited after ${signal}: ${JSON.stringify(r)}`);
        return r;
    }

    /** Restart node `id` on its data dir and ports. */
    async restart(id, opts) {
        const n = this.node(id);
        if (n.alive) await this.kill(id, 'SIGTERM');
        return this.start(id, opts);
    }

    /**
     * Stop everything: close clients, SIGTERM every live node, wait; SIGKILL
     * whatever is left after 5 s. Returns {id: {code, signal}} for the nodes
     * that were running. Idempotent.
     */
    async stop() {
        const result = {};
        for (const cl of this.clients) cl.terminate();
        this.clients.clear();
        if (this.stopped) return result;
        this.stopped = true;
        liveClusters.delete(this);
        const running = this.nodes.filter((n) => n.alive);
        await Promise.all(
            running.map(async (n) => {
                n.expectExit = true;
                const proc = n.proc;
                const exited = new Promise((resolve) => {
                    if (n.exit) resolve(n.exit);
                    else proc.once('exit', (code, signal) => resolve({ code, signal }));
                });
                proc.kill('SIGTERM');
                let r = await raceTimeout(exited, 5000);
                if (r === null) {
                    fs.appendFileSync(n.logFile, '==== harness: no exit 5 s after SIGTERM, sending SIGKILL\n');
                    proc.kill('SIGKILL');
                    r = await raceTimeout(exited, 5000, { code: null, signal: 'SIGKILL', stuck: true });
                    r = { ...r, timedOut: true };
                }
                result[n.id] = r;
            }),
        );
        if (this.opts.afterStop) await this.opts.afterStop(this);
        if (process.env.WARREN_KEEP !== '1' && this.tmp) fs.rmSync(this.tmp, { recursive: true, force: true });
        return result;
    }

    /** Print the last `lines` lines of every node's log (on failure). */
    dumpLogs(lines = 40, out = console.error) {
        for (const n of this.nodes) {
            out(`----- ${this.name} node ${n.id} (${n.logFile}), last ${lines} lines -----\n${tail(n.logFile, lines)}`);
        }
    }

    /** Sanitizer reports and unexpected exits seen so far, as strings. */
    problems() {
        const out = [];
        for (const n of this.nodes) {
            for (const e of n.unexpectedExits) out.push(`node ${n.id} exited unexpectedly: code=${e.code} signal=${e.signal} at ${e.at}`);
            let text = '';
            try {
                text = fs.readFileSync(n.logFile, 'utf8');
            } catch {
                /* none */
            }
            const hit = text.split('\n').find((l) => SANITIZER_RE.test(l));
            if (hit) out.push(`node ${n.id} log has a sanitizer report: ${hit.trim()}`);
        }
        return out;
    }

    logText(id) {
        try {
            return fs.readFileSync(this.node(id).logFile, 'utf8');
        } catch {
            return '';
        }
    }

    /** GET http://node/path with a 1 s timeout: {status, text, headers}. */
    async http(id, p, { timeout = 1000 } = {}) {
        const n = this.node(id);
        const res = await fetch(`http://${n.http}${p}`, { signal: AbortSignal.timeout(timeout) });
        const text = await res.text();
        return { status: res.status, text, headers: res.headers };
    }

    /** GET JSON from a node's API (throws on non-200 or bad JSON). */
    async api(id, p, opts) {
        const n = this.node(id);
        if (!n.alive) throw new Error(`node ${id} is not running (${JSON.stringify(n.exit)})`);
        const r = await this.http(id, p, opts);
        if (r.status !== 200) throw new Error(`GET ${p} on node ${id}: HTTP ${r.status}: ${short(r.text, 200)}`);
        try {
            return JSON.parse(r.text);
        } catch (e) {
            throw new Error(`GET ${p} on node ${id}: bad JSON (${e.message}): ${short(r.text, 200)}`);
        }
    }

    waitFor(fn, opts) {
        return waitFor(fn, opts);
    }

    /**
     * Poll /api/cluster on the live nodes (or `among`) until one says it is
     * leader and a majority of the whole cluster names it. Returns
     * {id, term, views} where views maps node id -> its /api/cluster.
     */
    async leaderInfo({ timeout = 15000, among, not } = {}) {
        return waitFor(
            async () => {
                const ids = among || this.liveIds();
                const views = {};
                await Promise.all(
                    ids.map(async (id) => {
                        try {
                            views[id] = await this.api(id, '/api/cluster');
                        } catch {
                            /* node not answering yet */
                        }
                    }),
                );
                for (const id of ids) {
                    const v = views[id];
                    if (!v || v.role !== 'leader' || v.leader !== id) continue;
                    if (not !== undefined && id === not) continue;
                    const agree = Object.values(views).filter((w) => w.leader === id).length;
                    if (agree >= this.majority()) return { id, term: v.term, views };
                }
                return false;
            },
            { timeout, interval: 20, what: `a leader agreed on by ${this.majority()} nodes` },
        );
    }

    async leader(opts) {
        return (await this.leaderInfo(opts)).id;
    }

    /**
     * Wait until every live node (or `among`) reports the same applied_index
     * and, for it, the same state_hash. A node's state_hash belongs to its
     * state_hash_index (docs/api.md: the hash is kept per applied index, and
     * catches up with applied_index once the world is quiet; a node without
     * the field, an older release, hashes at applied_index). Samples are
     * kept per node, so a log that keeps moving still converges once all
     * nodes have been seen with a hash at one common index. Two nodes
     * reporting different hashes at the same index is an invariant
     * violation and fails at once. Returns {applied_index, state_hash}: the
     * index the hashes agree at, and the hash.
     */
    async waitConverged({ timeout = 15000, among } = {}) {
        const seen = new Map(); // id -> Map(hash index -> hash)
        const started = Date.now();
        const check = (id, idx, hash) => {
            for (const [other, m] of seen) {
                if (other === id || !m.has(idx)) continue;
                if (m.get(idx) !== hash) {
                    throw fatal(`INVARIANT: nodes ${other} and ${id} both at applied_index ${idx} with different state_hash ${m.get(idx)} vs ${hash}`);
                }
            }
        };
        return waitFor(
            async () => {
                const ids = among || this.liveIds();
                const views = await Promise.all(ids.map((id) => this.api(id, '/api/cluster')));
                views.forEach((v, i) => {
                    const id = ids[i];
                    if (!seen.has(id)) seen.set(id, new Map());
                    check(id, hashIndex(v), v.state_hash);
                    const m = seen.get(id);
                    m.set(hashIndex(v), v.state_hash);
                    if (m.size > 2000) m.delete(m.keys().next().value);
                });
                const first = views[0];
                if (views.every((v) => v.applied_index === first.applied_index && hashIndex(v) === v.applied_index && v.state_hash === first.state_hash)) {
                    return { applied_index: first.applied_index, state_hash: first.state_hash };
                }
                // A common index seen on every node (log moved between reads).
                // Only after a second: nodes hash the same checkpoint indexes
                // while entries still flow, and a settled answer (above) is
                // what callers that read state next want when there is one.
                if (Date.now() - started < 1000) return false;
                const maps = ids.map((id) => seen.get(id));
                for (const [idx, hash] of maps[0]) {
                    if (maps.every((m) => m.get(idx) === hash)) return { applied_index: idx, state_hash: hash };
                }
                return false;
            },
            { timeout, interval: 20, what: `nodes ${(among || this.liveIds()).join(',')} to converge on one applied_index and state_hash` },
        );
    }

    /** New arena client connected to node `id` (closed by stop()). */
    async client(id, label) {
        const cl = new ArenaClient(label || `client@${id}`);
        this.clients.add(cl);
        const n = this.node(id);
        await cl.connect(n.httpPort, { host: n.host });
        cl.nodeId = id;
        return cl;
    }
}

/**
 * Start a cluster and wait until every node answers /healthz.
 * opts: n (default 3), name (artifacts dir), electionTimeout, heartbeat,
 * single (omit --peers: a one-node cluster), ids, secrets {id: secret},
 * telnet (true: give each node `--telnet HOST:PORT` on a free port below the
 * ephemeral range, read back with cluster.telnetPort(id); see telnet.mjs),
 * extraArgs, env; hosts ({id: ip} or id => ip: the IP a node binds --cluster
 * and --http to, default 127.0.0.1), commandPrefix ({id: argv} or id => argv:
 * run the node as `argv... warren node ...`, e.g. ['ip','netns','exec',NS]).
 * nodeArgs (id => argv: more arguments for node id only).
 * Hooks (the nemesis runner's): artifactDir (where node logs and
 * cluster.json go, emptied first; default tests/artifacts/<name>),
 * prepare(cluster) (after the dirs exist, before any node starts),
 * onExit(node, pid, code, signal, expected) (every process end),
 * afterStop(cluster) (in stop(), once the nodes are gone, before the temp
 * dirs are removed).
 */
export async function startCluster(opts = {}) {
    const o = { n: 3, ...opts };
    const c = new Cluster(o);
    liveClusters.add(c);
    try {
        await c._setup();
        if (o.prepare) await o.prepare(c);
        await Promise.all(c.nodes.map((n) => c.start(n.id)));
    } catch (e) {
        c.dumpLogs();
        await c.stop();
        throw e;
    }
    return c;
}

/**
 * Run `fn(cluster, t)` on a fresh cluster; on failure print the tail of every
 * node's log; always stop the cluster. Also fails the test when a node exited
 * unexpectedly or a sanitizer reported something (during the test or at the
 * final SIGTERM). A non-zero exit on that SIGTERM fails the test only with
 * opts.cleanShutdown (shutdown.test.mjs owns that contract); otherwise it is
 * printed as a "# warning:" line.
 */
export function withCluster(opts, fn) {
    return async (t) => {
        const name = opts.name || (t && t.name) || 'test';
        const c = await startCluster({ ...opts, name });
        let failed = false;
        try {
            await fn(c, t);
            const p = c.problems();
            if (p.length) throw new Error(`server problems during the test:\n  ${p.join('\n  ')}`);
            const codes = await c.stop();
            const bad = Object.entries(codes).filter(([, r]) => r.code !== 0);
            const p2 = c.problems();
            if (p2.length) throw new Error(`server problems at shutdown:\n  ${p2.join('\n  ')}`);
            if (bad.length) {
                const msg = `unclean shutdown on SIGTERM (expected exit code 0): ${JSON.stringify(Object.fromEntries(bad))}`;
                if (opts.cleanShutdown) throw new Error(msg);
                console.log(`# warning: ${c.name}: ${msg}`);
            }
        } catch (e) {
            failed = true;
            throw e;
        } finally {
            await c.stop().catch(() => {});
            if (failed) c.dumpLogs();
        }
    };
}

/* ------------------------------------------------------------------ */
/* The arena WebSocket client.                                         */

export class ArenaClient {
    constructor(label = 'client') {
        this.label = label;
        this.ws = null;
        this.port = 0;
        this.nodeId = undefined;
        this.id = undefined; // player id after welcome
        this.name = undefined;
        this.welcome = null;
        this.token = undefined; // from welcome, for resume
        this.status = null; // last {"t":"status"} frame
        this.statuses = []; // every status frame, with .at
        this.seq = 0; // last seq sent
        this.acked = 0; // highest seq seen in an update of our own player
        this.ackTimes = []; // [{seq, at}] each time `acked` grew
        this.x = undefined;
        this.y = undefined;
        this.players = new Map(); // id -> {id,name,x,y,seq}
        this.errors = []; // error frames
        this.messages = []; // every parsed frame (bounded)
        this.received = 0;
        this.nonJson = [];
        this.closeInfo = null; // {code, reason, at}
        this._waiters = new Set();
        this.closed = null; // promise
    }

    get isOpen() {
        return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
    }

    connect(port, { timeout = 3000, host = '127.0.0.1' } = {}) {
        this.port = port;
        this.host = host;
        return new Promise((resolve, reject) => {
            const ws = new WebSocket(`ws://${host}:${port}/ws`, { handshakeTimeout: timeout, maxPayload: 64 << 20 });
            this.ws = ws;
            let opened = false;
            this.closed = new Promise((res) => {
                ws.on('close', (code, reason) => {
                    this.closeInfo = { code, reason: String(reason), at: Date.now() };
                    for (const w of [...this._waiters]) w.onClose(this.closeInfo);
                    res(this.closeInfo);
                    if (!opened) reject(new Error(`${this.label}: WebSocket closed before open (code ${code})`));
                });
            });
            ws.on('open', () => {
                opened = true;
                resolve(this);
            });
            ws.on('error', (e) => {
                this.lastError = e;
                if (!opened) reject(new Error(`${this.label}: WebSocket to port ${port}: ${e.message}`));
            });
            ws.on('message', (data, isBinary) => this._onMessage(data, isBinary));
        });
    }

    _onMessage(data, isBinary) {
        this.received++;
        let m;
        try {
            m = JSON.parse(isBinary ? Buffer.from(data).toString('utf8') : data.toString());
        } catch {
            if (this.nonJson.length < 100) this.nonJson.push(String(data).slice(0, 200));
            return;
        }
        if (this.messages.length < 20000) this.messages.push(m);
        if (m && typeof m === 'object') {
            switch (m.t) {
                case 'welcome':
                    this.welcome = m;
                    this.id = m.id;
                    this.name = m.name;
                    this.token = m.token;
                    this.x = m.x;
                    this.y = m.y;
                    if (Array.isArray(m.players)) for (const p of m.players) this.players.set(p.id, { ...p });
                    this.players.set(m.id, { ...(this.players.get(m.id) || {}), id: m.id, name: m.name, x: m.x, y: m.y, seq: m.seq });
                    // After a resume, moves continue above the player's last applied seq.
                    if (typeof m.seq === 'number' && m.seq > this.seq) this.seq = m.seq;
                    this._ack(m.seq);
                    break;
                case 'status':
                    this.status = m;
                    if (this.statuses.length < 1000) this.statuses.push({ ...m, at: Date.now() });
                    break;
                case 'update':
                    if (Array.isArray(m.players)) {
                        for (const p of m.players) {
                            // A move carries only id, x, y, seq: keep the rest.
                            this.players.set(p.id, { ...this.players.get(p.id), ...p });
                            if (this.id !== undefined && p.id === this.id) {
                                this.x = p.x;
                                this.y = p.y;
                                this._ack(p.seq);
                            }
                        }
                    }
                    break;
                case 'left':
                    this.players.delete(m.id);
                    break;
                case 'error':
                    this.errors.push({ ...m, at: Date.now(), afterSeq: this.seq });
                    break;
                default:
                    break;
            }
        }
        for (const w of [...this._waiters]) w.onMessage(m);
    }

    _ack(seq) {
        if (typeof seq === 'number' && seq > this.acked) {
            this.acked = seq;
            this.ackTimes.push({ seq, at: Date.now() });
            if (this.ackTimes.length > 20000) this.ackTimes.shift();
        }
    }

    /**
     * Wait for the first frame (from now on) for which pred(msg) is truthy;
     * or for cond() to be truthy (checked now and after every frame).
     * Rejects on timeout, and on close unless allowClose.
     */
    _wait({ pred, cond, timeout, what, allowClose = false, failOnError }) {
        return new Promise((resolve, reject) => {
            if (cond) {
                const v = cond();
                if (v) return resolve(v);
            }
            if (this.closeInfo && !allowClose) {
                return reject(new Error(`${this.label}: socket already closed (code ${this.closeInfo.code}) while waiting for ${what}`));
            }
            const w = {
                onMessage: (m) => {
                    if (pred && pred(m)) return done(null, m);
                    if (cond) {
                        const v = cond();
                        if (v) return done(null, v);
                    }
                    if (failOnError && m && m.t === 'error' && failOnError(m)) {
                        const e = new Error(`${this.label}: got error ${m.code} (${m.msg}) while waiting for ${what}`);
                        e.frame = m;
                        return done(e);
                    }
                },
                onClose: (ci) => {
                    if (allowClose) return done(null, null);
                    done(new Error(`${this.label}: socket closed (code ${ci.code} ${ci.reason}) while waiting for ${what}`));
                },
            };
            const timer = setTimeout(() => done(new Error(`${this.label}: timed out after ${timeout} ms waiting for ${what}`)), timeout);
            const done = (err, v) => {
                clearTimeout(timer);
                this._waiters.delete(w);
                if (err) reject(err);
                else resolve(v);
            };
            this._waiters.add(w);
        });
    }

    waitMessage(pred, { timeout = 3000, what = 'a message' } = {}) {
        return this._wait({ pred, timeout, what });
    }

    /** Wait for the next error frame (optionally with `code`). */
    waitError(code, { timeout = 3000 } = {}) {
        return this._wait({ pred: (m) => m && m.t === 'error' && (code === undefined || m.code === code), timeout, what: `error ${code || ''}` });
    }

    /** Wait until the socket is closed; resolves {code, reason}. */
    async waitClosed({ timeout = 5000 } = {}) {
        if (this.closeInfo) return this.closeInfo;
        const r = await raceTimeout(this.closed, timeout);
        if (!r) throw new Error(`${this.label}: socket not closed within ${timeout} ms`);
        return r;
    }

    send(obj) {
        this.sendRaw(JSON.stringify(obj));
    }

    sendRaw(data, opts = {}) {
        if (!this.isOpen) throw new Error(`${this.label}: cannot send, socket not open (close ${JSON.stringify(this.closeInfo)})`);
        this.ws.send(data, { binary: !!opts.binary });
    }

    /** Join and wait for welcome; rejects with err.code on an error frame. */
    async join(name, { timeout = 5000 } = {}) {
        const p = this._wait({
            pred: (m) => m && m.t === 'welcome',
            timeout,
            what: `welcome for ${name}`,
            failOnError: () => true,
        }).catch((e) => {
            if (e.frame) e.code = e.frame.code;
            throw e;
        });
        this.send({ t: 'join', name });
        return p;
    }

    /** Resume a player after a reconnect (instead of join); resolves the welcome. */
    async resume(token, { timeout = 5000 } = {}) {
        const p = this._wait({
            pred: (m) => m && m.t === 'welcome',
            timeout,
            what: 'welcome after resume',
            failOnError: () => true,
        }).catch((e) => {
            if (e.frame) e.code = e.frame.code;
            throw e;
        });
        this.send({ t: 'resume', token });
        return p;
    }

    /** Send a move with the next seq; returns that seq. */
    move(dir) {
        this.seq += 1;
        this.send({ t: 'move', dir, seq: this.seq });
        return this.seq;
    }

    /** Wait until a move with seq >= `seq` is acknowledged. */
    waitAcked(seq, opts = {}) {
        const { timeout = 5000, failOnUnavailable = false } = typeof opts === 'number' ? { timeout: opts } : opts;
        return this._wait({
            cond: () => (this.acked >= seq ? { seq: this.acked, at: Date.now() } : null),
            timeout,
            what: `ack of seq ${seq} (acked ${this.acked})`,
            failOnError: failOnUnavailable ? (m) => m.code === 'unavailable' : undefined,
        });
    }

    /** move + waitAcked; returns {seq, ok, ms, error?, x, y}. Never throws for a missing ack. */
    async moveAndWait(dir, { timeout = 5000, failOnUnavailable = true } = {}) {
        const t0 = Date.now();
        const seq = this.move(dir);
        try {
            await this.waitAcked(seq, { timeout, failOnUnavailable });
            return { seq, ok: true, sentAt: t0, ackedAt: Date.now(), ms: Date.now() - t0, x: this.x, y: this.y };
        } catch (e) {
            return { seq, ok: false, sentAt: t0, error: e.message, closed: !!this.closeInfo };
        }
    }

    async ping(id, { timeout = 3000 } = {}) {
        const p = this._wait({ pred: (m) => m && m.t === 'pong' && m.id === id, timeout, what: `pong ${id}` });
        this.send({ t: 'ping', id });
        return p;
    }

    /** Close cleanly (code 1000) and wait (bounded) for the close. */
    async close({ timeout = 3000 } = {}) {
        if (!this.ws) return;
        if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
            try {
                this.ws.close(1000, 'bye');
            } catch {
                /* ignore */
            }
        }
        const r = await raceTimeout(this.closed, timeout);
        if (!r) this.ws.terminate();
    }

    terminate() {
        if (this.ws && this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
    }
}

/* ------------------------------------------------------------------ */
/* A client that keeps moving: move, wait for ack or timeout, repeat.  */

export const DIRS = ['up', 'down', 'left', 'right'];

export function randomDir(rng = Math.random) {
    return DIRS[Math.floor(rng() * 4)];
}

export class Mover {
    /**
     * @param client ArenaClient (joined)
     * @param minInterval ms between sends (stay under the 60/s rate limit)
     * @param ackTimeout ms to wait for each ack
     * @param maxMoves hard bound on moves
     * @param maxMs hard bound on run time
     */
    constructor(client, { minInterval = 50, ackTimeout = 2000, maxMoves = 4000, maxMs = 240000 } = {}) {
        this.client = client;
        this.minInterval = minInterval;
        this.ackTimeout = ackTimeout;
        this.maxMoves = maxMoves;
        this.maxMs = maxMs;
        this.records = []; // results of moveAndWait
        this.paused = false;
        this.stopped = false;
        this._idle = null;
        this._resume = null;
        this.done = null;
    }

    start() {
        this.done = this._loop();
        return this;
    }

    async _loop() {
        const t0 = Date.now();
        let n = 0;
        while (!this.stopped && n < this.maxMoves && Date.now() - t0 < this.maxMs && !this.client.closeInfo) {
            if (this.paused) {
                await raceTimeout(new Promise((r) => (this._resume = r)), this.maxMs);
                continue;
            }
            const started = Date.now();
            const r = await this.client.moveAndWait(randomDir(), { timeout: this.ackTimeout });
            this.records.push(r);
            n++;
            if (r.closed) break;
            const wait = this.minInterval - (Date.now() - started);
            if (wait > 0) await delay(wait); // pacing only (rate limit), not for correctness
        }
        this.finished = true;
    }

    /** Pause after the move in flight (bounded wait). */
    async pause() {
        this.paused = true;
        await waitFor(() => this.finished || this._resume !== null || this.stopped, {
            timeout: this.ackTimeout + 2000,
            interval: 10,
            what: `${this.client.label} to pause`,
        });
    }

    resume() {
        this.paused = false;
        const r = this._resume;
        this._resume = null;
        if (r) r();
    }

    async stop() {
        this.stopped = true;
        this.resume();
        if (this.done) await raceTimeout(this.done, this.ackTimeout + 3000);
    }

    /** Acks of moves sent after time `t` (ms epoch). */
    acksSentAfter(t) {
        return this.records.filter((r) => r.ok && r.sentAt > t);
    }
}
