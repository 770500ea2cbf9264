// The nemesis itself: a schedule of faults drawn from the run's seeded PRNG,
// each injected for a few seconds and healed, with a gap between two, all
// written to faults.jsonl (tests/nemesis/FORMAT.md). The kinds, durations
// and random picks come from the seed; "the leader" is resolved when the
// fault starts, from the monitor's latest samples.
//
//   kill        kill -9 of a node (the leader more often), restarted later
//   pause       SIGSTOP / SIGCONT, shorter or longer than the election timeout
//   partition   nftables in the namespaces: the leader alone, a minority,
//               a split with the leader on the small side, a bridge node that
//               sees both sides, a one-way drop
//   netem       delay, jitter and loss on one node's link (tc netem, or
//               where the kernel lacks it a tbf queue and nftables loss)
//   disk-full   the disk node's tmpfs data dir filled by a filler file
//   torn-log    kill -9, the newest log segment cut by a few bytes, restart
//   corrupt-log kill -9, bytes flipped in the newest segment, restart; a
//               node that refuses to start gets its directory back from a
//               copy taken just before
//   combo       two of kill, pause, partition, netem at once
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from './util.mjs';

const KIND_WEIGHTS = { kill: 16, pause: 16, partition: 22, netem: 9, 'disk-full': 6, 'torn-log': 8, 'corrupt-log': 8, combo: 15 };
const COMBO_KINDS = ['kill', 'pause', 'partition', 'netem'];
const FILLER = 'nemesis-filler';

function sh(cmd, args, timeout = 10000) {
    return new Promise((resolve, reject) => {
        execFile(cmd, args, { timeout }, (err, stdout, stderr) => {
            if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
            else resolve(String(stdout));
        });
    });
}

/**
 * The newest segment of a libraft data dir and where its data ends: the
 * open-N with the highest N that holds anything (open segments are
 * preallocated and zero-filled past their last entry), else the closed
 * START-END with the highest END. null when the dir has no segment yet.
 */
export function newestSegment(dir) {
    const files = fs.readdirSync(dir);
    const open = files
        .map((f) => /^open-(\d+)$/.exec(f))
        .filter(Boolean)
        .sort((a, b) => Number(b[1]) - Number(a[1]));
    for (const m of open) {
        const buf = fs.readFileSync(path.join(dir, m[0]));
        let end = buf.length;
        while (end > 0 && buf[end - 1] === 0) end--;
        if (end > 8) return { file: m[0], size: buf.length, dataEnd: end, open: true };
    }
    const closed = files
        .map((f) => /^(\d{16})-(\d{16})$/.exec(f))
        .filter(Boolean)
        .sort((a, b) => (BigInt(b[2]) > BigInt(a[2]) ? 1 : -1));
    if (!closed.length) return null;
    const size = fs.statSync(path.join(dir, closed[0][0])).size;
    return { file: closed[0][0], size, dataEnd: size, open: false };
}

export class Nemesis {
    /**
     * @param cluster the harness Cluster (nodes in namespaces)
     * @param topo the NetnsTopology
     * @param rng the schedule's Rng
     * @param faults JsonlFile for faults.jsonl
     * @param monitor Monitor (who leads)
     * @param diskNode id of the node whose data dir is a small tmpfs
     * @param log progress printer
     */
    constructor({ cluster, topo, rng, faults, monitor, diskNode, log }) {
        this.c = cluster;
        this.topo = topo;
        this.rng = rng;
        this.faults = faults;
        this.monitor = monitor;
        this.diskNode = diskNode;
        this.log = log;
        this.abort = new AbortController();
        this.nextId = 1;
        this.summaries = []; // one line per fault, for a failure report
        this.refusalOk = new Set(); // nodes whose exit at startup is the fault's expected outcome
        this.heldDown = new Set(); // nodes a fault keeps down on purpose
        this.t0 = Date.now();
    }

    ids() {
        return this.c.nodes.map((n) => n.id);
    }

