// Helpers for the `warren replay` cluster tests (replay.test.mjs,
// replay-seed.test.mjs): their world (tests/cluster/worlds/replay: the
// Hollow where players walk, the Warren where a hare wanders), a character
// created over telnet in that world, running `warren replay` and reading
// its three outputs, and watching the hare.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, runWarren, waitFor } from './cluster.mjs';
import { FAST_PWHASH, Player, answerChoices } from './mud.mjs';

export const REPLAY_WORLD = path.join(REPO, 'tests', 'cluster', 'worlds', 'replay');
export const WORLD_NAME = 'Replay Hollow';

/** Node options for a cluster playing the replay world (or @world). */
export function replayOpts(world = REPLAY_WORLD, extra = []) {
    return { telnet: true, extraArgs: [...FAST_PWHASH, '--mud-world', world, ...extra] };
}

/** A copy of the replay world without the Warren (no NPC, so no zone ticks: a log that goes quiet). */
export function quietWorld() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-replayworld-'));
    if (process.env.WARREN_KEEP !== '1') process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, 'zones'));
    fs.copyFileSync(path.join(REPLAY_WORLD, 'world.yaml'), path.join(dir, 'world.yaml'));
    fs.copyFileSync(path.join(REPLAY_WORLD, 'zones', 'hollow.yaml'), path.join(dir, 'zones', 'hollow.yaml'));
    return dir;
}

/** Create character @name on node @nodeId over telnet; resolves once it is in the world. */
export async function newCharacter(c, nodeId, name, pw, timeout = 10000) {
    const p = await Player.connect(c, nodeId, { label: `${name}@${nodeId}` });
    const t = p.t;
    await t.waitFor(/By what name are you known\? $/, timeout);
    t.send(name);
    await t.waitFor(`Create a new character called ${name}? (y/n)`, timeout);
    t.send('y');
    await t.waitFor('Password: ', timeout);
    t.send(pw);
    await t.waitFor('Again, to be sure: ', timeout);
    const room = t.waitForGmcp('Room.Info', timeout);
    t.send(pw);
    await answerChoices(t, { timeout });
    await t.waitFor(`Welcome to ${WORLD_NAME}, ${name}.`, timeout);
    p.room = (await room).name;
    p.name = name;
    return p;
}

/** `warren replay ARGS...`: {code, stdout, stderr}. */
export function replay(args) {
    return runWarren(['replay', ...args], { timeout: 30000 });
}

/** The "index N hash HEX" line of a replay's output: {index, hash}, or throws. */
export function parseResult(r) {
    const m = /^index (\d+) hash ([0-9a-f]{16})$/m.exec(r.stdout);
    if (r.code !== 0 || !m) throw new Error(`warren replay failed (exit ${r.code}): ${r.stderr || r.stdout}`);
    return { index: Number(m[1]), hash: m[2] };
}

/**
 * The entries of `replay --entries`: [{index, kind, seed, commands: [{name,
 * node, session, seq, len, payload}]}], kind "command", "barrier" or "change".
 */
export function parseEntries(stdout) {
    const out = [];
    for (const line of stdout.split('\n')) {
        let m = /^entry (\d+) term \d+ (command|barrier|change)(?: time (\d+) seed ([0-9a-f]{16}) commands (\d+))?/.exec(line);
        if (m) {
            out.push({ index: Number(m[1]), kind: m[2], seed: m[4], count: m[5] === undefined ? 0 : Number(m[5]), commands: [] });
            continue;
        }
        m = /^ {2}(\S+) node (\d+) session ([0-9a-f]{16}) seq (\d+) len (\d+) payload ([0-9a-f]{16})$/.exec(line);
        if (m && out.length) out[out.length - 1].commands.push({ name: m[1], node: Number(m[2]), session: m[3], seq: Number(m[4]), len: Number(m[5]), payload: m[6] });
    }
    return out;
}

/** The index of the newest snapshot in data directory @dir (libraft's snapshot-TERM-INDEX-TS.meta), or 0. */
export function snapshotIndex(dir) {
    let best = 0;
    for (const f of fs.readdirSync(dir)) {
        const m = /^snapshot-\d+-(\d+)-\d+\.meta$/.exec(f);
        if (m) best = Math.max(best, Number(m[1]));
    }
    return best;
}

/** Names, sizes and modification times of the files in @dir (to see that replay wrote nothing). */
export function listing(dir) {
    return fs
        .readdirSync(dir)
        .sort()
        .map((f) => {
            const st = fs.statSync(path.join(dir, f));
            return `${f} ${st.size} ${st.mtimeMs}`;
        })
        .join('\n');
}

/**
 * Watch the hare on node @id's /api/mud until it has left the hub @departures
 * times; resolves with the burrows it went to, in order.
 */
export async function watchHare(c, id, departures, timeout = 20000) {
    const spokes = [];
    let last;
    await waitFor(
        async () => {
            const m = await c.api(id, '/api/mud');
            const hare = m.npcs.find((n) => n.key === 'hare');
            if (hare && hare.room !== last) {
                if (last === 'warren.hub') spokes.push(hare.room);
                last = hare.room;
            }
            return spokes.length >= departures;
        },
        { timeout, interval: 50, what: `the hare leaving its hub ${departures} times (so far: ${spokes.join(', ')})` },
    );
    return spokes;
}
