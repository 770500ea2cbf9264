// The nemesis checker (tests/nemesis/check.mjs) against synthetic run
// directories: a clean history passes, and each kind of broken history fails
// with the violation that names it. Each negative is the clean run with one
// thing changed, so the clean pass is its positive control. No warren
// process: the apply logs are written in the node's exact line format
// (src/node/apply_log.c), the payloads with the arena's and the MUD's
// encodings. Also runs the CLI itself for its exit codes and report.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { readRun } from '../nemesis/check/read.mjs';
import { checkRun } from '../nemesis/check/report.mjs';

const CHECK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../nemesis/check.mjs');
const T0 = 1764500000000;
const NODES = [1, 2, 3];

/* ---- payloads, as the server encodes them ---- */

const hex = (b) => Buffer.from(b).toString('hex');
function u32(v) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
}
function u64(v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
}
const str8 = (s) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);
const TOKEN_HASH = Buffer.alloc(16, 0xab);
const joinPayload = (name) => hex(Buffer.concat([str8(name), TOKEN_HASH, u64(77)]));
const resumePayload = () => hex(Buffer.concat([TOKEN_HASH, u64(78)]));
const movePayload = (dir, seq) => hex(Buffer.concat([Buffer.from([dir]), u32(seq)]));
function sayPayload(text) {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(text.length);
    return hex(Buffer.concat([b, Buffer.from(text, 'latin1')]));
}

/** One apply-log line, byte for byte what src/node/apply_log.c writes. */
const line = (c) => `{"i":${c.i},"m":"${c.m}","n":${c.n},"s":"${c.s}","q":${c.q},"v":"${c.v || 'applied'}","p":"${c.p}"}`;

const S1 = '00000000000a0001'; // player a1's first session (node 1)
const S2 = '00000000000b0001'; // its session after a resume on node 2
const SM = '00000000000c0001'; // the MUD client's session

/**
 * A clean run: arena player 1 ("a1") joins on node 1, moves seq 1..5,
 * loses node 1 to a kill, resumes on node 2 and moves 6..8; MUD client m1
 * says nzm1x1..nzm1x4. Node 3 restarts mid-run and re-applies from index 5
 * (its apply log repeats indexes, as a real one does).
 */
