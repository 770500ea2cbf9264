// MUD checks: every acknowledged `say <token>` applied exactly once, no
// token applied twice (acknowledged or not: a refused, failed or timed-out
// command must not come back), and a client's tokens applied in increasing
// n order.
//
// Tokens are `nz<client>x<n>` (FORMAT.md). The checker finds them in the
// payloads of applied mud commands (a say's payload is its text: u16 len |
// bytes) as whole words: a run of [A-Za-z0-9_-] starting with "nz", so
// nzm1x1 is never found inside nzm1x10.

const WORD = /nz[A-Za-z0-9_-]*/g;
const TOKEN = /^nz(.+)x(\d+)$/;

export function parseToken(tok) {
    const m = TOKEN.exec(tok);
    return m ? { client: m[1], n: Number(m[2]) } : null;
}

/** token -> [{i, n (node), s, q, m}] in apply order. */
export function mudTokens(merged) {
    const found = new Map();
    for (const e of merged) {
        for (const r of e.rows) {
            if (r.v !== 'applied' || !r.m.startsWith('mud.')) continue;
            const text = Buffer.from(r.p || '', 'hex').toString('latin1');
            if (!text.includes('nz')) continue;
            for (const w of text.match(WORD) || []) {
                if (!parseToken(w)) continue;
                if (!found.has(w)) found.set(w, []);
                found.get(w).push({ i: r.i, node: r.n, s: r.s, q: r.q, m: r.m });
            }
        }
    }
    return found;
}

export function checkMud(run, merged) {
    const violations = [];
    const found = mudTokens(merged);
    const events = run.history.rows.filter((h) => h.game === 'mud');
    const clientOf = new Map();
    for (const h of events) if (h.ev === 'send' && h.token) clientOf.set(h.token, h.c);

    let duplicated = 0;
    for (const [tok, at] of found) {
        if (at.length < 2) continue;
        duplicated++;
        violations.push({
            kind: 'mud-duplicate',
            msg: `token ${tok} (client ${clientOf.get(tok) ?? parseToken(tok).client}) applied ${at.length} times, at indexes ${at.map((a) => a.i).join(', ')}`,
            evidence: { token: tok, client: clientOf.get(tok) ?? null, applied: at },
        });
    }

    let lost = 0;
    const acked = new Set();
    for (const h of events) {
        if (h.ev !== 'ack' || !h.token) continue;
        acked.add(h.token);
        if (found.has(h.token)) continue;
        lost++;
        violations.push({
            kind: 'mud-lost',
            msg: `client ${h.c}: token ${h.token} was acknowledged but no node applied it`,
            evidence: { client: h.c, token: h.token, acked_at: h.t, node: h.node },
        });
    }

    // Per client, in apply order, n must increase.
    const order = [];
    // (A token's later copies are reported as duplicates, not reorders.)
    for (const [tok, at] of found) order.push({ tok, ...parseToken(tok), i: at[0].i });
    order.sort((x, y) => x.i - y.i);
    const last = new Map();
    for (const o of order) {
        const prev = last.get(o.client);
        if (prev && o.n < prev.n)
            violations.push({
                kind: 'mud-reorder',
                msg: `client ${o.client}: token ${o.tok} applied at index ${o.i}, after ${prev.tok} (index ${prev.i})`,
                evidence: { client: o.client, token: o.tok, index: o.i, after_token: prev.tok, after_index: prev.i },
            });
        if (!prev || o.n > prev.n) last.set(o.client, o);
    }

    return {
        violations,
        figures: {
            sent: events.filter((h) => h.ev === 'send').length,
            acked: acked.size,
            failed: events.filter((h) => h.ev === 'fail').length,
            applied_tokens: found.size,
            lost,
            duplicated,
        },
    };
}
