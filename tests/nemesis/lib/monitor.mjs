// The nemesis runner's eyes: every node's /api/cluster sampled every
// ~200 ms into monitor.jsonl, each node process's RSS and open fds every few
// seconds into procs.jsonl (a leak shows as a slope over a long run), and
// the latest view of who leads, which the fault schedule aims at.
import fs from 'node:fs';
import { sleep } from './util.mjs';

const CLUSTER_FIELDS = ['role', 'term', 'leader', 'commit_index', 'applied_index', 'state_hash', 'state_hash_index'];

export class Monitor {
    /**
     * @param cluster the harness Cluster
     * @param monitorFile JsonlFile for monitor.jsonl
     * @param procsFile JsonlFile for procs.jsonl
     */
    constructor(cluster, monitorFile, procsFile, { sampleMs = 200, procMs = 3000 } = {}) {
        this.cluster = cluster;
        this.mon = monitorFile;
        this.procs = procsFile;
        this.sampleMs = sampleMs;
        this.procMs = procMs;
        this.latest = new Map(); // id -> {t, ok, role, term, leader, ...}
        this.abort = new AbortController();
        this.samples = 0;
        this.failures = 0;
        this.loops = [];
    }

    start() {
        this.loops.push(this._every(this.sampleMs, () => this.sampleCluster()));
        this.loops.push(this._every(this.procMs, () => this.sampleProcs()));
        return this;
    }

    async stop() {
        this.abort.abort();
        await Promise.all(this.loops);
    }

    async _every(ms, fn) {
        while (!this.abort.signal.aborted) {
            const t0 = Date.now();
            try {
                await fn();
            } catch (e) {
                this.lastError = e.message; // a sampler bug must not stop the run
            }
            await sleep(Math.max(10, ms - (Date.now() - t0)), this.abort.signal);
        }
    }

    /** One /api/cluster sample of every node (a stopped or dead one as ok:false). */
    async sampleCluster() {
        await Promise.all(
            this.cluster.nodes.map(async (n) => {
                const t = Date.now();
                let rec;
                try {
                    if (!n.alive) throw new Error('not running');
                    const v = await this.cluster.api(n.id, '/api/cluster', { timeout: 500 });
                    rec = { t, node: n.id, ok: true };
                    for (const f of CLUSTER_FIELDS) rec[f] = v[f] === undefined ? null : v[f];
                    this.samples++;
                } catch (e) {
                    rec = { t, node: n.id, ok: false, error: e.name === 'TimeoutError' ? 'timeout after 500 ms' : e.message };
                    this.failures++;
                }
                this.mon.write(rec);
                this.latest.set(n.id, rec);
            }),
        );
    }

    /** RSS (kB) and open fds of every running node process. */
    sampleProcs() {
        const t = Date.now();
        for (const n of this.cluster.nodes) {
            if (!n.alive) continue;
            const pid = n.proc.pid;
            try {
                const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
                const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
                const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
                this.procs.write({ t, node: n.id, pid, rss_kb: rss ? Number(rss[1]) : null, fds });
            } catch {
                /* it just exited: the exit line says so */
            }
        }
    }

    /** The exit of a node process (harness onExit hook). */
    recordExit(node, pid, code, signal, expected) {
        this.procs.write({ t: Date.now(), node: node.id, pid, ev: 'exit', code, signal, expected });
    }

    /**
     * The leader by the latest samples: a node that says it leads, the one
     * with the highest term if two do (a deposed leader may not know yet);
     * null when none does.
     */
    leader() {
        let best = null;
        for (const v of this.latest.values()) {
            if (!v.ok || v.role !== 'leader' || Date.now() - v.t > 2000) continue;
            if (!best || v.term > best.term) best = v;
        }
        return best ? best.node : null;
    }
}
