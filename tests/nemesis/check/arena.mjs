// Arena checks: every acknowledged move is applied, each player's moves
// applied exactly once and in order.
//
// How sessions and seqs map to players (src/arena/arena.c, arena_node.c):
// - A connection's join or resume opens a fresh world session (a random
//   64-bit key chosen by the client's node); its session seqs ("q") count
//   1, 2, 3... and the world drops repeats, so q is NOT the player's seq.
// - JOIN (arena.2, payload: u8 len | name | 16-byte token hash | u64 node
//   incarnation) creates a player with the next id (ids count from 1, never
//   reused), unless the name is taken by a live player (refused; the verdict
//   is still "applied": the game refused, not the world).
// - RESUME (arena.5, payload: token hash | incarnation) moves the player
//   holding that token hash to the new session; the old session is closed,
//   so its commands are "stale" from then on.
// - MOVE (arena.3, payload: u8 dir | u32 client seq) sets the player's seq
//   to the client seq. A player's client seqs count 1, 2, 3... across all its
//   sessions: after a resume the client continues at the welcome's seq + 1.
//   So the applied client seqs of one player must be exactly 1..n in apply
//   order; a gap, a step back or a repeat is a violation.
// - LEAVE (arena.4) removes the session's player; EXPIRE (arena.8, u32 id |
//   u64 since) removes a disconnected one. The checker cannot see the entry
//   times that EXPIRE compares, so it treats an EXPIRE of a disconnected
//   player as effective (DISCONNECT arena.6, NODE_DOWN arena.7 and a node's
//   new incarnation in core.1 disconnect; a move, PRESENT arena.9 or a resume
//   reconnects). This only matters if a name is reused after an expiry.
// The checker replays these rules over the merged apply log to find each
// player's moves. History events name a player by its id (the welcome's
// "id"); a string is taken as the player's name instead.

const hexBuf = (h) => Buffer.from(h || '', 'hex');

function str8(b, off) {
    const n = b[off];
    if (n === undefined || off + 1 + n > b.length) return null;
    return { s: b.subarray(off + 1, off + 1 + n).toString('latin1'), next: off + 1 + n };
}

function u64(b, off) {
    return off + 8 <= b.length ? b.readBigUInt64LE(off).toString() : null;
}

/** Replay the arena's player rules over the merged apply log. */
export function arenaPlayers(merged) {
    const players = new Map(); // id -> player
    const bySession = new Map(); // session -> id | null (refused)
    const liveByName = new Map();
    const liveByHash = new Map();
    const notes = [];
    let nextId = 1;
    const remove = (p) => {
        p.live = false;
        if (liveByName.get(p.name) === p.id) liveByName.delete(p.name);
        if (liveByHash.get(p.hash) === p.id) liveByHash.delete(p.hash);
    };
    for (const e of merged) {
        for (const r of e.rows) {
            if (r.v !== 'applied') continue;
            const b = hexBuf(r.p);
            if (r.m === 'core.1') {
                const s = str8(b, 0);
                const inc = s && u64(b, s.next);
                if (inc !== null && inc !== undefined)
                    for (const p of players.values()) if (p.live && p.node === r.n && p.inc !== inc) p.connected = false;
                continue;
            }
            if (!r.m.startsWith('arena.')) continue;
            const type = Number(r.m.slice(6));
            const pid = bySession.get(r.s);
            const p = pid ? players.get(pid) : undefined;
            switch (type) {
                case 2: {
                    if (p) break; // a session holds one player
                    const s = str8(b, 0);
                    if (!s) break;
                    const hash = s.next + 24 <= b.length ? b.subarray(s.next, s.next + 16).toString('hex') : '';
                    if (liveByName.has(s.s)) {
                        bySession.set(r.s, null);
                        break;
                    }
                    const np = {
                        id: nextId++,
                        name: s.s,
                        hash,
                        inc: u64(b, s.next + 16),
                        node: r.n,
                        connected: true,
                        live: true,
                        joinedAt: r.i,
                        sessions: [r.s],
                        moves: [], // {seq, i, s, q}
                    };
                    players.set(np.id, np);
                    bySession.set(r.s, np.id);
                    liveByName.set(np.name, np.id);
                    if (hash) liveByHash.set(hash, np.id);
                    break;
                }
                case 5: {
                    if (p) break;
                    const hash = b.length >= 16 ? b.subarray(0, 16).toString('hex') : '';
                    const id = liveByHash.get(hash);
                    if (!id) {
                        bySession.set(r.s, null);
                        break;
                    }
                    const q = players.get(id);
                    q.sessions.push(r.s);
                    q.node = r.n;
                    q.inc = u64(b, 16);
                    q.connected = true;
                    bySession.set(r.s, id);
                    break;
                }
                case 3: {
                    if (!p || !p.live) {
                        if (pid === undefined) notes.push(`index ${r.i}: a move on session ${r.s}, which has no player`);
                        break;
                    }
                    if (b.length < 5) break;
                    p.moves.push({ seq: b.readUInt32LE(1), i: r.i, s: r.s, q: r.q });
                    p.connected = true;
                    break;
                }
                case 4:
                    if (p && p.live) remove(p);
                    break;
                case 6:
                    if (p) p.connected = false;
                    break;
                case 7: {
                    const node = b.length >= 4 ? b.readUInt32LE(0) : -1;
                    for (const q of players.values()) if (q.live && q.node === node) q.connected = false;
                    break;
                }
                case 8: {
                    const q = b.length >= 4 ? players.get(b.readUInt32LE(0)) : undefined;
                    if (q && q.live && !q.connected) remove(q);
                    break;
                }
                case 9:
                    if (p) p.connected = true;
                    break;
                default:
                    break;
            }
        }
    }
    return { players, notes };
}

