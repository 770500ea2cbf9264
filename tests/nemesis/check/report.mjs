// Running every check over a run and rendering the result: report.json
// (everything, for machines) and a human report (figures, then each
// violation with its evidence, then how to reproduce the run).
import { checkApplyLogs } from './applylog.mjs';
import { checkArena } from './arena.mjs';
import { availability, faultList } from './avail.mjs';
import { checkMonitor } from './monitor.mjs';
import { checkMud } from './mud.mjs';
import { checkProcs } from './procs.mjs';

const DIVERGENCE = new Set(['apply-log-divergence', 'hash-divergence', 'final-divergence']);
const DUPLICATE = new Set(['arena-duplicate', 'mud-duplicate']);

export function reproduceCommand(meta) {
    return `make nemesis SEED=${meta.seed} DURATION=${meta.duration_s} NODES=${meta.nodes_n}`;
}

/** Run every check over a run read by readRun; returns the report object. */
export function checkRun(run) {
    const violations = [];
    if (run.meta.ended === undefined)
        violations.push({ kind: 'run-interrupted', msg: 'meta.json has no "ended": the runner was interrupted, so the checks cover part of a run', evidence: { started: run.meta.started } });
    for (const [name, f] of [['history.jsonl', run.history], ['faults.jsonl', run.faults], ['monitor.jsonl', run.monitor], ['procs.jsonl', run.procs]]) {
        for (const b of f.badLines)
            violations.push({ kind: 'run-file-unreadable', msg: `${name} line ${b.line} is not JSON`, evidence: { file: name, ...b } });
    }
    const logs = checkApplyLogs(run);
    const arena = checkArena(run, logs.merged);
    const mud = checkMud(run, logs.merged);
    const mon = checkMonitor(run);
    const procs = checkProcs(run);
    violations.push(...logs.violations, ...arena.violations, ...mud.violations, ...mon.violations, ...procs.violations);
    const avail = availability(run);
    const faultCounts = {};
    for (const f of faultList(run)) faultCounts[f.kind] = (faultCounts[f.kind] || 0) + 1;
    const count = (set) => violations.filter((v) => set.has(v.kind)).length;
    return {
        ok: violations.length === 0,
        run: run.dir,
        seed: run.meta.seed,
        duration_s: run.meta.duration_s,
        nodes_n: run.meta.nodes_n,
        started: run.meta.started,
        reproduce: reproduceCommand(run.meta),
        summary: {
            faults: faultCounts,
            acked: { arena: arena.figures.acked, mud: mud.figures.acked },
            sent: { arena: arena.figures.sent, mud: mud.figures.sent },
            failed_share: avail.failed_share,
            lost: arena.figures.lost + mud.figures.lost,
            duplicated: count(DUPLICATE),
            divergence: count(DIVERGENCE),
            violations: violations.length,
        },
        availability: avail,
        apply_logs: logs.figures,
        arena: { ...arena.figures, notes: arena.notes },
        mud: mud.figures,
        monitor: mon.figures,
        procs: procs.figures,
        fault_schedule: faultList(run),
        violations,
    };
}

const ms = (x) => (x === null || x === undefined ? '-' : `${x} ms`);

/** The human report, as lines. */
export function renderReport(r) {
    const out = [];
    const s = r.summary;
    out.push(`nemesis check of ${r.run}: ${r.ok ? 'PASS' : `FAIL (${s.violations} violation${s.violations === 1 ? '' : 's'})`}`);
    out.push(`seed ${r.seed}, ${r.duration_s} s, ${r.nodes_n} nodes`);
    out.push(`faults: ${Object.entries(s.faults).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
    out.push(`acknowledged: arena ${s.acked.arena} of ${s.sent.arena} sent, mud ${s.acked.mud} of ${s.sent.mud} sent; failed ${(100 * s.failed_share).toFixed(1)}% of commands`);
    out.push(`lost ${s.lost}, duplicated ${s.duplicated}, divergence ${s.divergence}`);
    out.push(`apply logs: ${r.apply_logs.indexes} indexes, ${r.apply_logs.commands} commands, ${r.apply_logs.repeated_blocks} repeated copies compared`);
    const kinds = Object.entries(r.availability.by_kind);
    if (kinds.length) {
        out.push('longest unavailability per fault kind (fault start to the first ack of a command a client sent after it through a node the fault did not touch):');
        for (const [k, v] of kinds) {
            const notes = [];
            if (v.never_recovered) notes.push(`${v.never_recovered} without an ack within 30 s of the heal`);
            if (v.unwitnessed) notes.push(`${v.unwitnessed} of ${v.count} with no client sending through an untouched node`);
            out.push(`  ${k.padEnd(12)} ${String(v.longest_unavailable_ms).padStart(7)} ms (fault ${v.fault})${notes.length ? `, ${notes.join('; ')}` : ''}`);
        }
    }
    const p = r.availability.longest_client_pause;
    out.push(`longest pause between acks: ${ms(p.ms)}${p.client ? ` (client ${p.client})` : ''}`);
    for (const [id, m] of Object.entries(r.procs.memory))
        out.push(`node ${id} RSS: start ${m.start_kb} KiB, end ${m.end_kb} KiB, max ${m.max_kb} KiB`);
    if (!r.ok) {
        out.push('');
        out.push('VIOLATIONS:');
        for (const v of r.violations) {
            out.push(`- [${v.kind}] ${v.msg}`);
            out.push(`    ${JSON.stringify(v.evidence)}`);
        }
        out.push('');
        out.push(`seed: ${r.seed}`);
        out.push('fault schedule:');
        const rel = (t) => `+${((t - r.started) / 1000).toFixed(3)} s`;
        for (const f of r.fault_schedule)
            out.push(`  #${f.id} ${f.kind}${f.variant ? `/${f.variant}` : ''} targets [${(f.targets || []).join(',')}] at ${rel(f.start)}, ${f.end !== undefined ? `healed after ${f.end - f.start} ms` : 'never healed'}`);
        out.push(`reproduce: ${r.reproduce}`);
    }
    return out;
}
