#!/usr/bin/env node
// The nemesis runner (issue 10): a Warren cluster in network namespaces,
// arena and MUD clients recording everything they were told, and a seeded
// schedule of faults (kills, pauses, partitions, netem, a full disk, torn
// and corrupted logs, two at once). At the end everything is healed, the
// nodes must converge, and the offline checker (tests/nemesis/check.mjs)
// judges the run directory (tests/nemesis/FORMAT.md).
//
//   node tests/nemesis/nemesis.mjs --duration 120 --seed 1 --nodes 3 --out build/nemesis/run-1-3
//   make nemesis SEED=1 DURATION=120 NODES=3
//
// Needs root (namespaces, nftables, tc, tmpfs). Every wait is bounded and
// the whole run ends within --duration plus a fixed margin.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster, REPO } from '../cluster/lib/cluster.mjs';
import { NetnsTopology, netnsSupport } from '../cluster/lib/netns.mjs';
import { FAST_PWHASH } from '../cluster/lib/mud.mjs';
import { Rng, JsonlFile, writeJson, sleep } from './lib/util.mjs';
import { ClientContext, ArenaBot, MudBot } from './lib/clients.mjs';
import { Monitor } from './lib/monitor.mjs';
import { Nemesis } from './lib/faults.mjs';
import { mountTmpfs, unmountTmpfs, removeStaleRuns } from './lib/mounts.mjs';

const ELECTION_TIMEOUT_MS = 300;
const HEARTBEAT_MS = 50;
const DISK_TMPFS = '64m';
const DRAIN_MS = 10000; // clients finish their command in flight
const CONVERGE_MS = 60000;
const CHECKER_MS = 120000;
// Startup, drain, heal, restarts, convergence, stop and the checker, on top of --duration.
const MARGIN_S = 240;

const HELP = `usage: node tests/nemesis/nemesis.mjs --duration SECONDS --seed N --nodes 3|5 --out RUN_DIR
                                   [--bin build/warren] [--arena K] [--mud K]

Runs a Warren cluster of 3 or 5 nodes, each in its own network namespace,
with K arena clients (WebSocket) and K MUD clients (telnet) under load, and
injects faults chosen from a PRNG seeded with N for SECONDS: kill -9 and
restart, SIGSTOP/SIGCONT, network partitions (nftables), tc netem delay and
loss, a full disk, torn and corrupted log segments, and two at once. Then it
heals everything, waits for the nodes to converge, stops them and runs the
checker (tests/nemesis/check.mjs RUN_DIR) on what it recorded in RUN_DIR
(tests/nemesis/FORMAT.md). The exit status is the checker's (0: passed).
On a failure it prints the seed, the faults and the command that repeats
the run. Needs root, iproute2, nftables, tc; ends within SECONDS + ${MARGIN_S} s.

options:
  --duration SECONDS  how long faults are injected (default 120)
  --seed N            PRNG seed of the fault schedule and the clients (default 1)
  --nodes 3|5         cluster size (default 3)
  --out RUN_DIR       run directory, emptied first (default build/nemesis/run-SEED-NODES);
                      an existing non-empty directory without meta.json is refused
  --bin PATH          warren binary (default build/warren; build-san/warren for ASan+UBSan)
  --arena K           arena clients (default 6)
  --mud K             MUD clients (default 3)
  -h, --help          show this help

exit status: 0 the checker passed; 1 the run or the checker failed; 2 usage
or environment error; 3 the run overran its time budget.`;

function usage(msg) {
    console.error(`nemesis: ${msg} (see --help)`);
    process.exit(2);
}

