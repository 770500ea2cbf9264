// Server memory per idle WebSocket: open N sockets to one node, let them sit,
// then join them all, and report the node's RSS growth per connection.
//
//   node bench/idle.mjs PID HTTP_PORT [N]      (N defaults to 2000)
//
// Use a freshly started node (`build/warren node ...`) and read the first run:
// memory freed by a previous run is reused, so later runs show ~0. The open
// file limit must allow N sockets (ulimit -n).
import fs from 'node:fs';
import WebSocket from 'ws';

const [pid, port] = process.argv.slice(2, 4).map(Number);
const N = Number(process.argv[4] || 2000);
if (!pid || !port) {
    console.error('usage: node bench/idle.mjs PID HTTP_PORT [N]');
    process.exit(2);
}
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

await sleep(500);
const base = rssKb();
const socks = [];
for (let i = 0; i < N; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
    });
    ws.on('message', () => {});
    socks.push(ws);
}
await sleep(1000);
const open = rssKb();
for (let i = 0; i < N; i++) socks[i].send(JSON.stringify({ t: 'join', name: `idle${i}` }));
await sleep(3000);
const joined = rssKb();
console.log(
    JSON.stringify({
        connections: N,
        rss_kb: { before: base, open: open, joined: joined },
        bytes_per_open_connection: Math.round(((open - base) * 1024) / N),
        bytes_per_joined_connection: Math.round(((joined - base) * 1024) / N),
    }),
);
for (const ws of socks) ws.terminate();
process.exit(0);
