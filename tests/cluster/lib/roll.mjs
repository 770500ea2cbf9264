// Clients that keep playing across drains and restarts (drain.test.mjs,
// roll.test.mjs): an arena player and a MUD character over /mud/ws. Each
// loops: connect to a node (a refused upgrade or a close sends it to the
// next node in its list), join / create the first time and resume with the
// welcome's token after that, then one command at a time, each waiting for
// its acknowledgement. They record what the tests check: every welcome's
// identity (the same player id / character name all along), the highest
// acknowledged move, the close codes seen, and the longest time between two
// acknowledgements (the pause a player saw). Every loop is bounded in time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ArenaClient, delay, raceTimeout } from './cluster.mjs';

/** A world of `zones` zones of 10 rooms each in a row ("Room Z.R", unique
 * names), start z0.r0: placement has zones to move, and a character
 * walking east and west always knows which room it is in. */
export function rowWorld(zones = 6) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-rowworld-'));
    if (process.env.WARREN_KEEP !== '1') process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, 'zones'));
    fs.writeFileSync(path.join(dir, 'world.yaml'), 'name: Rows\nstart: z0.r0\n');
    for (let z = 0; z < zones; z++) {
        let y = `zone:\n  id: z${z}\n  name: Zone ${z}\n  desc: A row of rooms.\n  graveyard: r0\n\nrooms:\n`;
        for (let r = 0; r < 10; r++) {
            const exits = [];
            if (r > 0) exits.push(`w: r${r - 1}`);
            if (r < 9) exits.push(`e: r${r + 1}`);
            y += `  - id: r${r}\n    name: Room ${z}.${r}\n    desc: A plain room.\n    x: ${r}\n    y: 0\n    exits: {${exits.join(', ')}}\n`;
        }
        fs.writeFileSync(path.join(dir, 'zones', `z${z}.yaml`), y);
    }
    return dir;
}

/** Shared by the two kinds of player: node rotation, pauses, stop. */
class Resuming {
    /** @param nodes [{id, port}] in the order to try, from `start` */
    constructor(label, nodes, start, { maxMs = 120000 } = {}) {
        this.label = label;
        this.nodes = nodes;
        this.idx = start % nodes.length;
        this.deadline = Date.now() + maxMs;
        this.stopped = false;
        this.welcomes = []; // {node, at, resumed}
        this.closes = []; // {node, code, reason, at}
        this.refused = []; // {node, why, at}: upgrades refused, connects failed
        this.lastAckAt = 0;
        this.maxPause = 0; // ms between two acknowledgements
        this.maxPauseAt = 0;
        this.acks = 0;
        this.node = null; // the node of the current session
        this.done = null;
    }
    start() {
        this.done = this._loop();
        return this;
    }
    async stop() {
        this.stopped = true;
        await Promise.race([this.done, delay(8000)]);
    }
    /** Stop counting pauses (e.g. until the clients have all joined). */
    resetPauses() {
        this.maxPause = 0;
        this.lastAckAt = 0;
    }
    _acked() {
        const now = Date.now();
        if (this.lastAckAt && now - this.lastAckAt > this.maxPause) {
            this.maxPause = now - this.lastAckAt;
            this.maxPauseAt = now;
        }
        this.lastAckAt = now;
        this.acks++;
    }
    _next() {
        this.idx = (this.idx + 1) % this.nodes.length;
    }
    async _loop() {
        while (!this.stopped && Date.now() < this.deadline) {
            const n = this.nodes[this.idx];
            this.node = n.id;
            let entered = false;
            try {
                entered = await this.session(n);
            } catch (e) {
                this.refused.push({ node: n.id, why: e.message.split('\n')[0], at: Date.now() });
            }
            this.node = null;
            if (this.stopped) break;
            this._next();
            await delay(entered ? 50 : 200); // pacing between attempts, bounded by the deadline
        }
    }
}

