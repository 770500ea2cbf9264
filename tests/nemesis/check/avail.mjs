// Availability figures (reported, never violations): per fault, how long
// clients on the majority side waited for an ack again; the longest pause a
// client saw between acks while it had something to send; the share of
// commands that failed.

/** The faults of the run: the healed record of each id, else its open one. */
export function faultList(run) {
    const byId = new Map();
    for (const f of run.faults.rows) {
        const have = byId.get(f.id);
        if (!have || (f.end !== undefined && have.end === undefined)) byId.set(f.id, f);
    }
    return [...byId.values()].sort((a, b) => a.start - b.start);
}

/** The nodes a fault cut, paused or killed (its targets and its parts').
 * A partition's targets name one side of it, which is not always the side
 * that loses: with a bridge node (one that sees both sides) the targets'
 * side plus the bridge can be the majority, and a one-way cut can leave the
 * leader's side whole. So for a partition with `sides` (of a cluster of
 * @n nodes), the touched nodes are those outside the side that holds a
 * majority with the bridge; when no side does, every node. */
export function affected(f, n = 0) {
    const s = new Set();
    const add = (g) => {
        const sides = g.detail && g.detail.sides;
        if (g.kind === 'partition' && Array.isArray(sides) && n > 0) {
            const bridge = g.detail.bridge;
            const major = sides.find((side) => side.length + (bridge != null && !side.includes(bridge) ? 1 : 0) > n / 2);
            for (let id = 1; id <= n; id++) if (!major || (!major.includes(id) && id !== bridge)) s.add(id);
        } else {
            for (const t of g.targets || []) s.add(t);
        }
    };
    const parts = (f.detail && f.detail.parts) || [];
    if (parts.length) parts.forEach(add);
    else add(f);
    return s;
}

/** A client's unit of progress: arena seq (per player) or mud token n. */
function position(h) {
    if (h.game === 'arena') return { key: `${h.c}/${h.player}`, n: h.seq };
    const m = /x(\d+)$/.exec(h.token || '');
    return { key: h.c, n: m ? Number(m[1]) : NaN };
}

export function availability(run) {
    const hist = run.history.rows.filter((h) => h.ev === 'send' || h.ev === 'ack' || h.ev === 'fail').sort((a, b) => a.t - b.t);
    const end = run.meta.ended ?? (hist.length ? hist[hist.length - 1].t : 0);
    const faults = faultList(run);

    // A fault's witnesses are the clients that were connected, when it
    // began, to a node it did not touch, and sent through that node while
    // it was in force. The time to a witness's first ack of that command or
    // a later one (on whichever node it then reached) is how long the
    // majority side kept it waiting; a fault that touched a majority of the
    // nodes keeps it waiting until the heal. Clients behind touched nodes,
    // or arriving on an untouched one later, say nothing about it: they
    // measure where the clients happened to be, not the cluster. A fault
    // with no witness has no figure. Acks are looked for until WINDOW_MS
    // after the heal.
    const WINDOW_MS = 30000;
    const timeline = run.history.rows.filter((h) => h.c != null).sort((a, b) => a.t - b.t);
    const where = new Map(); // client -> node it is connected to (null: none)
    let next = 0;
    const perFault = faults.map((f) => {
        while (next < timeline.length && timeline[next].t < f.start) {
            const h = timeline[next++];
            where.set(h.c, h.ev === 'close' ? null : h.node);
        }
        const atStart = new Map(where);
        const hit = affected(f, run.meta.nodes_n || (run.meta.nodes || []).length);
        const firstSend = new Map(); // client key -> first n sent through an untouched node
        const until = (f.end ?? end) + WINDOW_MS;
        let recovered = null;
        for (const h of hist) {
            if (h.t < f.start) continue;
            if (h.t > until) break;
            const p = position(h);
            if (h.ev === 'send') {
                const during = f.end === undefined || h.t <= f.end;
                const home = atStart.get(h.c);
                if (during && !firstSend.has(p.key) && home != null && h.node === home && !hit.has(home)) firstSend.set(p.key, p.n);
            } else if (h.ev === 'ack') {
                const n0 = firstSend.get(p.key);
                if (n0 !== undefined && p.n >= n0) {
                    recovered = h;
                    break;
                }
            }
        }
        return {
            id: f.id,
            kind: f.kind,
            variant: f.variant ?? null,
            targets: [...hit],
            start: f.start,
            end: f.end ?? null,
            healed: f.end !== undefined,
            recovery_ms: recovered ? recovered.t - f.start : null,
            recovered_by: recovered ? { client: recovered.c, node: recovered.node } : null,
            witnesses: firstSend.size,
            no_ack_for_ms: recovered || firstSend.size === 0 ? null : Math.min(until, end) - f.start,
        };
    });

    const byKind = {};
    for (const f of perFault) {
        const k = (byKind[f.kind] ||= { count: 0, longest_unavailable_ms: 0, fault: null, never_recovered: 0, unwitnessed: 0 });
        k.count++;
        if (f.witnesses === 0) {
            k.unwitnessed++;
            continue;
        }
        const ms = f.recovery_ms ?? f.no_ack_for_ms;
        if (f.recovery_ms === null) k.never_recovered++;
        if (ms >= k.longest_unavailable_ms) {
            k.longest_unavailable_ms = ms;
            k.fault = f.id;
        }
    }

    // Longest wait for an ack: from the first send after a client's last ack
    // to its next ack.
    const waiting = new Map();
    let longest = { ms: 0, client: null, from: null, to: null };
    for (const h of hist) {
        if (h.ev === 'send') {
            if (!waiting.has(h.c)) waiting.set(h.c, h.t);
        } else if (h.ev === 'ack') {
            const since = waiting.get(h.c);
            if (since !== undefined && h.t - since > longest.ms) longest = { ms: h.t - since, client: h.c, from: since, to: h.t };
            waiting.delete(h.c);
        }
    }
    // A client still waiting when the run ended is not counted: its last
    // sends may have been cut by the final stop, not by a fault.

    const sends = hist.filter((h) => h.ev === 'send').length;
    const fails = hist.filter((h) => h.ev === 'fail').length;
    return {
        faults: perFault,
        by_kind: byKind,
        longest_client_pause: longest,
        sent: sends,
        failed: fails,
        failed_share: sends ? fails / sends : 0,
    };
}
