// Helpers for the tests of `warren cluster up|down|...` (local.test.mjs,
// tls.test.mjs): the pid files a local cluster leaves, free runs of
// consecutive ports (a local cluster takes node i's port as base + i - 1),
// and the cleanup that stops whatever a test left running.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runWarren } from './cluster.mjs';

/** Is `pid` a live process? Zombies count as dead: when `cluster up` has
 * exited, the nodes' new parent may never reap them. */
export function alive(pid) {
    let stat;
    try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
        return false;
    }
    const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
    return state !== 'Z' && state !== 'X';
}

/**
 * What a test file started: cluster directories, every pid seen in their
 * pid files, and client sockets. cleanup() (from after()) runs `cluster
 * down` on each directory, kills any process still alive, closes the
 * sockets and removes the directories (unless WARREN_KEEP=1).
 */
export class LocalRuns {
    constructor() {
        this.dirs = [];
        this.seenPids = new Set();
        this.sockets = new Set();
    }

    /** {node1: pid, ..., nginx: pid} from DIR's pid files (remembered). */
    readPids(dir) {
        const out = {};
        for (const f of fs.readdirSync(dir)) {
            const m = /^(node\d+|nginx)\.pid$/.exec(f);
            if (!m) continue;
            const pid = Number(fs.readFileSync(path.join(dir, f), 'utf8').trim());
            if (pid > 0) {
                out[m[1]] = pid;
                this.seenPids.add(pid);
            }
        }
        return out;
    }

    async cleanup() {
        for (const s of this.sockets) (s.terminate ? s.terminate() : s.destroy());
        for (const dir of this.dirs) {
            try {
                this.readPids(dir);
            } catch {
                /* gone */
            }
            await runWarren(['cluster', 'down', '--dir', dir], { timeout: 20000 });
        }
        for (const pid of this.seenPids) {
            if (!alive(pid)) continue;
            try {
                process.kill(pid, 'SIGKILL');
            } catch {
                /* gone */
            }
        }
        if (process.env.WARREN_KEEP !== '1') for (const dir of this.dirs) fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Bind 127.0.0.1:port; resolves to the server, or null when it is taken. */
export function tryListen(port) {
    return new Promise((resolve) => {
        const s = net.createServer();
        s.unref();
        s.once('error', () => resolve(null));
        s.listen(port, '127.0.0.1', () => resolve(s));
    });
}

/** Bases of `runs.length` runs of free consecutive ports, e.g. [3, 3, 1]. All
 * are held until every run is found, so the runs cannot overlap. */
export async function freeRuns(runs) {
    const held = [];
    const bases = [];
    try {
        for (const len of runs) {
            let found = 0;
            for (let attempt = 0; attempt < 50 && !found; attempt++) {
                const first = await tryListen(0);
                if (!first) continue;
                const base = first.address().port;
                const group = [first];
                for (let k = 1; k < len; k++) {
                    const s = base + k <= 65535 ? await tryListen(base + k) : null;
                    if (!s) break;
                    group.push(s);
                }
                held.push(...group);
                if (group.length === len) found = base;
            }
            if (!found) throw new Error(`no run of ${len} free ports after 50 tries`);
            bases.push(found);
        }
    } finally {
        await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    }
    return bases;
}
