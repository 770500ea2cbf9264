// Idle players, as a browser tab behaves when nobody touches the keys: N
// WebSocket clients spread over the nodes join the arena, then each sends a
// ping and GETs /api/cluster every 2 s (web/lib/conn.js's pingMs and
// pollMs), and nothing else, for S seconds. Used by bench/run.sh's idle
// case, which measures what the nodes spend meanwhile.
//
//   node bench/idle-clients.mjs HTTP_ADDR[,HTTP_ADDR...] N SECONDS [MARK_DIR]
//
// Writes MARK_DIR/start once every client has its welcome (the measured
// window starts then) and exits after SECONDS more; exit status 1 if a
// client failed to join or lost its socket.
import fs from 'node:fs';
import http from 'node:http';
import WebSocket from 'ws';

const [list, nArg, sArg, markDir] = process.argv.slice(2);
const nodes = (list || '').split(',').filter(Boolean);
const N = Number(nArg), seconds = Number(sArg);
if (nodes.length === 0 || !(N > 0) || !(seconds > 0)) {
    console.error('usage: node bench/idle-clients.mjs HTTP_ADDR[,HTTP_ADDR...] N SECONDS [MARK_DIR]');
    process.exit(2);
}
const EVERY_MS = 2000;
const agent = new http.Agent({ keepAlive: true });
let failures = 0;
const timers = [];

function join(i) {
    const addr = nodes[i % nodes.length];
    const ws = new WebSocket(`ws://${addr}/ws`);
    return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`client ${i}: no welcome from ${addr} in 10 s`)), 10000);
        ws.on('message', (d) => {
            const m = JSON.parse(d);
            if (m.t === 'welcome') {
                clearTimeout(t);
                resolve(ws);
            } else if (m.t === 'error') {
                clearTimeout(t);
                reject(new Error(`client ${i}: ${m.code} ${m.msg}`));
            }
        });
        ws.on('open', () => ws.send(JSON.stringify({ t: 'join', name: `idle${process.pid % 10000}x${i}` })));
        ws.on('error', (e) => reject(e));
        ws.on('close', () => failures++);
    });
}

function poll(addr) {
    http.get({ host: addr.split(':')[0], port: addr.split(':')[1], path: '/api/cluster', agent }, (res) => res.resume())
        .on('error', () => failures++);
}

const socks = await Promise.all(Array.from({ length: N }, (_, i) => join(i))).catch((e) => {
    console.error(`idle-clients: ${e.message}`);
    process.exit(1);
});
socks.forEach((ws, i) => {
    let id = 0;
    // spread the clients' timers over the period, as independent tabs are
    setTimeout(() => {
        timers.push(setInterval(() => {
            ws.send(JSON.stringify({ t: 'ping', id: ++id }));
            poll(nodes[i % nodes.length]);
        }, EVERY_MS));
    }, (i * EVERY_MS) / N);
});
if (markDir) fs.writeFileSync(`${markDir}/start`, '');
await new Promise((r) => setTimeout(r, seconds * 1000));
if (markDir) fs.writeFileSync(`${markDir}/end`, '');
timers.forEach(clearInterval);
const lost = failures;
socks.forEach((ws) => ws.terminate());
agent.destroy();
console.log(`idle-clients: ${N} clients for ${seconds} s, ${lost} failures`);
process.exit(lost ? 1 : 0);