/** An arena player that resumes on close. */
export class ResumingArena extends Resuming {
    constructor(name, nodes, start, opts = {}) {
        super(name, nodes, start, opts);
        this.name = name;
        this.id = undefined;
        this.token = null;
        this.ids = new Set(); // every player id a welcome gave
        this.seq = 0; // last seq sent
        this.acked = 0; // highest acknowledged seq
        this.interval = opts.interval || 100;
    }
    async session(n) {
        const cl = new ArenaClient(`${this.name}@${n.id}`);
        this.cl = cl;
        await cl.connect(n.port, { timeout: 2000 });
        try {
            const w = this.token ? await cl.resume(this.token, { timeout: 5000 }) : await cl.join(this.name, { timeout: 5000 });
            this.token = w.token;
            this.id = w.id;
            this.ids.add(w.id);
            this.welcomes.push({ node: n.id, at: Date.now(), resumed: this.welcomes.length > 0 });
        } catch (e) {
            cl.terminate();
            throw e;
        }
        while (!this.stopped && !cl.closeInfo && Date.now() < this.deadline) {
            // The server's close frame arrived but not yet the socket's end:
            // the close event (and its code) follows; sending now would throw.
            if (cl.ws.readyState !== WebSocket.OPEN) {
                await raceTimeout(cl.closed, 3000);
                break;
            }
            const t0 = Date.now();
            const r = await cl.moveAndWait(['up', 'down', 'left', 'right'][this.seq % 4], { timeout: 3000, failOnUnavailable: false });
            this.seq = Math.max(this.seq, cl.seq);
            if (r.ok) {
                this.acked = Math.max(this.acked, cl.acked);
                this._acked();
            }
            const wait = this.interval - (Date.now() - t0);
            if (wait > 0) await delay(wait);
        }
        if (cl.closeInfo) this.closes.push({ node: n.id, code: cl.closeInfo.code, reason: cl.closeInfo.reason, at: cl.closeInfo.at });
        cl.terminate();
        return true;
    }
}

