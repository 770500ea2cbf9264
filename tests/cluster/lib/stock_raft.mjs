// A stock libraft 0.15 node (build/tests/stock_raft, from stock_raft.c), on
// the library's own unauthenticated TCP transport, as a real process: the
// positive control for packets a Warren cluster port must refuse.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, warrenBin, waitFor } from './cluster.mjs';

/** build/tests/stock_raft next to the warren binary under test (build/ or build-san/). */
export function stockRaftBin() {
    return path.join(path.dirname(warrenBin()), 'tests', 'stock_raft');
}

const live = new Set();
process.on('exit', () => {
    for (const p of live) p.kill('SIGKILL');
});

export class StockRaft {
    /** Start one node with raft id @id; resolves once it leads (a one-voter cluster). */
    static async start({ id = 77, timeout = 10000 } = {}) {
        const bin = stockRaftBin();
        if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run make unit (it builds the stock libraft helper)`);
        const n = new StockRaft();
        n.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-stock-raft-'));
        n.port = await freePort();
        n.id = id;
        n.term = null;
        n.state = null;
        n.lines = [];
        n.stderr = '';
        n.exit = null;
        n.proc = spawn(bin, ['--id', String(id), '--address', `127.0.0.1:${n.port}`, '--dir', path.join(n.dir, 'data')], {
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        live.add(n.proc);
        let buf = '';
        n.proc.stdout.on('data', (d) => {
            buf += d.toString();
            let i;
            while ((i = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, i);
                buf = buf.slice(i + 1);
                n.lines.push(line);
                const m = /^term=(\d+) state=(\w+)$/.exec(line);
                if (m) {
                    n.term = Number(m[1]);
                    n.state = m[2];
                }
            }
        });
        n.proc.stderr.on('data', (d) => (n.stderr += d.toString()));
        n.proc.on('exit', (code, signal) => {
            live.delete(n.proc);
            n.exit = { code, signal };
        });
        await waitFor(() => n.state === 'leader' || n.exit !== null, { timeout, what: 'the stock libraft node to lead' });
        if (n.exit) throw new Error(`stock_raft exited ${JSON.stringify(n.exit)}: ${n.stderr}`);
        return n;
    }

    /** SIGTERM; resolves with the exit status (SIGKILL after 5 s). */
    async stop() {
        if (this.exit === null) {
            this.proc.kill('SIGTERM');
            await waitFor(() => this.exit !== null, { timeout: 5000, what: 'stock_raft to exit on SIGTERM' }).catch(() => {
                this.proc.kill('SIGKILL');
            });
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
        return this.exit;
    }
}