    /* ---------------- the schedule ---------------- */

    /** The next fault's shape, from the seed alone. */
    plan() {
        const r = this.rng;
        const kind = r.weighted(KIND_WEIGHTS);
        const f = { kind, gapMs: r.int(1000, 4000), pick: r.next() };
        if (kind === 'combo') {
            const [a, b] = r.sample(COMBO_KINDS, 2);
            f.parts = [this._planOne(a), this._planOne(b)];
            f.durMs = Math.max(...f.parts.map((p) => p.durMs));
        } else Object.assign(f, this._planOne(kind));
        return f;
    }

    _planOne(kind) {
        const r = this.rng;
        const p = { kind, pick: r.next(), pick2: r.next() };
        switch (kind) {
            case 'kill':
                p.variant = r.chance(0.6) ? 'leader' : 'any';
                p.durMs = r.int(1000, 5000);
                break;
            case 'pause':
                p.variant = `${r.chance(0.5) ? 'short' : 'long'}-${r.chance(0.6) ? 'leader' : 'any'}`;
                // The election timeout is 300 ms, randomised to 300-600: a
                // short pause stays under it, a long one forces an election.
                p.durMs = p.variant.startsWith('short') ? r.int(80, 250) : r.int(1000, 4000);
                break;
            case 'partition':
                p.variant = r.weighted({ 'leader-alone': 35, minority: 20, 'leader-minority': 15, bridge: 15, 'one-way': 15 });
                p.direction = r.chance(0.5) ? 'in' : 'out';
                p.durMs = r.int(2000, 6000);
                break;
            case 'netem':
                p.variant = r.chance(0.5) ? 'leader' : 'any';
                p.delayMs = r.int(20, 250);
                p.jitterMs = r.int(0, 50);
                p.lossPct = r.pick([0, 1, 5, 10, 20]);
                p.durMs = r.int(3000, 8000);
                break;
            case 'disk-full':
                p.variant = 'filler';
                p.durMs = r.int(3000, 8000);
                break;
            case 'torn-log':
                p.variant = 'truncate';
                p.bytes = r.int(1, 48);
                p.durMs = r.int(500, 2000);
                break;
            case 'corrupt-log':
                p.variant = 'flip';
                p.bytes = r.int(1, 4);
                p.offsets = [r.next(), r.next(), r.next(), r.next()];
                p.xor = r.int(1, 255);
                p.durMs = r.int(500, 2000);
                break;
            default:
                throw new Error(`unknown fault kind ${kind}`);
        }
        return p;
    }

    /* ---------------- the loop ---------------- */

    /**
     * Inject faults until `deadline` (ms epoch) or stop(); the fault in
     * force when either comes is healed before this resolves.
     */
    async run(deadline) {
        const signal = this.abort.signal;
        while (!signal.aborted) {
            const f = this.plan();
            await sleep(f.gapMs, signal);
            if (signal.aborted || Date.now() + f.durMs > deadline) break;
            await this.ensureRunning();
            await this.one(f);
        }
    }

    stop() {
        this.abort.abort();
    }

    /** Inject `f`, hold it for its duration (cut short by stop()), heal it. */
    async one(f) {
        const id = this.nextId++;
        const leader = this.monitor.leader();
        const rec = { id, kind: f.kind, variant: f.variant || null, targets: [], start: Date.now(), detail: { leader } };
        let heals = [];
        try {
            if (f.kind === 'combo') {
                rec.variant = f.parts.map((p) => `${p.kind}/${p.variant}`).join('+');
                rec.detail.parts = [];
                for (const p of f.parts) {
                    const part = { kind: p.kind, variant: p.variant, targets: [], detail: {} };
                    heals.push(await this.inject(p, part, leader));
                    rec.detail.parts.push(part);
                    rec.targets.push(...part.targets.filter((t) => !rec.targets.includes(t)));
                }
            } else {
                const part = { targets: rec.targets, detail: rec.detail };
                heals.push(await this.inject(f, part, leader));
            }
        } catch (e) {
            rec.detail.inject_error = e.message;
        }
        this.faults.write({ ...rec, open: true });
        this.log(`fault #${id} ${rec.kind}/${rec.variant} targets=[${rec.targets}] leader=${leader} for ${f.durMs} ms`);
        await sleep(f.durMs, this.abort.signal);
        for (const h of heals.reverse()) {
            try {
                await h();
            } catch (e) {
                rec.detail.heal_error = (rec.detail.heal_error ? rec.detail.heal_error + '; ' : '') + e.message;
            }
        }
        heals = [];
        rec.end = Date.now();
        this.faults.write(rec);
        this.summaries.push(this.summary(rec));
        if (rec.detail.inject_error || rec.detail.heal_error) this.log(`fault #${id}: ${rec.detail.inject_error || ''} ${rec.detail.heal_error || ''}`);
    }

