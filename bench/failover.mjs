#!/usr/bin/env node
// Failover timings for bench/run.sh (cases e, f, g; bench/README.md says how
// to read them). One 3-node cluster at the DEFAULT settings (no
// --election-timeout/--heartbeat flags), started with the cluster tests'
// harness, and ROUNDS faults of one kind, each healed before the next:
//
//   --fault kill   kill -9 of the leader; it is restarted on its data dir
//   --fault stop   SIGSTOP of the leader (a silent failure); SIGCONT after
//   --fault cut    the leader's cluster traffic dropped with nftables in its
//                  network namespace (a silent failure; root, iproute2, nft);
//                  healed after. Its clients still reach it.
//   --fault none   no fault: --duration seconds of load, then the number of
//                  term changes (there should be none)
//
// The figure per fault is the time from the fault to the first
// acknowledgement of a move SENT after it, on a node that survived: probe
// clients (PROBES per node, each moving every PROBE_MS, staggered) stamp
// every move. With --clients N, build/bench/loadgen puts N clients × 5
// moves/s on the cluster during each fault (a fresh loadgen per round, so
// the load does not shrink as nodes die) and checks afterwards that no
// acknowledged move is missing (`lost`). For cut, also the time until the
// cut-off leader's own clients get a status that no longer names it leader.
//
//   node bench/failover.mjs --fault kill --rounds 20 --clients 1000 --json out.json
//
// Every wait is bounded; every process is killed on exit.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster, stopAllClusters, waitFor, delay, randomDir, REPO } from '../tests/cluster/lib/cluster.mjs';
import { NetnsTopology, netnsSupport } from '../tests/cluster/lib/netns.mjs';