function parse() {
    let a;
    try {
        a = parseArgs({
            options: {
                duration: { type: 'string', default: '120' },
                seed: { type: 'string', default: '1' },
                nodes: { type: 'string', default: '3' },
                out: { type: 'string' },
                bin: { type: 'string', default: 'build/warren' },
                arena: { type: 'string', default: '6' },
                mud: { type: 'string', default: '3' },
                help: { type: 'boolean', short: 'h', default: false },
            },
            strict: true,
        }).values;
    } catch (e) {
        usage(e.message);
    }
    if (a.help) {
        console.log(HELP);
        process.exit(0);
    }
    const int = (name, lo, hi) => {
        const v = a[name];
        if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) usage(`--${name} must be an integer from ${lo} to ${hi}, not "${v}"`);
        return Number(v);
    };
    const o = {
        duration: int('duration', 5, 7 * 24 * 3600),
        seed: int('seed', 0, 2 ** 32 - 1),
        nodes: int('nodes', 3, 5),
        arena: int('arena', 0, 64),
        mud: int('mud', 0, 26),
    };
    if (o.nodes !== 3 && o.nodes !== 5) usage(`--nodes must be 3 or 5, not ${o.nodes}`);
    o.bin = path.isAbsolute(a.bin) ? a.bin : path.join(REPO, a.bin);
    o.binArg = a.bin;
    o.out = path.resolve(a.out || path.join(REPO, 'build', 'nemesis', `run-${o.seed}-${o.nodes}`));
    return o;
}

/** Empty the run directory; refuse one that does not look like a run directory. */
function prepareOut(out) {
    if (fs.existsSync(out)) {
        const entries = fs.readdirSync(out);
        if (entries.length && !entries.includes('meta.json')) {
            console.error(`nemesis: ${out} is not empty and holds no meta.json; refusing to empty it`);
            process.exit(2);
        }
    }
    fs.mkdirSync(out, { recursive: true });
}

function supportsApplyLog(bin) {
    try {
        return execFileSync(bin, ['node', '--help'], { encoding: 'utf8', timeout: 10000 }).includes('--apply-log');
    } catch (e) {
        return String(e.stdout || '').includes('--apply-log');
    }
}

const o = parse();
const reproduce = `make nemesis SEED=${o.seed} DURATION=${o.duration} NODES=${o.nodes}${/build-san/.test(o.binArg) ? ' SANITIZE=1' : ''}`;
const log = (msg) => console.log(`[nemesis +${((Date.now() - tStart) / 1000).toFixed(1)}s] ${msg}`);
const tStart = Date.now();
let nemesis = null;
let clusterTmp = null; // the data dirs, removed on any exit (WARREN_KEEP=1 keeps them)
let outcome = null; // 'passed' once the run is judged good
let failure = null;

/* Whatever ends the process (a failure, SIGINT, the budget), say how to repeat it. */
process.on('exit', (code) => {
    if (clusterTmp && process.env.WARREN_KEEP !== '1') fs.rmSync(clusterTmp, { recursive: true, force: true });
    if (outcome === 'passed') return;
    console.error(`\nnemesis: FAILED (exit ${code})${failure ? ': ' + failure : ''}`);
    console.error(`nemesis: seed ${o.seed}, ${o.nodes} nodes, duration ${o.duration} s, binary ${o.binArg}, run dir ${o.out}`);
    if (nemesis) {
        console.error(`nemesis: faults (${nemesis.summaries.length}):`);
        for (const s of nemesis.summaries) console.error(`  ${s}`);
    }
    console.error(`nemesis: repeat with: ${reproduce}`);
});

const budget = setTimeout(() => {
    failure = `over the time budget of ${o.duration} + ${MARGIN_S} s`;
    process.exit(3);
}, (o.duration + MARGIN_S) * 1000);
budget.unref();