function cleanRun() {
    const cmds = [];
    let i = 3;
    cmds.push({ i, m: 'core.1', n: 1, s: '0000000000000000', q: 0, p: hex(Buffer.concat([str8('127.0.0.1:4001'), u64(5)])) });
    cmds.push({ i, m: 'arena.1', n: 1, s: '0000000000000000', q: 0, p: '40003000' });
    i = 4;
    cmds.push({ i, m: 'arena.2', n: 1, s: S1, q: 1, p: joinPayload('a1') });
    for (let seq = 1; seq <= 5; seq++) cmds.push({ i: 4 + seq, m: 'arena.3', n: 1, s: S1, q: seq + 1, p: movePayload(seq % 4, seq) });
    cmds.push({ i: 10, m: 'arena.3', n: 1, s: S1, q: 6, v: 'duplicate', p: movePayload(1, 5) }); // a resend, dropped
    cmds.push({ i: 11, m: 'arena.5', n: 2, s: S2, q: 1, p: resumePayload() });
    for (let seq = 6; seq <= 8; seq++) cmds.push({ i: 6 + seq, m: 'arena.3', n: 2, s: S2, q: seq - 4, p: movePayload(0, seq) });
    for (let k = 1; k <= 4; k++) cmds.push({ i: 14 + k, m: 'mud.10', n: 3, s: SM, q: k + 1, p: sayPayload(`nzm1x${k}`) });
    const history = [
        { t: T0 + 100, c: 'a1', game: 'arena', ev: 'welcome', node: 1, player: 1, seq: 0, resumed: false },
        { t: T0 + 150, c: 'm1', game: 'mud', ev: 'welcome', node: 3, name: 'Nzm' },
    ];
    let t = T0 + 200;
    for (let seq = 1; seq <= 5; seq++) {
        history.push({ t: t++, c: 'a1', game: 'arena', ev: 'send', node: 1, player: 1, seq, dir: 'up' });
        history.push({ t: t++, c: 'a1', game: 'arena', ev: 'ack', node: 1, player: 1, seq });
    }
    // Node 1 killed at T0+1000 (fault 1) with seq 6 in flight; a1 resumes on
    // node 2 and sends 6 again (it continues at the welcome's seq + 1).
    history.push({ t: T0 + 990, c: 'a1', game: 'arena', ev: 'send', node: 1, player: 1, seq: 6, dir: 'up' });
    history.push({ t: T0 + 1001, c: 'a1', game: 'arena', ev: 'fail', node: 1, player: 1, seq: 6, why: 'closed' });
    history.push({ t: T0 + 1001, c: 'a1', game: 'arena', ev: 'close', node: 1, why: '1006' });
    history.push({ t: T0 + 1200, c: 'a1', game: 'arena', ev: 'welcome', node: 2, player: 1, seq: 5, resumed: true });
    t = T0 + 1300;
    for (let seq = 6; seq <= 8; seq++) {
        history.push({ t: t, c: 'a1', game: 'arena', ev: 'send', node: 2, player: 1, seq, dir: 'up' });
        history.push({ t: t + 20, c: 'a1', game: 'arena', ev: 'ack', node: 2, player: 1, seq });
        t += 100;
    }
    t = T0 + 300;
    for (let k = 1; k <= 4; k++) {
        history.push({ t: t, c: 'm1', game: 'mud', ev: 'send', node: 3, token: `nzm1x${k}` });
        history.push({ t: t + 5, c: 'm1', game: 'mud', ev: 'ack', node: 3, token: `nzm1x${k}` });
        t += 400;
    }
    history.sort((a, b) => a.t - b.t);
    const monitor = [];
    for (let k = 0; k < 4; k++) {
        const tt = T0 + 500 * k;
        const leader = k < 2 ? 1 : 2;
        const term = k < 2 ? 2 : 3;
        for (const n of NODES) {
            if (n === 1 && k >= 2) {
                monitor.push({ t: tt, node: 1, ok: false, error: 'ECONNREFUSED' });
                continue;
            }
            const idx = 5 + 4 * k;
            monitor.push({ t: tt, node: n, ok: true, role: n === leader ? 'leader' : 'follower', term, leader, commit_index: idx, applied_index: idx, state_hash: `h${idx}` });
        }
    }
    const procs = [];
    for (const n of NODES) {
        procs.push({ t: T0 + 10, node: n, pid: 100 + n, rss_kb: 20000, fds: 30 });
        procs.push({ t: T0 + 900, node: n, pid: 100 + n, rss_kb: 24000, fds: 40 });
    }
    procs.push({ t: T0 + 1000, node: 1, pid: 101, ev: 'exit', code: null, signal: 'SIGKILL', expected: true });
    procs.push({ t: T0 + 1500, node: 1, pid: 201, rss_kb: 21000, fds: 31 });
    procs.push({ t: T0 + 1990, node: 1, pid: 201, rss_kb: 22000, fds: 33 });
    for (const n of NODES) procs.push({ t: T0 + 1995, node: n, pid: n === 1 ? 201 : 100 + n, ev: 'exit', code: 0, signal: null, expected: true });
    const faults = [
        { id: 1, kind: 'kill', start: T0 + 1000, open: true },
        { id: 1, kind: 'kill', variant: 'leader', targets: [1], start: T0 + 1000, end: T0 + 1400, detail: { leader: 1 } },
    ];
    const final = {
        t: T0 + 1990,
        converged: true,
        nodes: NODES.map((id) => ({ id, applied_index: 18, state_hash: 'h18', role: id === 2 ? 'leader' : 'follower', term: 3 })),
        state: { applied_index: 18, state_hash: 'h18', width: 64, height: 48, players: [{ id: 1, name: 'a1', x: 1, y: 1, seq: 8, node: 2 }] },
    };
    const meta = {
        seed: 42, duration_s: 2, nodes_n: 3, binary: 'build/warren', sanitizer: false,
        started: T0, ended: T0 + 2000, election_timeout_ms: 300, heartbeat_ms: 50,
        nodes: NODES.map((id) => ({ id, ip: '127.0.0.1', http: 4000 + id, telnet: 4100 + id, cluster: 7000 + id, data: `/tmp/n${id}`, apply_log: `node${id}.apply`, log: `node${id}.log` })),
        clients: { arena: 1, mud: 1 },
    };
    // Node 3 applied up to 9, restarted from a snapshot at 4 and applied 5.. again.
    const applyOf = { 1: cmds.filter((c) => c.i <= 10), 2: cmds, 3: [...cmds.filter((c) => c.i <= 9), ...cmds.filter((c) => c.i >= 5)] };
    const logs = {
        1: '12:00:00.000 node1 info: node 1: cluster ...\n',
        2: '12:00:00.000 node2 info: node 2: cluster ...\n',
        3: '12:00:00.000 node3 info: node 3: cluster ...\n==== harness: start #2 of node 3\n',
    };
    return { meta, history, faults, monitor, procs, final, applyOf, logs };
}

