// The apply logs agree: every index present on several nodes (or several
// times on one node, after restarts) has identical lines everywhere. Their
// union, one copy per index in index order, is the history of what the
// cluster applied; the game checks read it.

/**
 * @returns {{merged: Array<{i, node, rows}>, violations, figures}}
 */
export function checkApplyLogs(run) {
    const violations = [];
    const copies = new Map(); // index -> [{node, lines, rows}] in file order, nodes in id order
    let blocks = 0;
    for (const id of run.nodeIds) {
        const a = run.nodes[id].apply;
        if (a.missing) {
            violations.push({
                kind: 'apply-log-missing',
                msg: `node ${id}: no apply log ${run.nodes[id].applyName} (was the node started with --apply-log?)`,
                evidence: { node: id, file: run.nodes[id].applyName },
            });
            continue;
        }
        for (const b of a.badLines) {
            violations.push({
                kind: 'apply-log-unreadable',
                msg: `node ${id}: line ${b.line} of ${run.nodes[id].applyName} is not JSON (a node writes whole lines)`,
                evidence: { node: id, line: b.line, text: b.text },
            });
        }
        for (const b of a.blocks) {
            blocks++;
            if (!copies.has(b.i)) copies.set(b.i, []);
            copies.get(b.i).push({ node: id, lines: b.lines, rows: b.rows });
        }
    }
    const merged = [];
    let repeats = 0;
    for (const [i, cs] of [...copies.entries()].sort((x, y) => x[0] - y[0])) {
        repeats += cs.length - 1;
        // The version most copies hold is taken as what the cluster applied
        // (ties: the lowest node id); every other version is a divergence.
        const versions = [];
        for (const c of cs) {
            const v = versions.find((x) => sameLines(x.lines, c.lines));
            if (v) v.copies.push(c);
            else versions.push({ lines: c.lines, rows: c.rows, copies: [c] });
        }
        const main = versions.reduce((best, v) => (v.copies.length > best.copies.length ? v : best), versions[0]);
        merged.push({ i, node: main.copies[0].node, rows: main.rows });
        for (const v of versions) {
            if (v === main) continue;
            const ref = main.copies[0].node;
            const odd = v.copies[0].node;
            const k = firstDiff(main.lines, v.lines);
            violations.push({
                kind: 'apply-log-divergence',
                msg:
                    ref === odd
                        ? `index ${i}: node ${odd} applied it twice with different commands or verdicts`
                        : `index ${i}: node ${odd} applied different commands or verdicts than node ${ref}`,
                evidence: {
                    index: i,
                    nodes: [ref, odd],
                    line: k + 1,
                    [`node${ref}`]: main.lines[k] ?? '(no line)',
                    [`node${odd}${ref === odd ? '_again' : ''}`]: v.lines[k] ?? '(no line)',
                },
            });
        }
    }
    return {
        merged,
        violations,
        figures: { indexes: merged.length, blocks, repeated_blocks: repeats, commands: merged.reduce((s, e) => s + e.rows.length, 0) },
    };
}

function sameLines(a, b) {
    return a.length === b.length && a.every((l, k) => l === b[k]);
}

function firstDiff(a, b) {
    const n = Math.max(a.length, b.length);
    for (let k = 0; k < n; k++) if (a[k] !== b[k]) return k;
    return 0;
}

/** Every command of the merged history, in apply order, with its index. */
export function* commands(merged) {
    for (const e of merged) for (const r of e.rows) yield r;
}