async function main() {
    if (!fs.existsSync(o.bin)) usage(`no warren binary at ${o.bin} (run make, or pass --bin)`);
    const sup = await netnsSupport();
    if (!sup.ok) {
        failure = `network namespaces unavailable: ${sup.reason}`;
        process.exit(2);
    }
    process.env.WARREN_BIN = o.bin;
    prepareOut(o.out);
    const stale = await removeStaleRuns();
    if (stale.length) log(`removed leftovers of earlier runs: ${stale.join(', ')}`);

    const rng = new Rng(o.seed);
    const applyLog = supportsApplyLog(o.bin);
    if (!applyLog) log(`warning: ${o.binArg} has no --apply-log; the run has no node<ID>.apply files`);
    const diskNode = 1 + Math.floor(rng.fork('disk').next() * o.nodes);
    const topo = new NetnsTopology({ n: o.nodes });
    await topo.create();
    const files = {};
    let monitor = null;
    const mounts = [];
    const started = Date.now();

    const cluster = await startCluster({
        n: o.nodes,
        name: `nemesis-${process.pid}`,
        artifactDir: o.out,
        telnet: true,
        electionTimeout: ELECTION_TIMEOUT_MS,
        heartbeat: HEARTBEAT_MS,
        hosts: (id) => topo.ip(id),
        commandPrefix: (id) => topo.execPrefix(id),
        extraArgs: [...FAST_PWHASH, '--mud-world', path.join(REPO, 'world')],
        nodeArgs: (id) => (applyLog ? ['--apply-log', path.join(o.out, `node${id}.apply`)] : []),
        prepare: async (c) => {
            for (const f of ['history', 'faults', 'monitor', 'procs']) files[f] = new JsonlFile(path.join(o.out, `${f}.jsonl`));
            const n = c.node(diskNode);
            fs.mkdirSync(n.dataDir, { recursive: true });
            await mountTmpfs(n.dataDir, DISK_TMPFS);
            mounts.push(n.dataDir);
        },
        onExit: (n, pid, code, signal, expected) => {
            const ok = expected || (nemesis !== null && nemesis.refusalOk.has(n.id));
            if (files.procs) files.procs.write({ t: Date.now(), node: n.id, pid, ev: 'exit', code, signal, expected: ok });
            if (!ok) log(`node ${n.id} (pid ${pid}) EXITED UNEXPECTEDLY: code=${code} signal=${signal}`);
        },
        afterStop: async () => {
            for (const m of mounts) await unmountTmpfs(m);
        },
    });
    clusterTmp = cluster.tmp;

    const meta = {
        seed: o.seed,
        duration_s: o.duration,
        nodes_n: o.nodes,
        binary: o.binArg,
        sanitizer: /build-san/.test(o.binArg),
        started,
        election_timeout_ms: ELECTION_TIMEOUT_MS,
        heartbeat_ms: HEARTBEAT_MS,
        nodes: cluster.nodes.map((n) => ({
            id: n.id,
            ip: n.host,
            http: n.httpPort,
            telnet: n.telnetPort,
            cluster: n.clusterPort,
            data: n.dataDir,
            ...(n.id === diskNode ? { data_tmpfs: DISK_TMPFS } : {}),
            apply_log: applyLog ? `node${n.id}.apply` : null,
            log: `node${n.id}.log`,
        })),
        clients: { arena: o.arena, mud: o.mud },
        apply_log: applyLog,
        disk_node: diskNode,
        repeat: reproduce,
    };
    writeJson(o.out, 'meta.json', meta);
    log(`cluster of ${o.nodes} up (bridge ${topo.subnet}.0/24, disk node ${diskNode}), seed ${o.seed}, ${o.duration} s of faults, run dir ${o.out}`);

    monitor = new Monitor(cluster, files.monitor, files.procs).start();
    await cluster.leader({ timeout: 15000 });

    const ctx = new ClientContext(cluster, files.history, rng.fork('clients'), { ackTimeoutMs: 4000, arenaIntervalMs: 250, mudIntervalMs: 500 });
    const bots = [];
    for (let i = 1; i <= o.arena; i++) bots.push(new ArenaBot(ctx, i).start());
    for (let i = 1; i <= o.mud; i++) bots.push(new MudBot(ctx, i).start());

    nemesis = new Nemesis({ cluster, topo, rng: rng.fork('faults'), faults: files.faults, monitor, diskNode, log });
    const progress = setInterval(() => {
        const s = bots.reduce((a, b) => ({ sends: a.sends + b.stats.sends, acks: a.acks + b.stats.acks, fails: a.fails + b.stats.fails }), { sends: 0, acks: 0, fails: 0 });
        log(`leader=${monitor.leader()} clients: ${s.sends} sent, ${s.acks} acked, ${s.fails} failed`);
    }, 15000);
    const deadline = Date.now() + o.duration * 1000;
    const stopAt = setTimeout(() => nemesis.stop(), o.duration * 1000);
    await nemesis.run(deadline);
    clearTimeout(stopAt);
    log(`faults over (${nemesis.summaries.length} injected); stopping the load`);

    /* ---------------- the end: no load, no faults, every node up ---------------- */
    ctx.abort.abort();
    await Promise.race([Promise.all(bots.map((b) => b.done)), sleep(DRAIN_MS)]);
    clearInterval(progress);
    for (const id of topo.isolated.keys()) await topo.heal(id).catch(() => {});
    for (const n of cluster.nodes) {
        await topo.clearNetem(n.id);
        if (n.alive) n.proc.kill('SIGCONT');
    }
    await nemesis.ensureRunning();
    const final = { t: null, converged: false, nodes: [], state: null };
    try {
        const conv = await cluster.waitConverged({ timeout: CONVERGE_MS, among: cluster.nodes.map((n) => n.id) });
        final.converged = true;
        log(`converged at applied_index ${conv.applied_index} state_hash ${conv.state_hash}`);
    } catch (e) {
        final.error = e.message;
        failure = `no convergence: ${e.message}`;
        log(failure);
    }
    final.t = Date.now();
    for (const n of cluster.nodes) {
        try {
            const v = await cluster.api(n.id, '/api/cluster', { timeout: 2000 });
            final.nodes.push({ id: n.id, applied_index: v.applied_index, state_hash: v.state_hash, state_hash_index: v.state_hash_index, role: v.role, term: v.term, commit_index: v.commit_index, leader: v.leader });
        } catch (e) {
            final.nodes.push({ id: n.id, error: e.message });
        }
    }
    for (const n of cluster.nodes) {
        try {
            final.state = await cluster.api(n.id, '/api/state', { timeout: 2000 });
            final.state_node = n.id;
            break;
        } catch {
            /* the next node */
        }
    }
    await monitor.stop();
    writeJson(o.out, 'final.json', final);
    meta.ended = Date.now();
    writeJson(o.out, 'meta.json', meta);
    const codes = await cluster.stop();
    for (const [id, r] of Object.entries(codes)) if (r.code !== 0) log(`node ${id}: exit on SIGTERM code=${r.code} signal=${r.signal}`);
    for (const f of Object.values(files)) f.close();
    await topo.destroy();

    const totals = bots.reduce((a, b) => ({ sends: a.sends + b.stats.sends, acks: a.acks + b.stats.acks, fails: a.fails + b.stats.fails, closes: a.closes + b.stats.closes }), { sends: 0, acks: 0, fails: 0, closes: 0 });
    log(`clients: ${totals.sends} sent, ${totals.acks} acked, ${totals.fails} failed, ${totals.closes} connections closed; monitor: ${monitor.samples} samples, ${monitor.failures} unanswered`);
    for (const s of nemesis.summaries) log(`  ${s}`);
    return runChecker(final);
}

/** Run the offline checker when it exists; its status is the run's. */
async function runChecker(final) {
    const checker = path.join(REPO, 'tests', 'nemesis', 'check.mjs');
    if (!fs.existsSync(checker)) {
        log(`no checker at ${path.relative(REPO, checker)}: judged by convergence only`);
        return final.converged ? 0 : 1;
    }
    log(`running the checker: node ${path.relative(REPO, checker)} ${o.out}`);
    const child = spawn(process.execPath, [checker, o.out], { stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), CHECKER_MS);
    const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c === null ? `signal ${sig}` : c)));
    clearTimeout(timer);
    if (code !== 0) failure = `the checker failed (exit ${code})`;
    else if (!final.converged) return 1;
    return code === 0 ? 0 : 1;
}

main().then(
    (code) => {
        if (code === 0) outcome = 'passed';
        process.exit(code);
    },
    (e) => {
        failure = e.stack || e.message;
        process.exit(1);
    },
);
