// Cluster-level checks from monitor.jsonl and final.json: at most one
// leader per term, one state hash per index, and at the end every node at
// the same applied index with the same state hash. A sample's state_hash
// belongs to its state_hash_index (docs/api.md), which trails applied_index
// under load; samples without one (older releases) hash at applied_index.

const hashIndex = (s) => (Number.isInteger(s.state_hash_index) ? s.state_hash_index : s.applied_index);

export function checkMonitor(run) {
    const violations = [];
    const leaders = new Map(); // term -> Map(node -> first sample t)
    const hashes = new Map(); // hash index -> Map(hash -> {node, t})
    let samples = 0;
    let failed = 0;
    for (const s of run.monitor.rows) {
        samples++;
        if (!s.ok) {
            failed++;
            continue;
        }
        if (s.role === 'leader' && s.term !== undefined) {
            if (!leaders.has(s.term)) leaders.set(s.term, new Map());
            const m = leaders.get(s.term);
            if (!m.has(s.node)) m.set(s.node, s.t);
        }
        if (hashIndex(s) !== undefined && s.state_hash) {
            if (!hashes.has(hashIndex(s))) hashes.set(hashIndex(s), new Map());
            const m = hashes.get(hashIndex(s));
            if (!m.has(s.state_hash)) m.set(s.state_hash, { node: s.node, t: s.t });
        }
    }
    for (const [term, m] of leaders) {
        if (m.size < 2) continue;
        violations.push({
            kind: 'two-leaders',
            msg: `term ${term}: nodes ${[...m.keys()].join(' and ')} both reported being leader`,
            evidence: { term, leaders: Object.fromEntries([...m].map(([n, t]) => [`node${n}`, { first_seen: t }])) },
        });
    }
    for (const [index, m] of hashes) {
        if (m.size < 2) continue;
        violations.push({
            kind: 'hash-divergence',
            msg: `index ${index}: ${m.size} different state hashes`,
            evidence: { index, hashes: Object.fromEntries([...m].map(([h, v]) => [h, v])) },
        });
    }

    const f = run.final;
    if (!f || f.__unreadable) {
        violations.push({
            kind: 'no-final',
            msg: f ? `final.json is unreadable: ${f.__unreadable}` : 'no final.json: the run did not reach heal and convergence',
            evidence: {},
        });
    } else {
        const nodes = f.nodes || [];
        const idx = new Set(nodes.map((n) => n.applied_index));
        const hs = new Set(nodes.map((n) => n.state_hash));
        const behind = nodes.filter((n) => hashIndex(n) !== n.applied_index); // hash not of the final state
        if (!f.converged || idx.size > 1 || hs.size > 1 || behind.length > 0 || nodes.length < run.nodeIds.length)
            violations.push({
                kind: 'final-divergence',
                msg: `at the end the nodes ${f.converged ? '' : 'did not converge: they '}report ${idx.size} applied index(es) and ${hs.size} state hash(es) over ${nodes.length} of ${run.nodeIds.length} nodes`,
                evidence: { converged: !!f.converged, nodes: nodes.map((n) => ({ id: n.id, applied_index: n.applied_index, state_hash: n.state_hash, state_hash_index: n.state_hash_index, role: n.role, term: n.term })) },
            });
    }
    return {
        violations,
        figures: { samples, failed_samples: failed, terms_with_leader: leaders.size, indexes_sampled: hashes.size },
    };
}
