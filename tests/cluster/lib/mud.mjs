// Helpers for the MUD cluster tests (mud.test.mjs, mud-failover.test.mjs):
// node settings that make the tests fast, a copy of the sample world with
// quicker NPC timers, a small reader of the world files' rooms and exits (to
// map room keys to names and to tell neighbours), and a player over telnet
// (TelnetClient) that creates or logs in a character and runs commands.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, waitFor, delay } from './cluster.mjs';
import { TelnetClient, stripAnsi } from './telnet.mjs';

/** Cheap argon2id (the issue allows it for tests). */
export const FAST_PWHASH = ['--mud-pwhash-ops', '1', '--mud-pwhash-mem', '8192'];

/**
 * A copy of world/ in a temp dir with faster timers for the two quick
 * wanderers (the tunnel rats of the mine, the stray dog of the town): 1-2 s
 * between actions instead of 15-45 s and 20-60 s, so "the NPC keeps acting
 * after a failover" is observable in seconds. Everything else is the sample
 * world as shipped. Returns the directory (for --mud-world).
 */
export function fastWorld() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-mudworld-'));
    if (process.env.WARREN_KEEP !== '1') process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    fs.cpSync(path.join(REPO, 'world'), dir, { recursive: true });
    const patch = (file, from, to) => {
        const p = path.join(dir, file);
        const s = fs.readFileSync(p, 'utf8');
        if (!s.includes(from)) throw new Error(`fastWorld: ${file} no longer has ${JSON.stringify(from)}; update the test world`);
        fs.writeFileSync(p, s.replace(from, to));
    };
    patch('zones/mine.yaml', 'min_delay: 15s\n        random_delay: 30s', 'min_delay: 1s\n        random_delay: 1s');
    patch('zones/town.yaml', 'min_delay: 20s\n        random_delay: 40s', 'min_delay: 1s\n        random_delay: 1s');
    return dir;
}

/**
 * Rooms of the world files under @dir: Map key ("town.square") ->
 * {key, name, zone, exits: Map dir -> key}. A small reader for the two
 * styles the sample world uses (flow maps and block maps); it throws if a
 * room has no name, so a change of format fails loudly.
 */
export function readRooms(dir = path.join(REPO, 'world')) {
    const rooms = new Map();
    const zdir = path.join(dir, 'zones');
    for (const f of fs.readdirSync(zdir).filter((x) => x.endsWith('.yaml'))) {
        const text = fs.readFileSync(path.join(zdir, f), 'utf8');
        const zone = /^zone:\s*\n\s+id:\s*(\w+)/m.exec(text)[1];
        const sec = /^rooms:\s*\n([\s\S]*?)(?=^\w)/m.exec(text)[1];
        const full = (k) => (k.includes('.') ? k : `${zone}.${k}`);
        for (const chunk of sec.split(/^ {2}- id:/m).slice(1)) {
            const id = /^\s*(\w+)/.exec(chunk)[1];
            const nm = /^ {4}name:\s*(.+)$/m.exec(chunk);
            if (!nm) throw new Error(`readRooms: room ${zone}.${id} has no name`);
            const exits = new Map();
            const flow = /^ {4}exits:\s*\{(.*)\}\s*$/m.exec(chunk);
            if (flow) {
                // "n: market, w: {to: inn, door: door}": split on top-level commas
                let depth = 0;
                let cur = '';
                const parts = [];
                for (const ch of flow[1]) {
                    if (ch === '{') depth++;
                    if (ch === '}') depth--;
                    if (ch === ',' && depth === 0) {
                        parts.push(cur);
                        cur = '';
                    } else cur += ch;
                }
                parts.push(cur);
                for (const p of parts) {
                    const m = /^\s*(\w+):\s*(?:\{\s*to:\s*([\w.]+)[^}]*\}|([\w.]+))\s*$/.exec(p);
                    if (!m) throw new Error(`readRooms: cannot read exit "${p}" of ${zone}.${id}`);
                    exits.set(m[1], full(m[2] || m[3]));
                }
            } else {
                const block = /^ {4}exits:\s*\n((?: {6}.*\n?)+)/m.exec(chunk);
                if (block) {
                    for (const line of block[1].split('\n').filter((l) => l.trim())) {
                        const m = /^\s*(\w+):\s*(?:\{\s*to:\s*([\w.]+)[^}]*\}|([\w.]+))\s*$/.exec(line);
                        if (!m) throw new Error(`readRooms: cannot read exit "${line}" of ${zone}.${id}`);
                        exits.set(m[1], full(m[2] || m[3]));
                    }
                }
            }
            const key = `${zone}.${id}`;
            rooms.set(key, { key, name: nm[1].trim(), zone, exits });
        }
    }
    const names = new Map();
    for (const r of rooms.values()) {
        if (names.has(r.name)) throw new Error(`readRooms: room name "${r.name}" is not unique`);
        names.set(r.name, r.key);
    }
    return rooms;
}

/** Room key of the room called @name. */
export function keyOfName(rooms, name) {
    for (const r of rooms.values()) if (r.name === name) return r.key;
    return undefined;
}

