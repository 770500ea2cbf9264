// The small tmpfs of the disk-full node's data directory, and the cleanup of
// what an earlier runner left when it was killed: its tmpfs mounts and temp
// dirs (/tmp/warren-nemesis-<pid>-*), and node processes still running in
// the namespaces of a runner that is gone (netns.mjs then removes the
// namespaces themselves). Only things named after a dead runner's pid are
// touched.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidAlive } from '../../cluster/lib/netns.mjs';

const mounted = new Set();
const TMP_RE = /\/warren-nemesis-(\d+)-[^/]+/;

function run(cmd, args) {
    return new Promise((resolve, reject) => {
        execFile(cmd, args, { timeout: 10000 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
            else resolve(String(stdout));
        });
    });
}

/** Mount a tmpfs of `size` (e.g. '64m') on `dir`; unmounted on exit whatever happens. */
export async function mountTmpfs(dir, size) {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
    mounted.add(dir);
}

export async function unmountTmpfs(dir) {
    if (!mounted.has(dir)) return;
    await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
    mounted.delete(dir);
}

process.on('exit', () => {
    for (const dir of mounted) {
        try {
            execFileSync('umount', ['-l', dir], { stdio: 'ignore', timeout: 5000 });
        } catch {
            /* already gone */
        }
    }
});

/** Clean up after runners that died; returns what was removed. */
export async function removeStaleRuns() {
    const removed = [];
    const dead = (pid) => Number(pid) !== process.pid && !pidAlive(Number(pid));
    // Node processes left in a dead runner's namespaces (wrp<pid>-<id>).
    const nsList = await run('ip', ['netns', 'list']).catch(() => '');
    for (const ns of nsList.split('\n').map((l) => l.trim().split(/\s+/)[0])) {
        const m = /^wrp(\d+)-\d+$/.exec(ns || '');
        if (!m || !dead(m[1])) continue;
        const pids = (await run('ip', ['netns', 'pids', ns]).catch(() => '')).split(/\s+/).filter(Boolean);
        for (const pid of pids) {
            try {
                process.kill(Number(pid), 'SIGKILL');
                removed.push(`pid ${pid} in ${ns}`);
            } catch {
                /* gone */
            }
        }
    }
    // tmpfs mounts under a dead runner's temp dir.
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n');
    for (const line of mounts) {
        const mp = (line.split(' ')[1] || '').replace(/\\040/g, ' ');
        const m = TMP_RE.exec(mp);
        if (!m || !dead(m[1])) continue;
        await run('umount', ['-l', mp]).catch(() => {});
        removed.push(`mount ${mp}`);
    }
    for (const d of fs.readdirSync(os.tmpdir())) {
        const m = /^warren-nemesis-(\d+)-/.exec(d);
        if (!m || !dead(m[1])) continue;
        fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
        removed.push(path.join(os.tmpdir(), d));
    }
    return removed;
}
