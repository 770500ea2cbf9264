// A stand-in for Warren nodes speaking the MUD over WebSocket (/mud/ws, see
// docs/protocol.md), for testing the browser terminal (web/play.html) before
// and independently of the real server. Each fake node serves web/ like a
// node does (/play -> play.html), /api/cluster listing every fake node, and
// /mud/ws with a tiny world shared by all of them (two rooms, a login
// dialogue with a hidden password, say, a channel), so a page can fail over
// from one fake node to another and resume. kill(id) drops a node at once
// (sockets destroyed, no close frame), like a SIGKILL.
//
// Options: mjsAsJs (default false): send .mjs as text/javascript; the real
// node (src/net/http.c) sends it as application/octet-stream today, which a
// browser refuses for a module script, so play.js falls back to xterm.js's
// classic script.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import crypto from 'node:crypto';
import { WebSocketServer } from 'ws';
import { REPO } from './lib.mjs';

const WEB = path.join(REPO, 'web');
const TYPES = {
    '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8', '.json': 'application/json',
};

const ROOMS = {
    1: { num: 1, name: 'The Square', area: 'Town', x: 0, y: 0, exits: { n: 2 } },
    2: { num: 2, name: 'North Street', area: 'Town', x: 0, y: 1, exits: { s: 1 } },
};
const DIRWORDS = { n: 'north', s: 'south', north: 'n', south: 's' };

export async function fakeCluster(n = 2, { mjsAsJs = false } = {}) {
    const world = { chars: new Map(), tokens: new Map() };  // name -> char; token -> name
    const nodes = [];
    const cluster = {
        nodes,
        url: (id = 1) => `http://127.0.0.1:${nodes[id - 1].port}/`,
        kill(id) {
            const nd = nodes[id - 1];
            nd.alive = false;
            for (const ws of nd.wss.clients) ws._socket.destroy();
            for (const s of nd.sockets) s.destroy();
            nd.server.close();
        },
        async close() {
            for (const nd of nodes) if (nd.alive) cluster.kill(nd.id);
        },
        world,
    };
    for (let id = 1; id <= n; id++) nodes.push(await startNode(id, cluster, world, mjsAsJs));
    return cluster;
}

function startNode(id, cluster, world, mjsAsJs) {
    const nd = { id, alive: true, sockets: new Set(), port: 0 };
    nd.server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        if (url.pathname === '/api/cluster') {
            const body = JSON.stringify({
                leader: 1,
                nodes: cluster.nodes.map((o) => ({ id: o.id, http: `127.0.0.1:${o.port}` })),
            });
            res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
            return res.end(body);
        }
        let p = url.pathname === '/' ? '/index.html' : url.pathname === '/play' ? '/play.html' : url.pathname;
        p = path.normalize(p);
        const file = path.join(WEB, p);
        if (!file.startsWith(WEB + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
            res.writeHead(404);
            return res.end('not found');
        }
        const ext = path.extname(file);
        const type = ext === '.mjs' ? (mjsAsJs ? TYPES['.js'] : 'application/octet-stream')
            : TYPES[ext] || 'application/octet-stream';
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
        res.end(fs.readFileSync(file));
    });
    nd.server.on('connection', (s) => {
        nd.sockets.add(s);
        s.on('close', () => nd.sockets.delete(s));
    });
    nd.wss = new WebSocketServer({ noServer: true });
    nd.server.on('upgrade', (req, socket, head) => {
        if (new URL(req.url, 'http://x').pathname !== '/mud/ws') return socket.destroy();
        nd.wss.handleUpgrade(req, socket, head, (ws) => session(ws, nd, cluster, world));
    });
    return new Promise((resolve) => nd.server.listen(0, '127.0.0.1', () => {
        nd.port = nd.server.address().port;
        resolve(nd);
    }));
}