const { values: o } = parseArgs({
    options: {
        fault: { type: 'string', default: 'kill' },
        rounds: { type: 'string', default: '20' },
        clients: { type: 'string', default: '0' },
        duration: { type: 'string', default: '600' },
        json: { type: 'string' },
        help: { type: 'boolean', default: false },
    },
});
if (o.help || !['kill', 'stop', 'cut', 'none'].includes(o.fault)) {
    console.log('usage: node bench/failover.mjs --fault kill|stop|cut|none [--rounds N] [--clients N] [--duration S] [--json FILE]');
    process.exit(o.help ? 0 : 2);
}
const ROUNDS = Number(o.rounds);
const CLIENTS = Number(o.clients);
const PROBES = 3;
const PROBE_MS = 24; // 41.7 moves/s per probe: under the default 60/s client limit
const LOADGEN = path.join(REPO, 'build/bench/loadgen');
const started = new Set();
process.on('exit', () => {
    for (const p of started) p.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const log = (...a) => console.log(new Date().toISOString().slice(11, 23), ...a);
const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

/* A client that moves every PROBE_MS without waiting for acks and stamps
 * every move, so the first ack of a move sent after a fault is known. */
class Probe {
    constructor(c, nodeId, k) {
        this.c = c;
        this.nodeId = nodeId;
        this.name = `pr${nodeId}_${k}_${Math.floor(Math.random() * 1e6)}`;
        this.sent = new Map(); // seq -> send time (ms)
        this.timer = null;
        this.delay = Math.floor((PROBE_MS * k) / PROBES);
    }
    async open() {
        this.cl = await this.c.client(this.nodeId, this.name);
        await this.cl.join(this.name);
        await delay(this.delay);
        this.timer = setInterval(() => {
            if (!this.cl.isOpen) return;
            const seq = this.cl.move(randomDir());
            this.sent.set(seq, Date.now());
        }, PROBE_MS);
        return this;
    }
    get open_() {
        return this.cl && this.cl.isOpen && !this.cl.closeInfo;
    }
    /** Time of the first ack, after @t, of a move sent after @t (or null). */
    firstAckAfter(t) {
        for (const a of this.cl.ackTimes) {
            if (a.at < t) continue;
            const s = this.sent.get(a.seq);
            if (s !== undefined && s > t) return a.at;
        }
        return null;
    }
    /** Time of the first status after @t that does not name @id leader. */
    firstDisclaimAfter(t, id) {
        const s = this.cl.statuses.find((m) => m.at >= t && m.leader !== id);
        return s ? s.at : null;
    }
    close() {
        clearInterval(this.timer);
        this.cl.terminate();
    }
}

/* A loadgen over the live nodes for one fault; resolves with its JSON. */
function startLoadgen(c, verifyId, dir, seconds) {
    fs.mkdirSync(dir, { recursive: true });
    const nodes = c.liveIds().map((id) => c.node(id).http).join(',');
    const args = ['--nodes', nodes, '--clients', String(CLIENTS), '--rate', '5', '--warmup', '1',
        '--duration', String(seconds), '--mark-dir', dir, '--json', path.join(dir, 'result.json'),
        '--prefix', `lg${path.basename(dir)}-`.slice(0, 8), '--quiet'];
    if (verifyId) args.push('--verify-after', '--verify-node', c.node(verifyId).http);
    const p = spawn(LOADGEN, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    started.add(p);
    const done = new Promise((resolve) => p.on('exit', (code) => {
        started.delete(p);
        let r = null;
        try {
            r = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
        } catch {
            /* no result */
        }
        resolve({ code, result: r });
    }));
    return { proc: p, done, startMark: path.join(dir, 'start') };
}

async function probesFor(c, probes) {
    for (const id of c.liveIds()) {
        const have = probes.filter((p) => p.nodeId === id && p.open_);
        for (let k = have.length; k < PROBES; k++) probes.push(await new Probe(c, id, k).open());
    }
    const t = Date.now();
    await waitFor(() => probes.filter((p) => p.open_).every((p) => p.firstAckAfter(t) !== null), {
        timeout: 10000,
        what: 'every probe to get an ack',
    });
}

async function terms(c) {
    const v = await Promise.all(c.liveIds().map((id) => c.api(id, '/api/cluster').catch(() => null)));
    return v.filter(Boolean).map((x) => x.term);
}

async function oneFault(c, topo, probes, round, tmp) {
    const before = await c.leaderInfo({ timeout: 15000 });
    const L = before.id;
    const others = c.liveIds().filter((id) => id !== L);
    await probesFor(c, probes);
    let lg = null;
    if (CLIENTS > 0) {
        lg = startLoadgen(c, others[0], path.join(tmp, `r${round}`), 5);
        await waitFor(() => fs.existsSync(lg.startMark), { timeout: 60000, interval: 50, what: 'the loadgen window' });
        await delay(1500);
    }
    const node = c.node(L);
    let t0 = Date.now();
    if (o.fault === 'kill') await c.kill(L, 'SIGKILL');
    else if (o.fault === 'stop') node.proc.kill('SIGSTOP');
    else {
        // The rules apply when nft commits, just before it exits; until then
        // the old leader still commits, so the cut starts when it returns.
        await topo.isolate(L, others);
        t0 = Date.now();
    }
    const survivors = probes.filter((p) => p.nodeId !== L && p.open_);
    let at = null;
    await waitFor(() => (at = Math.min(...survivors.map((p) => p.firstAckAfter(t0) ?? Infinity))) !== Infinity, {
        timeout: 15000,
        interval: 2,
        what: `round ${round}: an ack on a survivor for a move sent after the fault`,
    });
    const ms = at - t0;
    let disclaimMs = null;
    if (o.fault === 'cut') {
        const mine = probes.filter((p) => p.nodeId === L && p.open_);
        let d = null;
        await waitFor(() => (d = Math.min(...mine.map((p) => p.firstDisclaimAfter(t0, L) ?? Infinity))) !== Infinity, {
            timeout: 5000,
            interval: 5,
            what: `round ${round}: the cut-off leader to stop naming itself`,
        }).catch(() => null);
        disclaimMs = d === null || d === Infinity ? null : d - t0;
    }
    const afterInfo = await c.leaderInfo({ among: others, not: L, timeout: 10000 });
    // heal
    if (o.fault === 'kill') await c.start(L);
    else if (o.fault === 'stop') node.proc.kill('SIGCONT');
    else await topo.heal(L);
    let lost = null;
    if (lg) {
        const r = await lg.done;
        lost = r.result && typeof r.result.acked_lost === 'number' ? r.result.acked_lost : null;
    }
    await c.waitConverged({ timeout: 30000 });
    const rec = { round, fault: o.fault, ms, killed: L, new_leader: afterInfo.id, term: afterInfo.term, old_term: before.term, lost, disclaim_ms: disclaimMs, load: load() };
    log(`failover fault=${o.fault} round=${round} ms=${ms} leader=${L}->${afterInfo.id} term=${before.term}->${afterInfo.term}` +
        (lost !== null ? ` lost=${lost}` : '') + (disclaimMs !== null ? ` disclaim_ms=${disclaimMs}` : '') + ` load=${rec.load}`);
    return rec;
}

async function main() {
    let topo = null;
    if (o.fault === 'cut') {
        const s = await netnsSupport();
        if (!s.ok) {
            console.log(`failover: --fault cut needs network namespaces: ${s.reason}`);
            process.exit(3);
        }
        topo = new NetnsTopology({ n: 3, prefix: `wrb${process.pid % 100000}` });
        await topo.create();
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-failover-'));
    const c = await startCluster({
        n: 3,
        name: `bench-failover-${o.fault}`,
        artifactDir: path.join(tmp, 'logs'),
        ...(topo ? { hosts: (id) => topo.ip(id), commandPrefix: (id) => topo.execPrefix(id) } : {}),
    });
    const out = { fault: o.fault, clients: CLIENTS, rounds: [], load_start: load() };
    try {
        if (o.fault === 'none') {
            const t0 = await terms(c);
            const lg = startLoadgen(c, null, path.join(tmp, 'none'), Number(o.duration));
            await waitFor(() => fs.existsSync(lg.startMark), { timeout: 60000, interval: 50, what: 'the loadgen window' });
            const tStart = Math.max(...(await terms(c)));
            const r = await lg.done;
            const tEnd = Math.max(...(await terms(c)));
            out.term_changes = tEnd - tStart;
            out.term_start = tStart;
            out.term_end = tEnd;
            out.moves_per_s = r.result ? r.result.moves_per_s : null;
            out.loadgen_rc = r.code;
            log(`nofault seconds=${o.duration} clients=${CLIENTS} term_changes=${out.term_changes} (term ${tStart} -> ${tEnd}; at boot ${Math.max(...t0)}) load=${load()}`);
        } else {
            const probes = [];
            for (let round = 1; round <= ROUNDS; round++) out.rounds.push(await oneFault(c, topo, probes, round, tmp));
            for (const p of probes) p.close();
            const ms = out.rounds.map((r) => r.ms);
            out.median_ms = median(ms);
            out.max_ms = Math.max(...ms);
            out.lost = out.rounds.reduce((a, r) => a + (r.lost || 0), 0);
            const d = out.rounds.map((r) => r.disclaim_ms).filter((x) => x !== null);
            if (o.fault === 'cut') out.disclaim_max_ms = d.length === out.rounds.length ? Math.max(...d) : null;
            log(`failover fault=${o.fault} clients=${CLIENTS} rounds=${ms.length} median_ms=${out.median_ms} max_ms=${out.max_ms}` +
                (CLIENTS > 0 ? ` lost=${out.lost}` : '') + (o.fault === 'cut' ? ` disclaim_max_ms=${out.disclaim_max_ms}` : '') + ` load=${load()}`);
        }
    } finally {
        out.load_end = load();
        if (o.json) fs.writeFileSync(o.json, JSON.stringify(out, null, 1));
        await stopAllClusters();
        if (topo) await topo.destroy();
        if (!process.env.BENCH_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
        else console.log(`failover: kept ${tmp}`);
    }
}

main().then(
    () => process.exit(0),
    (e) => {
        console.error(`failover: ${e.stack || e.message}`);
        process.exit(1);
    },
);