    summary(rec) {
        const s = (t) => ((t - this.t0) / 1000).toFixed(1);
        const extra = ['refused', 'recovered', 'restart_error', 'inject_error', 'heal_error', 'exited']
            .filter((k) => rec.detail[k] !== undefined)
            .map((k) => `${k}=${JSON.stringify(rec.detail[k])}`);
        return `#${rec.id} ${rec.kind}/${rec.variant} targets=[${rec.targets}] leader=${rec.detail.leader} ${s(rec.start)}s-${s(rec.end)}s ${extra.join(' ')}`.trim();
    }

    /** Pick `k` from `from` with the plan's pick value (deterministic given the set). */
    _choose(from, pick) {
        return from[Math.floor(pick * from.length) % from.length];
    }

    /**
     * The node a kill, pause or netem aims at: the leader for a '-leader'
     * variant, else one picked by the plan. A kill or pause needs a running
     * node: when the pick is down (the other half of a combo killed it), the
     * pick goes to a running one.
     */
    _target(p, leader) {
        const ids = this.ids();
        let id = p.variant && p.variant.endsWith('leader') && leader !== null ? leader : this._choose(ids, p.pick);
        if ((p.kind === 'kill' || p.kind === 'pause') && !this.c.node(id).alive) {
            const up = this.c.nodes.filter((n) => n.alive).map((n) => n.id);
            if (!up.length) throw new Error('no node is running');
            id = this._choose(up, p.pick2);
        }
        return id;
    }

    /**
     * Inject one fault; fills part.targets and part.detail; resolves the
     * function that heals it.
     */
    async inject(p, part, leader) {
        switch (p.kind) {
            case 'kill':
                return this._kill(p, part, leader);
            case 'pause':
                return this._pause(p, part, leader);
            case 'partition':
                return this._partition(p, part, leader);
            case 'netem':
                return this._netem(p, part, leader);
            case 'disk-full':
                return this._diskFull(p, part);
            case 'torn-log':
            case 'corrupt-log':
                return this._log(p, part);
            default:
                throw new Error(`unknown fault kind ${p.kind}`);
        }
    }

    async _kill(p, part, leader) {
        const id = this._target(p, leader);
        part.targets.push(id);
        this.heldDown.add(id);
        await this.c.kill(id, 'SIGKILL');
        return async () => {
            this.heldDown.delete(id);
            await this._restart(id, part.detail);
        };
    }

    async _pause(p, part, leader) {
        const id = this._target(p, leader);
        part.targets.push(id);
        const n = this.c.node(id);
        if (!n.alive) throw new Error(`node ${id} is not running`);
        const proc = n.proc; // SIGCONT goes to this process even if another fault restarts the node
        part.detail.pause_ms = p.durMs;
        proc.kill('SIGSTOP');
        return async () => {
            proc.kill('SIGCONT');
        };
    }