// One connection: the login dialogue, then the game.
function session(ws, nd, cluster, world) {
    const out = (m) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));
    const text = (data) => out({ t: 'text', data });
    const prompt = (data = '> ') => out({ t: 'prompt', data });
    let stage = 'name';
    let name = null;
    let pw = null;
    let ch = null;  // the character once in the game

    const room = () => ROOMS[ch.room];
    const look = () => {
        const r = room();
        text(`\x1b[1;36m${r.name}\x1b[0m\nYou are in ${r.area}. ${ch.name} is here.\n`
            + `Exits: ${Object.keys(r.exits).map((d) => DIRWORDS[d]).join(' ')}\n`);
        out({ t: 'gmcp', pkg: 'Room.Info', data: r });
        out({ t: 'gmcp', pkg: 'Room.Players', data: [{ name: ch.name, kind: 'player' }, { name: 'a guard', kind: 'npc' }] });
    };
    const enter = (resumed) => {
        ch.token = crypto.randomBytes(16).toString('hex');
        world.tokens.set(ch.token, ch.name);
        ch.ws = ws;
        out({ t: 'welcome', token: ch.token, name: ch.name, node: nd.id });
        out({ t: 'gmcp', pkg: 'Char.Status', data: { name: ch.name, room: ch.room, zone: 'town', state: 'online' } });
        out({ t: 'gmcp', pkg: 'Char.Vitals', data: { hp: 17, maxhp: 20, mp: 5, maxmp: 10, mv: 30, maxmv: 30 } });
        if (!resumed) text(`Welcome, ${ch.name}.\n`);
        look();
        prompt();
    };

    out({ t: 'status', degraded: false, leader: 1, node: nd.id });
    text('\x1b[1mWelcome to Warren!\x1b[0m\nBy what name are you known? ');

    ws.on('message', (raw) => {
        let m;
        try {
            m = JSON.parse(String(raw));
        } catch {
            return out({ t: 'error', code: 'bad_json', msg: 'not JSON' });
        }
        if (m.t === 'ping') return out({ t: 'pong', id: m.id });
        if (m.t === 'size') return;
        if (m.t === 'resume') {
            const who = world.tokens.get(m.token);
            if (!who) return out({ t: 'error', code: 'bad_token', msg: 'That session is gone; log in again.' });
            world.tokens.delete(m.token);
            ch = world.chars.get(who);
            stage = 'game';
            return enter(true);
        }
        if (m.t !== 'line') return out({ t: 'error', code: 'bad_type', msg: `unknown t ${m.t}` });
        const line = String(m.text).trim();
        switch (stage) {
            case 'name':
                name = line[0].toUpperCase() + line.slice(1).toLowerCase();
                stage = 'pw1';
                text(world.chars.has(name) ? 'Password: ' : `Creating ${name}. Choose a password: `);
                return out({ t: 'echo', on: false });
            case 'pw1':
                if (world.chars.has(name)) {
                    if (world.chars.get(name).pw !== line) {
                        stage = 'name';
                        out({ t: 'echo', on: true });
                        return text('\nWrong password.\nBy what name are you known? ');
                    }
                    ch = world.chars.get(name);
                    stage = 'game';
                    out({ t: 'echo', on: true });
                    text('\n');
                    return enter(false);
                }
                pw = line;
                stage = 'pw2';
                return text('\nAgain: ');
            case 'pw2':
                out({ t: 'echo', on: true });
                if (line !== pw) {
                    stage = 'name';
                    return text('\nPasswords differ.\nBy what name are you known? ');
                }
                ch = { name, pw, room: 1 };
                world.chars.set(name, ch);
                stage = 'game';
                text('\n');
                return enter(false);
            default:
        }
        const [cmd, ...rest] = line.split(/\s+/);
        const arg = rest.join(' ');
        const dir = DIRWORDS[cmd] && cmd.length > 1 ? DIRWORDS[cmd] : ROOMS[ch.room].exits[cmd] ? cmd : null;
        if (cmd === 'look' || cmd === 'l') look();
        else if (dir) {
            const to = ROOMS[ch.room].exits[dir];
            if (!to) text('You cannot go that way.\n');
            else {
                ch.room = to;
                look();
            }
        } else if (cmd === 'say') text(`You say, '${arg}'\n`);
        else if (cmd === 'chat') {
            text(`[chat] You: ${arg}\n`);
            out({ t: 'gmcp', pkg: 'Comm.Channel.Text', data: { channel: 'chat', talker: ch.name, text: arg } });
        } else if (cmd === 'fail') out({ t: 'error', code: 'bad_field', msg: 'That went wrong.' });
        else if (cmd === 'quit') {
            world.tokens.delete(ch.token);
            text('Goodbye.\n');
            return ws.close(1000, 'quit');
        } else text(`Huh? (${cmd})\n`);
        prompt();
    });
}
