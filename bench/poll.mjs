// What one poll of an HTTP endpoint costs a node: C keep-alive connections
// GET the path back to back for S seconds; prints requests/s and the node's
// CPU (utime + stime from /proc/PID/stat) per request, as one JSON line.
//
//   node bench/poll.mjs PID HTTP_ADDR [PATH] [SECONDS] [CONNECTIONS]
//   (PATH /api/cluster, SECONDS 5, CONNECTIONS 4)
//
// A micro-benchmark, not a test: run it on a quiet machine, several times,
// and read the medians (bench/README.md, "Polling /api/cluster").
import fs from 'node:fs';
import http from 'node:http';

const [pid, addr] = process.argv.slice(2, 4);
const path = process.argv[4] || '/api/cluster';
const seconds = Number(process.argv[5] || 5);
const conns = Number(process.argv[6] || 4);
if (!Number(pid) || !addr || !(seconds > 0) || !(conns > 0)) {
    console.error('usage: node bench/poll.mjs PID HTTP_ADDR [PATH] [SECONDS] [CONNECTIONS]');
    process.exit(2);
}
const [host, port] = addr.split(':');
const hz = 100; // USER_HZ: /proc reports CPU in these ticks on Linux
const ticks = () => {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]); // utime + stime
};
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
let done = 0, failed = 0, bytes = 0;
const end = Date.now() + seconds * 1000;

function one() {
    return new Promise((resolve) => {
        const req = http.get({ host, port, path, agent }, (res) => {
            res.on('data', (d) => (bytes += d.length));
            res.on('end', () => {
                if (res.statusCode === 200) done++;
                else failed++;
                resolve();
            });
        });
        req.on('error', () => {
            failed++;
            resolve();
        });
    });
}

async function worker() {
    while (Date.now() < end) await one();
}

const t0 = process.hrtime.bigint(), c0 = ticks();
await Promise.all(Array.from({ length: conns }, worker));
const wall = Number(process.hrtime.bigint() - t0) / 1e9, c1 = ticks();
const cpu = (c1 - c0) / hz;
console.log(JSON.stringify({
    path,
    requests: done,
    failed,
    req_per_s: Math.round(done / wall),
    node_cpu_pct: Math.round((cpu / wall) * 1000) / 10,
    node_cpu_us_per_req: done ? Math.round((cpu * 1e6) / done) : null,
    bytes_per_req: done ? Math.round(bytes / done) : null,
}));
agent.destroy();
