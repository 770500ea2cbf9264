// Small shared pieces of the nemesis runner: the seeded PRNG that decides
// every fault and every client's moves (never Math.random: a seed must
// replay the same schedule), and the append-only JSON-lines files of the run
// directory (tests/nemesis/FORMAT.md).
import fs from 'node:fs';
import path from 'node:path';

/**
 * mulberry32: a 32-bit seeded generator, good enough to spread choices and
 * tiny enough to read in one go. Returns a function giving floats in [0, 1).
 */
export function prng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** Helpers over a prng(): integers, picks, weighted picks, sub-streams. */
export class Rng {
    constructor(seed) {
        this.seed = seed >>> 0;
        this.next = prng(seed);
    }
    /** Integer in [lo, hi] (both included). */
    int(lo, hi) {
        return lo + Math.floor(this.next() * (hi - lo + 1));
    }
    chance(p) {
        return this.next() < p;
    }
    pick(arr) {
        return arr[Math.floor(this.next() * arr.length)];
    }
    /** `k` distinct elements of `arr`, in a seeded order. */
    sample(arr, k) {
        const a = [...arr];
        for (let i = a.length - 1; i > 0; i--) {
            const j = Math.floor(this.next() * (i + 1));
            [a[i], a[j]] = [a[j], a[i]];
        }
        return a.slice(0, k);
    }
    /** Key of `weights` ({key: weight}) chosen in proportion to its weight. */
    weighted(weights) {
        const entries = Object.entries(weights).filter(([, w]) => w > 0);
        let x = this.next() * entries.reduce((s, [, w]) => s + w, 0);
        for (const [k, w] of entries) {
            x -= w;
            if (x < 0) return k;
        }
        return entries[entries.length - 1][0];
    }
    /**
     * An independent stream for `label` (a client, the schedule), so that
     * one consumer drawing more numbers does not shift another's choices.
     */
    fork(label) {
        let h = this.seed ^ 0x9e3779b9;
        for (const ch of String(label)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
        return new Rng(h);
    }
}

/**
 * One JSON-lines file, appended line by line with a synchronous write so
 * that a killed runner leaves every line it reported (at most the last one
 * torn, which FORMAT.md tells readers to tolerate).
 */
export class JsonlFile {
    constructor(file) {
        this.file = file;
        this.fd = fs.openSync(file, 'a');
        this.lines = 0;
    }
    write(obj) {
        if (this.fd === null) return;
        fs.writeSync(this.fd, JSON.stringify(obj) + '\n');
        this.lines++;
    }
    close() {
        if (this.fd !== null) fs.closeSync(this.fd);
        this.fd = null;
    }
}

/** Write `obj` to `dir/name` as pretty JSON, through a rename (never half a file). */
export function writeJson(dir, name, obj) {
    const f = path.join(dir, name);
    fs.writeFileSync(f + '.tmp', JSON.stringify(obj, null, 2) + '\n');
    fs.renameSync(f + '.tmp', f);
}

/** Resolve after `ms`, or at once when `signal` (an AbortSignal) aborts. */
export function sleep(ms, signal) {
    return new Promise((resolve) => {
        if (signal && signal.aborted) return resolve();
        const t = setTimeout(done, ms);
        function done() {
            clearTimeout(t);
            if (signal) signal.removeEventListener('abort', done);
            resolve();
        }
        if (signal) signal.addEventListener('abort', done, { once: true });
    });
}