    async _partition(p, part, leader) {
        const ids = this.ids();
        const minority = Math.floor((ids.length - 1) / 2);
        const lead = leader !== null ? leader : this._choose(ids, p.pick);
        const rest = (xs) => ids.filter((i) => !xs.includes(i));
        let a; // one side
        let b; // the other
        let opts = {};
        switch (p.variant) {
            case 'leader-alone':
                a = [lead];
                b = rest(a);
                break;
            case 'minority': {
                // A minority of followers (the leader keeps its majority).
                const k = 1 + Math.floor(p.pick2 * minority);
                a = this._shuffle(rest([lead]), p.pick).slice(0, k);
                b = rest(a);
                break;
            }
            case 'leader-minority': {
                // The leader with a minority: the other side must elect.
                const k = minority;
                a = [lead, ...this._shuffle(rest([lead]), p.pick).slice(0, k - 1)];
                b = rest(a);
                break;
            }
            case 'bridge': {
                // One node sees both sides; the sides do not see each other.
                const bridge = this._choose(ids, p.pick);
                const others = this._shuffle(rest([bridge]), p.pick2);
                a = others.slice(0, Math.floor(others.length / 2));
                b = others.slice(a.length);
                part.detail.bridge = bridge;
                break;
            }
            case 'one-way': {
                a = [this._choose(ids, p.pick)];
                b = rest(a);
                opts = { direction: p.direction };
                part.detail.direction = p.direction;
                break;
            }
            default:
                throw new Error(`unknown partition ${p.variant}`);
        }
        part.detail.sides = [a, b];
        part.targets.push(...a);
        const touched = [];
        const heal = async () => {
            for (const id of touched) await this.topo.heal(id);
        };
        try {
            for (const id of a) {
                touched.push(id);
                await this.topo.isolate(id, b, opts);
            }
            if (p.variant !== 'one-way') {
                for (const id of b) {
                    touched.push(id);
                    await this.topo.isolate(id, a);
                }
            }
        } catch (e) {
            await heal().catch(() => {});
            throw e;
        }
        return heal;
    }

    _shuffle(arr, pick) {
        const a = [...arr];
        let x = Math.floor(pick * 1e9);
        for (let i = a.length - 1; i > 0; i--) {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            const j = x % (i + 1);
            [a[i], a[j]] = [a[j], a[i]];
        }
        return a;
    }

    async _netem(p, part, leader) {
        const id = this._target(p, leader);
        part.targets.push(id);
        Object.assign(part.detail, { delay_ms: p.delayMs, jitter_ms: p.jitterMs, loss_pct: p.lossPct });
        part.detail.method = await this.topo.netem(id, { delayMs: p.delayMs, jitterMs: p.jitterMs, lossPct: p.lossPct });
        return () => this.topo.clearNetem(id);
    }

    async _diskFull(p, part) {
        const id = this.diskNode;
        part.targets.push(id);
        const n = this.c.node(id);
        const file = path.join(n.dataDir, FILLER);
        const st = fs.statfsSync(n.dataDir);
        const free = st.bavail * st.bsize;
        part.detail.filled_bytes = free;
        if (free > 0) await sh('fallocate', ['-l', String(free), file]);
        // fallocate rounds to pages; whatever is left goes to a write that fails with ENOSPC.
        try {
            const fd = fs.openSync(file, 'a');
            try {
                fs.writeSync(fd, Buffer.alloc(1 << 20));
            } finally {
                fs.closeSync(fd);
            }
        } catch {
            /* ENOSPC: full */
        }
        const after = fs.statfsSync(n.dataDir);
        part.detail.free_after = after.bavail * after.bsize;
        return async () => {
            fs.rmSync(file, { force: true });
            if (!n.alive) {
                part.detail.exited = n.exit;
                await this._restart(id, part.detail);
            }
        };
    }

