// Process checks: no unexpected exit, no sanitizer report or failed
// assertion in any node's log, memory bounded, no file descriptor leak.
//
// Memory: per node, over all its lives, the largest RSS sampled in the last
// quarter of the run must not exceed twice the largest in the first quarter
// plus 64 MiB (a leak grows without bound; warm-up, caches and a restarted
// process do not). File descriptors: per process life (one pid), the last
// sample may exceed the first by at most FD_SLACK + 2 per client (clients
// reconnect to whichever node is up, each holding one socket).

export const RSS_SLACK_KB = 64 * 1024;
export const FD_SLACK = 64;

const SANITIZER = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/;
const ASSERTION = /Assertion [`'].*' failed|assertion failed/i;

export function scanLog(text) {
    const found = [];
    const lines = text.split('\n');
    lines.forEach((l, k) => {
        if (SANITIZER.test(l)) found.push({ kind: 'sanitizer-report', line: k + 1, text: l.slice(0, 300) });
        else if (ASSERTION.test(l)) found.push({ kind: 'assertion-failure', line: k + 1, text: l.slice(0, 300) });
    });
    return found;
}

export function checkProcs(run) {
    const violations = [];
    const exits = run.procs.rows.filter((r) => r.ev === 'exit');
    for (const e of exits) {
        if (e.expected) continue;
        violations.push({
            kind: 'unexpected-exit',
            msg: `node ${e.node} (pid ${e.pid}) exited unexpectedly: code ${e.code}, signal ${e.signal}`,
            evidence: { node: e.node, pid: e.pid, code: e.code, signal: e.signal, t: e.t },
        });
    }
    for (const id of run.nodeIds) {
        const n = run.nodes[id];
        const hits = scanLog(n.logText);
        // One report of each kind per node with its first line; the count says the rest.
        for (const kind of ['sanitizer-report', 'assertion-failure']) {
            const h = hits.filter((x) => x.kind === kind);
            if (!h.length) continue;
            violations.push({
                kind,
                msg: `node ${id}: ${h.length} ${kind === 'sanitizer-report' ? 'sanitizer' : 'assertion'} line(s) in ${n.logName}, first at line ${h[0].line}: ${h[0].text}`,
                evidence: { node: id, file: n.logName, count: h.length, first: h.slice(0, 3) },
            });
        }
    }

    const samples = run.procs.rows.filter((r) => r.ev === undefined && r.rss_kb !== undefined);
    const t0 = run.meta.started ?? Math.min(...samples.map((s) => s.t));
    const t1 = run.meta.ended ?? Math.max(...samples.map((s) => s.t));
    const q = (t1 - t0) / 4;
    const memory = {};
    for (const id of run.nodeIds) {
        const ss = samples.filter((s) => s.node === id).sort((a, b) => a.t - b.t);
        if (!ss.length) continue;
        const first = ss.filter((s) => s.t <= t0 + q);
        const lastQ = ss.filter((s) => s.t >= t1 - q);
        const firstMax = first.length ? Math.max(...first.map((s) => s.rss_kb)) : null;
        const lastMax = lastQ.length ? Math.max(...lastQ.map((s) => s.rss_kb)) : null;
        memory[id] = {
            start_kb: ss[0].rss_kb,
            end_kb: ss[ss.length - 1].rss_kb,
            max_kb: Math.max(...ss.map((s) => s.rss_kb)),
            first_quarter_max_kb: firstMax,
            last_quarter_max_kb: lastMax,
        };
        if (firstMax !== null && lastMax !== null && lastMax > 2 * firstMax + RSS_SLACK_KB)
            violations.push({
                kind: 'memory-growth',
                msg: `node ${id}: RSS reached ${lastMax} KiB in the last quarter of the run, over 2 x ${firstMax} KiB (first quarter) + 64 MiB`,
                evidence: { node: id, ...memory[id] },
            });
    }

    const clients = run.meta.clients ? (run.meta.clients.arena || 0) + (run.meta.clients.mud || 0) : 0;
    const slack = FD_SLACK + 2 * clients;
    const lives = new Map();
    for (const s of samples) {
        if (s.fds === undefined) continue;
        const k = `${s.node}/${s.pid}`;
        const l = lives.get(k);
        if (!l) lives.set(k, { node: s.node, pid: s.pid, first: s, last: s });
        else {
            if (s.t < l.first.t) l.first = s;
            if (s.t >= l.last.t) l.last = s;
        }
    }
    const fds = [];
    for (const l of lives.values()) {
        fds.push({ node: l.node, pid: l.pid, start: l.first.fds, end: l.last.fds });
        if (l.last.fds - l.first.fds > slack)
            violations.push({
                kind: 'fd-leak',
                msg: `node ${l.node} (pid ${l.pid}): ${l.last.fds} open fds at its last sample against ${l.first.fds} at its first (slack ${slack})`,
                evidence: { node: l.node, pid: l.pid, first: l.first, last: l.last, slack },
            });
    }
    return {
        violations,
        figures: { exits: exits.length, unexpected_exits: exits.filter((e) => !e.expected).length, memory, fds, fd_slack: slack },
    };
}
