// Fan-out at a broadcast rate (docs/protocol.md, "Updates" and "Binary
// updates"), driven the way clients drive it: a 3-node cluster with
// --broadcast-hz 5 (a 200 ms period, long enough to tell "at once" from
// "coalesced" on a busy machine), three movers on three nodes sending a
// move every 40 ms, and observers; some clients ask for binary updates
// ("enc":"bin"), the others keep JSON.
//
//   - a mover's own acknowledgement comes at once: its median latency is
//     well under one period (half of it), and comes in frames holding only
//     its own player;
//   - others' changes come in broadcast frames, at most ~5 per second per
//     client, each carrying several players (the movers send 75 moves a
//     second between them: uncoalesced that would be dozens of frames);
//   - nothing lost: every mover's final position and seq (/api/state)
//     reaches every client, binary and JSON alike, and the binary and JSON
//     clients end with the same arena;
//   - a player that leaves is removed everywhere (binary left section, JSON
//     `left`) and never shows again in a later frame;
//   - once nobody moves, no frame at all arrives (no empty broadcasts).
// The binary layout is decoded here by a decoder of our own, written from
// protocol.md, not shared with the server or the browser client.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster, stopAllClusters, waitFor, delay, ArenaClient, randomDir } from './lib/cluster.mjs';

after(stopAllClusters);

const HZ = 5;
const PERIOD = 1000 / HZ;
const MOVE_EVERY_MS = 40;
const MOVES = 60; // per mover: 2.4 s of moving

/** Decode one binary update (protocol.md's table); throws on a bad frame. */
function decodeBinary(buf) {
    const b = Buffer.from(buf);
    if (b.length < 16) throw new Error(`binary frame of ${b.length} bytes`);
    if (b.readUInt8(0) !== 1) throw new Error(`binary frame of kind ${b.readUInt8(0)}`);
    const flags = b.readUInt8(1);
    const nLeft = b.readUInt32LE(4), nFull = b.readUInt32LE(8), nMoved = b.readUInt32LE(12);
    let o = 16;
    const left = [];
    for (let i = 0; i < nLeft; i++, o += 4) left.push(b.readUInt32LE(o));
    const players = [];
    for (let i = 0; i < nFull; i++) {
        const nl = b.readUInt8(o + 17);
        players.push({
            id: b.readUInt32LE(o), x: b.readUInt16LE(o + 4), y: b.readUInt16LE(o + 6), seq: b.readUInt32LE(o + 8),
            node: b.readUInt32LE(o + 12), connected: b.readUInt8(o + 16) === 1, name: b.toString('ascii', o + 18, o + 18 + nl),
        });
        o += 18 + nl;
    }
    for (let i = 0; i < nMoved; i++, o += 12) {
        players.push({ id: b.readUInt32LE(o), x: b.readUInt16LE(o + 4), y: b.readUInt16LE(o + 6), seq: b.readUInt32LE(o + 8) });
    }
    if (o !== b.length) throw new Error(`binary frame: ${b.length - o} bytes after the last record`);
    return { full: (flags & 1) !== 0, left, players };
}

/**
 * An arena client that records every update-carrying frame with its
 * arrival time, and may ask for binary updates. Binary frames are turned
 * into the same `update` / `left` bookkeeping as the JSON ones.
 */
class FanoutClient extends ArenaClient {
    constructor(label, binary) {
        super(label);
        this.binary = binary;
        this.frames = []; // {at, players: [{id,x,y,seq}], left: [ids], full, binary}
        this.sentAt = new Map(); // own seq -> send time
        this.badFrames = [];
        this.goneIds = new Set(); // ids seen leaving
        this.reappeared = []; // ids shown again after their left
    }

    _record(f) {
        for (const id of f.left) this.goneIds.add(id);
        for (const p of f.players) if (this.goneIds.has(p.id)) this.reappeared.push(p.id);
        this.frames.push(f);
    }

    _onMessage(data, isBinary) {
        const at = Date.now();
        if (!isBinary) {
            let m;
            try {
                m = JSON.parse(data.toString());
            } catch {
                m = null;
            }
            if (m && m.t === 'update') this._record({ at, players: m.players, left: [], full: false, binary: false });
            if (m && m.t === 'left') this._record({ at, players: [], left: [m.id], full: false, binary: false });
            return super._onMessage(data, isBinary);
        }
        let u;
        try {
            u = decodeBinary(data);
        } catch (e) {
            this.badFrames.push(e.message);
            return;
        }
        this._record({ at, ...u, binary: true });
        // Feed the base class the JSON equivalents: lefts, then the players.
        for (const id of u.left) super._onMessage(JSON.stringify({ t: 'left', id }), false);
        if (u.players.length) super._onMessage(JSON.stringify({ t: 'update', players: u.players }), false);
    }