/** Each player's applied seqs must be 1..n, in order, each once. */
function checkSeqs(p, violations) {
    const seen = new Map(); // seq -> first move
    let max = 0;
    for (const mv of p.moves) {
        const first = seen.get(mv.seq);
        if (first) {
            violations.push({
                kind: 'arena-duplicate',
                msg: `player ${p.id} (${p.name}): move seq ${mv.seq} applied twice (indexes ${first.i} and ${mv.i})`,
                evidence: { player: p.id, name: p.name, seq: mv.seq, indexes: [first.i, mv.i], sessions: [first.s, mv.s] },
            });
            continue;
        }
        seen.set(mv.seq, mv);
        if (mv.seq < max) {
            violations.push({
                kind: 'arena-reorder',
                msg: `player ${p.id} (${p.name}): move seq ${mv.seq} applied at index ${mv.i}, after seq ${max}`,
                evidence: { player: p.id, name: p.name, seq: mv.seq, index: mv.i, after_seq: max, after_index: seen.get(max).i },
            });
        }
        max = Math.max(max, mv.seq);
    }
    const missing = [];
    for (let s = 1; s <= max && missing.length < 20; s++) if (!seen.has(s)) missing.push(s);
    if (missing.length) {
        const next = p.moves.find((m) => m.seq > missing[0]);
        violations.push({
            kind: 'arena-gap',
            msg: `player ${p.id} (${p.name}): move seq ${missing.join(', ')} never applied, but seq up to ${max} were`,
            evidence: { player: p.id, name: p.name, missing, max_seq: max, next_applied: next ? { seq: next.seq, index: next.i } : null },
        });
    }
    return seen;
}

function resolvePlayer(players, who, seq) {
    if (typeof who === 'number') return players.get(who);
    const same = [...players.values()].filter((p) => p.name === who);
    return same.find((p) => p.moves.some((m) => m.seq === seq)) || same[same.length - 1];
}

export function checkArena(run, merged) {
    const violations = [];
    const { players, notes } = arenaPlayers(merged);
    const appliedSeqs = new Map();
    for (const p of players.values()) appliedSeqs.set(p.id, checkSeqs(p, violations));

    const events = run.history.rows.filter((h) => h.game === 'arena');
    const maxAck = new Map(); // player id -> {seq, t, c}
    let lost = 0;
    for (const h of events) {
        if (h.ev !== 'ack' || !(h.seq > 0)) continue;
        const p = resolvePlayer(players, h.player, h.seq);
        if (!p || !appliedSeqs.get(p.id).has(h.seq)) {
            lost++;
            violations.push({
                kind: 'arena-lost',
                msg: `client ${h.c}: move seq ${h.seq} of player ${h.player} was acknowledged but no node applied it`,
                evidence: { client: h.c, player: h.player, seq: h.seq, acked_at: h.t, node: h.node, applied_max: p ? Math.max(0, ...appliedSeqs.get(p.id).keys()) : null },
            });
            continue;
        }
        const m = maxAck.get(p.id);
        if (!m || h.seq > m.seq) maxAck.set(p.id, { seq: h.seq, t: h.t, c: h.c });
    }

    // The final state holds every acknowledged move of a player still there.
    const finalPlayers = (run.final && run.final.state && run.final.state.players) || null;
    if (finalPlayers) {
        const byId = new Map(finalPlayers.map((p) => [p.id, p]));
        for (const [id, ack] of maxAck) {
            const p = players.get(id);
            const f = byId.get(id);
            if (!f) {
                if (p.live)
                    violations.push({
                        kind: 'arena-player-missing',
                        msg: `player ${id} (${p.name}) never left or expired in the apply logs but is not in final.json's state`,
                        evidence: { player: id, name: p.name, acked_seq: ack.seq },
                    });
                continue;
            }
            if (!(f.seq >= ack.seq))
                violations.push({
                    kind: 'arena-final-behind',
                    msg: `player ${id} (${p.name}): final state has seq ${f.seq}, below the acknowledged ${ack.seq}`,
                    evidence: { player: id, name: p.name, final_seq: f.seq, acked_seq: ack.seq, client: ack.c, acked_at: ack.t },
                });
        }
    }

    const sends = events.filter((h) => h.ev === 'send').length;
    const fails = events.filter((h) => h.ev === 'fail').length;
    // Acknowledged commands: the sent seqs at or below the player's highest ack.
    const sentBy = new Map();
    for (const h of events) {
        if (h.ev !== 'send') continue;
        const p = resolvePlayer(players, h.player, h.seq);
        const k = p ? p.id : `?${h.player}`;
        if (!sentBy.has(k)) sentBy.set(k, new Set());
        sentBy.get(k).add(h.seq);
    }
    let acked = 0;
    for (const [id, ack] of maxAck) for (const s of sentBy.get(id) || []) if (s <= ack.seq) acked++;
    return {
        violations,
        notes: notes.slice(0, 20),
        figures: {
            players: players.size,
            moves_applied: [...players.values()].reduce((s, p) => s + p.moves.length, 0),
            sent: sends,
            acked,
            failed: fails,
            lost,
        },
    };
}