/** A /mud/ws connection: messages in order, text accumulated, waits. */
class MudWs {
    constructor(label) {
        this.label = label;
        this.text = '';
        this.msgs = [];
        this.waiters = new Set();
        this.closeInfo = null;
    }
    connect(port, timeout = 2000) {
        return new Promise((resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${port}/mud/ws`, { handshakeTimeout: timeout });
            this.ws = ws;
            ws.on('open', () => resolve(this));
            ws.on('unexpected-response', (req, res) => {
                let body = '';
                res.on('data', (d) => (body += d));
                res.on('end', () => reject(new Error(`${this.label}: upgrade answered HTTP ${res.statusCode}: ${body}`)));
            });
            ws.on('error', (e) => reject(new Error(`${this.label}: ${e.message}`)));
            ws.on('message', (data) => {
                let m;
                try {
                    m = JSON.parse(String(data));
                } catch {
                    return;
                }
                if (m.t === 'text' || m.t === 'prompt') this.text += m.data;
                if (this.msgs.length < 5000) this.msgs.push(m);
                for (const w of [...this.waiters]) w();
            });
            ws.on('close', (code, reason) => {
                this.closeInfo = { code, reason: String(reason), at: Date.now() };
                for (const w of [...this.waiters]) w();
            });
        });
    }
    send(obj) {
        if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
    }
    line(text) {
        this.send({ t: 'line', text });
    }
    /** Wait until pred() is truthy (checked on every message); rejects on
     * close or timeout. */
    until(pred, timeout, what) {
        return new Promise((resolve, reject) => {
            const check = () => {
                const v = pred();
                if (v) return done(null, v);
                if (this.closeInfo) return done(new Error(`${this.label}: closed (${this.closeInfo.code}) waiting for ${what}`));
            };
            const timer = setTimeout(() => done(new Error(`${this.label}: timed out waiting for ${what}`)), timeout);
            const done = (err, v) => {
                clearTimeout(timer);
                this.waiters.delete(check);
                if (err) reject(err);
                else resolve(v);
            };
            this.waiters.add(check);
            check();
        });
    }
    /** The first message from index @from on for which pred(m) holds. */
    msgFrom(from, pred, timeout, what) {
        return this.until(() => this.msgs.slice(from).find(pred), timeout, what);
    }
    textFrom(from, re, timeout) {
        return this.until(() => re.exec(this.text.slice(from)), timeout, `text ${re}`);
    }
    terminate() {
        if (this.ws) this.ws.terminate();
    }
}

/** A MUD character over /mud/ws that walks east and west in its row and
 * resumes on close. Its acknowledgement of a move is the Room.Info of the
 * room it entered. */
export class ResumingMud extends Resuming {
    constructor(name, password, nodes, start, opts = {}) {
        super(name, nodes, start, opts);
        this.name = name;
        this.password = password;
        this.token = null;
        this.names = new Set(); // every name a welcome gave
        this.room = null; // the last Room.Info (after a move or a welcome)
        this.interval = opts.interval || 250;
    }
    async session(n) {
        const s = new MudWs(`${this.name}@${n.id}`);
        this.s = s;
        await s.connect(n.port);
        try {
            const from = s.msgs.length;
            if (this.token) s.send({ t: 'resume', token: this.token });
            else await this._create(s);
            const w = await s.msgFrom(from, (m) => m.t === 'welcome' || (m.t === 'error' && m.code !== 'moved'), 8000, 'welcome');
            if (w.t !== 'welcome') throw new Error(`${this.name}: ${w.code}: ${w.msg}`);
            const at = s.msgs.indexOf(w);
            this.token = w.token;
            this.names.add(w.name);
            this.welcomes.push({ node: n.id, at: Date.now(), resumed: this.welcomes.length > 0 });
            this.room = (await s.msgFrom(at, (m) => m.t === 'gmcp' && m.pkg === 'Room.Info', 5000, 'the room after the welcome')).data;
        } catch (e) {
            s.terminate();
            throw e;
        }
        while (!this.stopped && !s.closeInfo && Date.now() < this.deadline) {
            const t0 = Date.now();
            const exits = Object.keys(this.room.exits || {}).filter((d) => d === 'e' || d === 'w');
            const dir = exits[Math.floor(Math.random() * exits.length)] || 'e';
            const from = s.msgs.length;
            s.line(dir);
            try {
                this.room = (await s.msgFrom(from, (m) => m.t === 'gmcp' && m.pkg === 'Room.Info', 3000, `Room.Info after ${dir}`)).data;
                this._acked();
            } catch {
                /* closed, or slow: the loop decides */
            }
            const wait = this.interval - (Date.now() - t0);
            if (wait > 0) await delay(wait);
        }
        if (s.closeInfo) this.closes.push({ node: n.id, code: s.closeInfo.code, reason: s.closeInfo.reason, at: s.closeInfo.at });
        s.terminate();
        return true;
    }
    async _create(s) {
        const t = 8000;
        await s.textFrom(0, /By what name are you known\? $/, t);
        let at = s.text.length;
        s.line(this.name);
        await s.textFrom(at, /Create a new character called \w+\? \(y\/n\)/, t);
        at = s.text.length;
        s.line('y');
        await s.textFrom(at, /Password: $/, t);
        at = s.text.length;
        s.line(this.password);
        await s.textFrom(at, /Again, to be sure: $/, t);
        at = s.text.length;
        s.line(this.password);
        // race and class questions, if the world asks them (bounded)
        for (let k = 0; k < 4; k++) {
            const m = await s.until(
                () => s.msgs.some((x) => x.t === 'welcome') || /Your (race|class) \(number or name\): $/.exec(s.text.slice(at)),
                t,
                'the welcome or a race/class question',
            );
            if (m === true) return;
            at = s.text.length;
            s.line('1');
        }
    }
}