function writeRun(r) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nemesis-check-'));
    const jsonl = (rows) => rows.map((x) => JSON.stringify(x)).join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(r.meta));
    fs.writeFileSync(path.join(dir, 'history.jsonl'), jsonl(r.history));
    fs.writeFileSync(path.join(dir, 'faults.jsonl'), jsonl(r.faults));
    fs.writeFileSync(path.join(dir, 'monitor.jsonl'), jsonl(r.monitor));
    fs.writeFileSync(path.join(dir, 'procs.jsonl'), jsonl(r.procs));
    fs.writeFileSync(path.join(dir, 'final.json'), JSON.stringify(r.final));
    for (const id of NODES) {
        fs.writeFileSync(path.join(dir, `node${id}.apply`), r.applyOf[id].map((c) => line(c) + '\n').join(''));
        fs.writeFileSync(path.join(dir, `node${id}.log`), r.logs[id]);
    }
    return dir;
}

function check(mutate = () => {}) {
    const r = cleanRun();
    mutate(r);
    const dir = writeRun(r);
    try {
        return checkRun(readRun(dir));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const kinds = (rep) => [...new Set(rep.violations.map((v) => v.kind))].sort();
const forAll = (r, f) => {
    for (const id of NODES) r.applyOf[id] = f(r.applyOf[id], id);
};

test('a clean history passes, with its figures', () => {
    const rep = check();
    assert.deepEqual(rep.violations, []);
    assert.equal(rep.ok, true);
    assert.equal(rep.summary.acked.arena, 8);
    assert.equal(rep.summary.acked.mud, 4);
    assert.equal(rep.summary.lost, 0);
    assert.equal(rep.summary.duplicated, 0);
    assert.equal(rep.summary.divergence, 0);
    assert.ok(rep.apply_logs.repeated_blocks > 0, 'the repeated indexes were compared');
    assert.deepEqual(rep.summary.faults, { kill: 1 });
    // Fault at +1000 on node 1; the first ack on another node of a command
    // sent after it: m1's nzm1x3 on node 3, sent at +1100, acked at +1105.
    assert.equal(rep.availability.faults[0].recovery_ms, 105);
    assert.deepEqual(rep.availability.faults[0].recovered_by, { client: 'm1', node: 3 });
    assert.equal(rep.availability.by_kind.kill.longest_unavailable_ms, 105);
    // a1 sent 6 at +990 (lost with node 1), sent it again after the resume
    // and had it acknowledged at +1320.
    assert.deepEqual(rep.availability.longest_client_pause, { ms: 330, client: 'a1', from: T0 + 990, to: T0 + 1320 });
    assert.equal(rep.availability.failed, 1);
    assert.equal(rep.procs.memory[1].max_kb, 24000);
});

test('a lost ack fails: acknowledged but applied nowhere', () => {
    const rep = check((r) => r.history.push({ t: T0 + 1700, c: 'a1', game: 'arena', ev: 'ack', node: 2, player: 1, seq: 9 }));
    assert.deepEqual(kinds(rep), ['arena-lost']);
    assert.equal(rep.violations[0].evidence.seq, 9);
    assert.equal(rep.summary.lost, 1);
});

test('a lost MUD say fails', () => {
    const rep = check((r) => forAll(r, (cs) => cs.filter((c) => c.p !== sayPayload('nzm1x3'))));
    assert.deepEqual(kinds(rep), ['mud-lost']);
    assert.equal(rep.violations[0].evidence.token, 'nzm1x3');
});

test('a duplicated token fails, even with no ack for it', () => {
    const rep = check((r) => forAll(r, (cs) => [...cs, { i: 19, m: 'mud.10', n: 3, s: '00000000000c0002', q: 2, p: sayPayload('nzm1x2') }]));
    assert.deepEqual(kinds(rep), ['mud-duplicate']);
    assert.deepEqual(rep.violations[0].evidence.applied.map((a) => a.i), [16, 19]);
    assert.equal(rep.summary.duplicated, 1);
    // nzm1x1 is not found inside a later nzm1x10.
    assert.equal(check((r) => forAll(r, (cs) => [...cs, { i: 19, m: 'mud.10', n: 3, s: SM, q: 6, p: sayPayload('nzm1x10') }])).ok, true);
});

test('a gap in a player\'s seqs fails', () => {
    // Seq 4 timed out (no ack for it); 5 was acknowledged but 4 never applied.
    const rep = check((r) => {
        forAll(r, (cs) => cs.filter((c) => c.p !== movePayload(4 % 4, 4)));
        const k = r.history.findIndex((h) => h.ev === 'ack' && h.seq === 4);
        r.history[k] = { ...r.history[k], ev: 'fail', why: 'timeout' };
    });
    assert.deepEqual(kinds(rep), ['arena-gap']);
    assert.deepEqual(rep.violations[0].evidence.missing, [4]);
});

test('a reordered seq fails', () => {
    const swap = (c) => (c.m === 'arena.3' && c.i === 12 ? { ...c, p: movePayload(0, 7) } : c.m === 'arena.3' && c.i === 13 ? { ...c, p: movePayload(0, 6) } : c);
    const rep = check((r) => forAll(r, (cs) => cs.map(swap)));
    assert.deepEqual(kinds(rep), ['arena-reorder']);
    assert.equal(rep.violations[0].evidence.seq, 6);
    assert.equal(rep.violations[0].evidence.after_seq, 7);
});

test('a move applied twice fails', () => {
    const rep = check((r) => forAll(r, (cs) => cs.map((c) => (c.i === 10 ? { ...c, v: 'applied' } : c))));
    assert.deepEqual(kinds(rep), ['arena-duplicate']);
    assert.equal(rep.violations[0].evidence.seq, 5);
});

test('two leaders in one term fail', () => {
    const rep = check((r) => r.monitor.push({ t: T0 + 1100, node: 3, ok: true, role: 'leader', term: 3, leader: 3, commit_index: 13, applied_index: 13, state_hash: 'h13' }));
    assert.deepEqual(kinds(rep), ['two-leaders']);
    assert.equal(rep.violations[0].evidence.term, 3);
});

test('two state hashes at one applied index fail', () => {
    const rep = check((r) => r.monitor.push({ t: T0 + 1100, node: 3, ok: true, role: 'follower', term: 3, leader: 2, commit_index: 13, applied_index: 13, state_hash: 'other' }));
    assert.deepEqual(kinds(rep), ['hash-divergence']);
    assert.equal(rep.violations[0].evidence.index, 13);
    assert.equal(rep.summary.divergence, 1);
});

test('hashes are compared at the index they belong to (state_hash_index), not at applied_index', () => {
    // Under load a node's hash trails its applied index: two nodes at one
    // applied index with hashes of different indexes are fine...
    let rep = check((r) => r.monitor.push({ t: T0 + 1100, node: 3, ok: true, role: 'follower', term: 3, leader: 2, commit_index: 13, applied_index: 13, state_hash: 'h11', state_hash_index: 11 }));
    assert.deepEqual(kinds(rep), []);
    // ...and two different hashes at one state_hash_index are not.
    rep = check((r) => r.monitor.push({ t: T0 + 1100, node: 3, ok: true, role: 'follower', term: 3, leader: 2, commit_index: 14, applied_index: 14, state_hash: 'other', state_hash_index: 13 }));
    assert.deepEqual(kinds(rep), ['hash-divergence']);
    assert.equal(rep.violations[0].evidence.index, 13);
});

test('nodes that end apart fail', () => {
    const rep = check((r) => (r.final.nodes[2].state_hash = 'h17'));
    assert.deepEqual(kinds(rep), ['final-divergence']);
});

test('a differing apply-log line fails, across nodes and within one node\'s repeats', () => {
    let rep = check((r) => (r.applyOf[2] = r.applyOf[2].map((c) => (c.i === 9 ? { ...c, v: 'gap' } : c))));
    assert.deepEqual(kinds(rep), ['apply-log-divergence']);
    assert.equal(rep.violations[0].evidence.index, 9);
    // Nodes 1 and 3 agree: node 2 is the odd one, and the rest of the checks
    // read their version (no move reported lost).
    assert.deepEqual(rep.violations[0].evidence.nodes, [1, 2]);
    assert.match(rep.violations[0].evidence.node2, /"v":"gap"/);
    // Node 3's second copy of index 6 differs from its first.
    rep = check((r) => {
        const k = r.applyOf[3].findLastIndex((c) => c.i === 6);
        r.applyOf[3][k] = { ...r.applyOf[3][k], p: movePayload(3, 2) };
    });
    assert.ok(kinds(rep).includes('apply-log-divergence'), JSON.stringify(kinds(rep)));
});

test('an unexpected exit fails', () => {
    const rep = check((r) => r.procs.push({ t: T0 + 1600, node: 3, pid: 103, ev: 'exit', code: 134, signal: null, expected: false }));
    assert.deepEqual(kinds(rep), ['unexpected-exit']);
    assert.equal(rep.violations[0].evidence.node, 3);
});

test('an ASan report or a failed assertion in a node log fails', () => {
    let rep = check((r) => (r.logs[2] += '==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010\n'));
    assert.deepEqual(kinds(rep), ['sanitizer-report']);
    assert.equal(rep.violations[0].evidence.node, 2);
    assert.equal(rep.violations[0].evidence.first[0].line, 2);
    rep = check((r) => (r.logs[1] += "warren: src/world/world.c:88: apply: Assertion `s != NULL' failed.\n"));
    assert.deepEqual(kinds(rep), ['assertion-failure']);
});

test('memory growth and an fd leak fail', () => {
    let rep = check((r) => r.procs.push({ t: T0 + 1900, node: 2, pid: 102, rss_kb: 2 * 24000 + 65536 + 1, fds: 40 }));
    assert.deepEqual(kinds(rep), ['memory-growth']);
    rep = check((r) => r.procs.push({ t: T0 + 1900, node: 2, pid: 102, rss_kb: 24000, fds: 30 + 64 + 4 + 1 }));
    assert.deepEqual(kinds(rep), ['fd-leak']);
});

test('a torn last line is tolerated, a torn middle line is not', () => {
    const dir = writeRun(cleanRun());
    try {
        fs.appendFileSync(path.join(dir, 'node2.apply'), '{"i":19,"m":"arena.3","n":2,"s":"00');
        fs.appendFileSync(path.join(dir, 'history.jsonl'), '{"t":1,"c":"a1"');
        assert.deepEqual(checkRun(readRun(dir)).violations, []);
        fs.appendFileSync(path.join(dir, 'node2.apply'), '\n' + line({ i: 19, m: 'core.1', n: 1, s: '0000000000000000', q: 0, p: '' }) + '\n');
        assert.deepEqual(kinds(checkRun(readRun(dir))), ['apply-log-unreadable']);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('the CLI: exit 0 and report.json on a clean run; exit 1 with evidence, seed, schedule and reproduce command on a violation', () => {
    const clean = writeRun(cleanRun());
    const r0 = spawnSync(process.execPath, [CHECK, clean], { encoding: 'utf8', timeout: 20000 });
    const bad = cleanRun();
    bad.procs.push({ t: T0 + 1600, node: 3, pid: 103, ev: 'exit', code: null, signal: 'SIGSEGV', expected: false });
    const broken = writeRun(bad);
    const r1 = spawnSync(process.execPath, [CHECK, broken], { encoding: 'utf8', timeout: 20000 });
    const r2 = spawnSync(process.execPath, [CHECK, '--help'], { encoding: 'utf8', timeout: 20000 });
    const r3 = spawnSync(process.execPath, [CHECK, path.join(clean, 'nope')], { encoding: 'utf8', timeout: 20000 });
    try {
        assert.equal(r0.status, 0, r0.stdout + r0.stderr);
        assert.match(r0.stdout, /PASS/);
        assert.equal(JSON.parse(fs.readFileSync(path.join(clean, 'report.json'), 'utf8')).ok, true);
        assert.equal(r1.status, 1, r1.stdout + r1.stderr);
        assert.match(r1.stdout, /\[unexpected-exit\] node 3 \(pid 103\) exited unexpectedly: code null, signal SIGSEGV/);
        assert.match(r1.stdout, /seed: 42/);
        assert.match(r1.stdout, /#1 kill\/leader targets \[1\] at \+1\.000 s, healed after 400 ms/);
        assert.match(r1.stdout, /reproduce: make nemesis SEED=42 DURATION=2 NODES=3/);
        assert.equal(r2.status, 0);
        assert.match(r2.stdout, /usage: node tests\/nemesis\/check.mjs/);
        assert.equal(r3.status, 2);
        assert.match(r3.stderr, /not a directory/);
    } finally {
        fs.rmSync(clean, { recursive: true, force: true });
        fs.rmSync(broken, { recursive: true, force: true });
    }
});