/** Are rooms @a and @b the same or joined by an exit (either way)? */
export function sameOrNeighbour(rooms, a, b) {
    if (a === b) return true;
    const ra = rooms.get(a);
    const rb = rooms.get(b);
    return (ra && [...ra.exits.values()].includes(b)) || (rb && [...rb.exits.values()].includes(a));
}

/** Wait until node @id has the world loaded and every zone has an owner. */
export async function waitWorld(c, id = 1, timeout = 15000) {
    return waitFor(
        async () => {
            const m = await c.api(id, '/api/mud');
            return m.world && m.zones.length > 0 && m.zones.every((z) => z.owner) ? m : false;
        },
        { timeout, interval: 50, what: `node ${id}: world loaded and every zone owned` },
    );
}

/** A random name of @n letters (names are letters only), capitalised. */
export function randomName(prefix = '', n = 6) {
    let s = prefix;
    while (s.length < n) s += String.fromCharCode(97 + Math.floor(Math.random() * 26));
    return s[0].toUpperCase() + s.slice(1).toLowerCase();
}

/** A playing character's prompt: "<45/60hp 20/20sp 30/30ep> " (or "> "). */
export const PROMPT_RE = '(?:<\\d+/\\d+hp \\d+/\\d+sp \\d+/\\d+ep> |> )';

/**
 * After a new character's second password: answer the race and the class
 * questions if the world asks them (@race, @cls: a number or a name), and
 * stop just before the welcome line, or before the news that the name was
 * taken meanwhile (the caller waits for either). A world with one race and
 * one class asks nothing.
 */
export async function answerChoices(t, { race = '1', cls = '1', timeout = 10000 } = {}) {
    for (;;) {
        const m = await t.waitFor(/Your (race|class) \(number or name\): $|(?=Welcome to [^\n]*, \w+\.|Someone just took the name)/, timeout);
        if (!m[1]) return;
        t.send(m[1] === 'race' ? race : cls);
    }
}

/**
 * A player over telnet. All waits are bounded; the error says what the
 * client received.
 */
export class Player {
    constructor(t, label) {
        this.t = t;
        this.label = label;
        this.name = undefined;
        this.room = undefined; // name of the last room a Room.Info named (acknowledged)
    }

    static async connect(c, nodeId, opts = {}) {
        const label = opts.label || `telnet@${nodeId}`;
        const t = await TelnetClient.connect(c.telnetPort(nodeId), '127.0.0.1', { stripAnsi: true, label, ...opts });
        const p = new Player(t, label);
        p.nodeId = nodeId;
        return p;
    }

    text() {
        return this.t.text();
    }

    /**
     * Create character @name with @pw; resolves once in the game (Room.Info
     * seen). @race and @cls answer the race and class questions if the world
     * asks them (a number or a name; the first choice by default).
     */
    async create(name, pw, { timeout = 10000, race = '1', cls = '1' } = {}) {
        const t = this.t;
        await t.waitFor(/By what name are you known\? $/, timeout);
        t.send(name);
        await t.waitFor(`Create a new character called ${name}? (y/n)`, timeout);
        t.send('y');
        await t.waitFor('Password: ', timeout);
        t.send(pw);
        await t.waitFor('Again, to be sure: ', timeout);
        const room = t.waitForGmcp('Room.Info', timeout);
        t.send(pw);
        await answerChoices(t, { race, cls, timeout });
        await t.waitFor(new RegExp(`Welcome to [^\n]*, ${name}\\.`), timeout);
        this.room = (await room).name;
        this.name = name;
        return this;
    }

    /** Log in an existing character; resolves once in the game. */
    async login(name, pw, { timeout = 10000 } = {}) {
        const t = this.t;
        await t.waitFor(/By what name are you known\? $/, timeout);
        t.send(name);
        await t.waitFor('Password: ', timeout);
        const room = t.waitForGmcp('Room.Info', timeout);
        t.send(pw);
        await t.waitFor(new RegExp(`Welcome back(?: to [^\n]*)?, ${name}\\.`), timeout);
        this.room = (await room).name;
        this.name = name;
        return this;
    }

    /** Send @line and wait for @expect (string or RegExp) in the output. */
    async cmd(line, expect, timeout = 8000) {
        this.t.send(line);
        if (expect !== undefined) return this.t.waitFor(expect, timeout);
        return undefined;
    }

    /** Move @dir; resolves with the Room.Info of the room entered. */
    async move(dir, timeout = 8000) {
        const info = this.t.waitForGmcp('Room.Info', timeout);
        this.t.send(dir);
        const r = await info;
        this.room = r.name;
        return r;
    }

    /**
     * `look`: resolves with {name, exits, lines} of the room shown (lines:
     * what follows the exits: items, NPCs, players).
     */
    async look(timeout = 8000) {
        this.t.cursor = this.t.text().length;
        this.t.send('look');
        const m = await this.t.waitFor(new RegExp(`(?:^|\\n)(?:${PROMPT_RE})*([^\\n]+)\\n(?: {2}[^\\n]*\\n)+\\[Exits:([^\\n]*)\\]\\n((?:[^\\n]*\\n)*?)${PROMPT_RE}`), timeout);
        return { name: m[1], exits: m[2].trim(), lines: m[3].split('\n').filter((l) => l) };
    }

    close() {
        return this.t.close();
    }
}

export { stripAnsi, delay };