    async join(name, opts) {
        if (!this.binary) return super.join(name, opts);
        const p = this._wait({ pred: (m) => m && m.t === 'welcome', timeout: 5000, what: `welcome for ${name}`, failOnError: () => true });
        this.send({ t: 'join', name, enc: 'bin' });
        return p;
    }

    move(dir) {
        const seq = super.move(dir);
        this.sentAt.set(seq, Date.now());
        return seq;
    }

    /** Frames that are own acknowledgements: only our own player, nothing else. */
    isAck(f) {
        return !f.full && f.left.length === 0 && f.players.length === 1 && f.players[0].id === this.id;
    }
}

const median = (v) => {
    const s = [...v].sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

// The same with --broadcast-phases 3 (the clients' broadcasts spread over
// the period in three groups): every client still gets at most ~HZ
// frames a second, nothing is lost or shown again, and two clients of one
// node in different groups get their broadcasts apart in time.
for (const phases of [1, 3]) test(
    `fan-out: own acks at once, others coalesced at --broadcast-hz, binary and JSON clients agree, nothing lost (--broadcast-phases ${phases})`,
    { timeout: 120000 },
    withCluster({ name: `fanout-p${phases}`, extraArgs: ['--broadcast-hz', String(HZ), '--broadcast-phases', String(phases)] }, async (c) => {
        await c.leader({ timeout: 15000 });
        await waitFor(async () => (await c.http(1, '/readyz')).status === 200, { timeout: 10000, what: 'node 1 ready' });
        const mk = async (id, label, binary) => {
            const cl = new FanoutClient(label, binary);
            c.clients.add(cl);
            const n = c.node(id);
            await cl.connect(n.httpPort, { host: n.host });
            cl.nodeId = id;
            return cl;
        };
        // Movers on every node, binary and JSON; observers of both kinds.
        const movers = [await mk(1, 'm1bin', true), await mk(2, 'm2json', false), await mk(3, 'm3bin', true)];
        const observers = [await mk(1, 'o1json', false), await mk(2, 'o2bin', true), await mk(3, 'o3json', false)];
        const leaver = await mk(2, 'leaverbin', true);
        const all = [...movers, ...observers];
        for (const cl of [...all, leaver]) await cl.join(cl.label);
        // Every client has the full list (the first update after its welcome).
        await waitFor(() => all.every((cl) => [...all, leaver].every((o) => cl.players.has(o.id))), {
            timeout: 5000,
            what: 'every client lists every player',
        });
        for (const cl of all) {
            const first = cl.frames.find((f) => f.players.length > 0);
            assert.ok(first, `${cl.label}: an update after the welcome`);
            if (cl.binary) assert.equal(first.full, true, `${cl.label}: the first binary update is flagged FULL`);
        }

        // The leaver moves a little and leaves while the others move.
        const start = Date.now();
        const moving = movers.map(async (m) => {
            for (let i = 0; i < MOVES; i++) {
                m.move(randomDir());
                await delay(MOVE_EVERY_MS);
            }
        });
        await delay(500);
        await leaver.moveAndWait('up', { timeout: 5000 });
        leaver.send({ t: 'leave' });
        await leaver.waitClosed({ timeout: 5000 });
        await Promise.all(moving);
        const end = Date.now();
        for (const m of movers) await m.waitAcked(m.seq, { timeout: 10000 });

        // Nothing lost: every client ends with what /api/state says.
        const state = await waitFor(
            async () => {
                const s = await c.api(1, '/api/state');
                return movers.every((m) => s.players.some((p) => p.id === m.id && p.seq === m.seq)) ? s : false;
            },
            { timeout: 5000, what: 'node 1 applied every move' },
        );
        const want = new Map(state.players.map((p) => [p.id, p]));
        assert.equal(want.has(leaver.id), false, 'the leaver is gone from /api/state');
        await waitFor(
            () =>
                all.every((cl) =>
                    movers.every((m) => {
                        const p = cl.players.get(m.id);
                        const w = want.get(m.id);
                        return p && p.x === w.x && p.y === w.y && p.seq === w.seq;
                    }),
                ),
            { timeout: 3 * PERIOD + 3000, what: 'every client sees every mover at its final position and seq' },
        );
        const view = (cl) =>
            JSON.stringify([...cl.players.values()].map((p) => [p.id, p.x, p.y, p.seq, p.name]).sort((a, b) => a[0] - b[0]));
        const expected = JSON.stringify(
            [...want.values()].map((p) => [p.id, p.x, p.y, p.seq, p.name]).sort((a, b) => a[0] - b[0]),
        );
        for (const cl of all) assert.equal(view(cl), expected, `${cl.label} (${cl.binary ? 'binary' : 'JSON'}) ends with /api/state's arena`);
        for (const cl of all) {
            assert.deepEqual(cl.badFrames, [], `${cl.label}: every binary frame decodes`);
            assert.ok(cl.goneIds.has(leaver.id), `${cl.label} was told the leaver left`);
            assert.deepEqual(cl.reappeared, [], `${cl.label}: no player shows again after its left`);
        }
        assert.ok(movers[0].frames.some((f) => f.binary) && movers[1].frames.every((f) => !f.binary), 'binary clients got binary frames, JSON clients none');

        // Own acknowledgements: at once, in a frame of their own.
        for (const m of movers) {
            // A move is acknowledged by the first frame with its seq or a later one.
            const lat = [];
            for (const [seq, sent] of m.sentAt) {
                const a = m.ackTimes.find((x) => x.seq >= seq);
                if (a) lat.push(a.at - sent);
            }
            const acks = m.frames.filter((f) => f.at >= start && m.isAck(f));
            console.log(`fanout_ack ${m.label} acks=${lat.length} ack_frames=${acks.length} median_ms=${median(lat)} period_ms=${PERIOD}`);
            assert.equal(lat.length, MOVES, `${m.label}: every move acknowledged`);
            assert.ok(median(lat) < PERIOD / 2, `${m.label}: median own-ack latency ${median(lat)} ms is well under one period (${PERIOD} ms)`);
            assert.ok(acks.length >= MOVES / 2, `${m.label}: ${acks.length} frames holding only its own player`);
        }

        // Others' changes: coalesced into at most ~HZ frames a second, each
        // with several players.
        const secs = (end - start) / 1000;
        for (const cl of all) {
            const bcast = cl.frames.filter(
                (f) => f.at >= start && f.at <= end + PERIOD && !f.full && f.players.some((p) => p.id !== cl.id),
            );
            const perFrame = bcast.reduce((s, f) => s + f.players.length, 0) / Math.max(1, bcast.length);
            console.log(`fanout_bcast ${cl.label} frames=${bcast.length} secs=${secs.toFixed(2)} players_per_frame=${perFrame.toFixed(1)}`);
            assert.ok(bcast.length >= 3, `${cl.label}: broadcasts arrived (${bcast.length})`);
            assert.ok(
                bcast.length <= Math.ceil((secs + PERIOD / 1000) * HZ) + 2,
                `${cl.label}: ${bcast.length} broadcast frames in ${secs.toFixed(2)} s at --broadcast-hz ${HZ}`,
            );
            assert.ok(perFrame >= 2, `${cl.label}: ${perFrame.toFixed(1)} players per broadcast frame (coalesced)`);
        }

        // Phases: on each node the mover joined first and the observer
        // second, so with 3 phases they are in different groups and their
        // broadcasts come about a third of a period apart; with 1 phase
        // they come in the same loop iteration. (The one case is the
        // other's control.)
        const bcastTimes = (cl) =>
            cl.frames.filter((f) => f.at >= start && f.at <= end && !f.full && f.players.some((p) => p.id !== cl.id)).map((f) => f.at);
        for (let i = 0; i < movers.length; i++) {
            const mt = bcastTimes(movers[i]);
            const gaps = bcastTimes(observers[i]).map((t) => Math.min(...mt.map((u) => Math.abs(u - t))));
            const gap = median(gaps);
            console.log(`fanout_phase node=${movers[i].nodeId} phases=${phases} median_gap_ms=${gap}`);
            if (phases === 1) assert.ok(gap < PERIOD / 6, `node ${movers[i].nodeId}: one phase, broadcasts ${gap} ms apart`);
            else assert.ok(gap >= PERIOD / 6, `node ${movers[i].nodeId}: ${phases} phases, broadcasts ${gap} ms apart (expected about ${Math.round(PERIOD / phases)})`);
        }

        // Idle: once nothing changes, nothing is sent.
        await delay(2 * PERIOD);
        const counts = all.map((cl) => cl.frames.length);
        await delay(5 * PERIOD);
        assert.deepEqual(all.map((cl) => cl.frames.length), counts, 'no frame while nobody moves');
    }),
);