    /** torn-log and corrupt-log: kill, damage the newest segment, restart (restore if refused). */
    async _log(p, part) {
        const id = this._choose(this.ids(), p.pick);
        part.targets.push(id);
        const n = this.c.node(id);
        this.heldDown.add(id);
        await this.c.kill(id, 'SIGKILL');
        const backup = path.join(n.dir, 'data.before-damage');
        fs.rmSync(backup, { recursive: true, force: true });
        fs.cpSync(n.dataDir, backup, { recursive: true });
        const seg = newestSegment(n.dataDir);
        if (!seg) {
            part.detail.skipped = 'no log segment yet';
        } else {
            const f = path.join(n.dataDir, seg.file);
            Object.assign(part.detail, { file: seg.file, size: seg.size, data_end: seg.dataEnd, open_segment: seg.open });
            if (p.kind === 'torn-log') {
                const to = Math.max(8, seg.dataEnd - p.bytes);
                fs.truncateSync(f, to);
                part.detail.truncated_to = to;
            } else {
                // Flip bytes in the last 512 bytes of data (the newest entries), past the format header.
                const lo = Math.max(8, seg.dataEnd - 512);
                const span = seg.dataEnd - lo;
                const fd = fs.openSync(f, 'r+');
                const flipped = [];
                try {
                    for (let i = 0; i < p.bytes && span > 0; i++) {
                        const off = lo + Math.floor(p.offsets[i] * span);
                        const b = Buffer.alloc(1);
                        fs.readSync(fd, b, 0, 1, off);
                        b[0] ^= p.xor;
                        fs.writeSync(fd, b, 0, 1, off);
                        flipped.push(off);
                    }
                } finally {
                    fs.closeSync(fd);
                }
                part.detail.flipped = flipped;
                part.detail.xor = p.xor;
            }
        }
        return async () => {
            this.heldDown.delete(id);
            // A refusal at start is the fault's allowed outcome for corrupt-log only.
            if (p.kind === 'corrupt-log') this.refusalOk.add(id);
            let ok;
            try {
                ok = await this._restart(id, part.detail, { quiet: true });
            } finally {
                this.refusalOk.delete(id);
            }
            part.detail.refused = !ok;
            if (ok) {
                part.detail.recovered = true;
                fs.rmSync(backup, { recursive: true, force: true });
                return;
            }
            part.detail.refusal = this._refusalLine(n);
            if (n.alive) await this.c.kill(id, 'SIGKILL');
            fs.rmSync(n.dataDir, { recursive: true, force: true });
            fs.cpSync(backup, n.dataDir, { recursive: true });
            fs.rmSync(backup, { recursive: true, force: true });
            part.detail.restored = true;
            await this._restart(id, part.detail);
        };
    }

    /** The node log's last line that looks like an error, after its last start. */
    _refusalLine(n) {
        let text = '';
        try {
            text = fs.readFileSync(n.logFile, 'utf8');
        } catch {
            return null;
        }
        const since = text.lastIndexOf('==== harness: start');
        const lines = text.slice(since).split('\n').filter((l) => l && !l.startsWith('==== harness'));
        const err = lines.filter((l) => /error|fail|corrupt|refus|cannot|bad/i.test(l));
        return (err.length ? err[err.length - 1] : lines[lines.length - 1] || '').slice(0, 300);
    }

    /**
     * Start node `id` again; resolves true when it answers /healthz. On a
     * failure it says why in `detail.restart_error` (unless quiet) and
     * resolves false; ensureRunning() tries again before the next fault.
     */
    async _restart(id, detail, { quiet = false } = {}) {
        const n = this.c.node(id);
        if (n.alive) return true;
        try {
            await this.c.start(id);
            return true;
        } catch (e) {
            if (!quiet) detail.restart_error = e.message.split('\n')[0];
            return false;
        }
    }

    /** Start every node that is down and that no fault holds down (a crash, a failed restart). */
    async ensureRunning() {
        for (const n of this.c.nodes) {
            if (n.alive || this.heldDown.has(n.id)) continue;
            const detail = {};
            const ok = await this._restart(n.id, detail);
            this.log(`node ${n.id} was down (${JSON.stringify(n.exit)}): restart ${ok ? 'ok' : 'failed: ' + detail.restart_error}`);
        }
    }
}
