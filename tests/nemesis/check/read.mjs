// Reading a nemesis run directory (tests/nemesis/FORMAT.md). Every reader
// tolerates what a killed runner leaves behind: a missing file is empty, and
// a truncated last line of a .jsonl file is dropped (and counted, so the
// report can say so). A bad line anywhere else is kept as an error: the
// writers promise whole lines.
import fs from 'node:fs';
import path from 'node:path';

/** Parse JSON lines; returns {rows, badLines: [{line, text}], truncatedLast}. */
export function parseJsonl(text) {
    const lines = text.split('\n');
    // A file that ends in "\n" splits into a last empty string: not a line.
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    const rows = [];
    const badLines = [];
    let truncatedLast = false;
    lines.forEach((l, k) => {
        if (l.trim() === '') return;
        try {
            rows.push(JSON.parse(l));
        } catch {
            if (k === lines.length - 1 && !text.endsWith('\n')) truncatedLast = true;
            else badLines.push({ line: k + 1, text: l.slice(0, 200) });
        }
    });
    return { rows, badLines, truncatedLast };
}

function readText(file) {
    try {
        return fs.readFileSync(file, 'utf8');
    } catch (e) {
        if (e.code === 'ENOENT') return null;
        throw e;
    }
}

function readJsonl(dir, name) {
    const text = readText(path.join(dir, name));
    if (text === null) return { rows: [], badLines: [], truncatedLast: false, missing: true };
    return { ...parseJsonl(text), missing: false };
}

function readJson(dir, name) {
    const text = readText(path.join(dir, name));
    if (text === null) return null;
    try {
        return JSON.parse(text);
    } catch (e) {
        return { __unreadable: e.message };
    }
}

/**
 * The shortest P such that @lines is P repeated (P itself when it does not
 * repeat). A node killed right after writing entry i that restarts from a
 * snapshot at i-1 writes entry i again straight after: the file then holds
 * two copies of i's lines back to back, indistinguishable by index alone.
 */
export function primitiveRoot(lines) {
    const m = lines.length;
    for (let p = 1; p < m; p++) {
        if (m % p !== 0) continue;
        let ok = true;
        for (let k = p; k < m && ok; k++) ok = lines[k] === lines[k % p];
        if (ok) return lines.slice(0, p);
    }
    return lines;
}

/**
 * An apply log as blocks: one block per applied entry (consecutive lines
 * with the same index "i"), in file order. A node's later life re-applies
 * from its snapshot, so an index can have several blocks. Lines are kept as
 * raw text too: copies are compared byte for byte.
 */
export function applyBlocks(text) {
    const { badLines, truncatedLast } = parseJsonl(text);
    const raw = text.split('\n');
    if (!text.endsWith('\n')) raw.pop(); // a torn last line: never whole
    const blocks = [];
    let n = 0;
    for (const l of raw) {
        if (l.trim() === '') continue;
        let row;
        try {
            row = JSON.parse(l);
        } catch {
            continue;
        }
        n++;
        const last = blocks[blocks.length - 1];
        if (last && last.i === row.i) {
            last.lines.push(l);
            last.rows.push(row);
        } else {
            blocks.push({ i: row.i, lines: [l], rows: [row] });
        }
    }
    for (const b of blocks) {
        const root = primitiveRoot(b.lines);
        if (root.length !== b.lines.length) {
            b.copies = b.lines.length / root.length;
            b.lines = root;
            b.rows = b.rows.slice(0, root.length);
        }
    }
    return { blocks, badLines, truncatedLast, lines: n };
}

/** Everything the checks need, read from RUN_DIR. */
export function readRun(dir) {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${dir}: not a directory`);
    const meta = readJson(dir, 'meta.json');
    if (meta === null) throw new Error(`${dir}: no meta.json (is this a nemesis run directory?)`);
    if (meta.__unreadable) throw new Error(`${dir}/meta.json: ${meta.__unreadable}`);
    const nodeIds = (meta.nodes || []).map((n) => n.id);
    const nodes = {};
    for (const n of meta.nodes || []) {
        const applyName = n.apply_log || `node${n.id}.apply`;
        const logName = n.log || `node${n.id}.log`;
        const applyText = readText(path.join(dir, applyName));
        nodes[n.id] = {
            id: n.id,
            applyName,
            logName,
            apply: applyText === null ? { blocks: [], badLines: [], truncatedLast: false, lines: 0, missing: true } : applyBlocks(applyText),
            logText: readText(path.join(dir, logName)) ?? '',
        };
    }
    return {
        dir,
        meta,
        nodeIds,
        nodes,
        history: readJsonl(dir, 'history.jsonl'),
        faults: readJsonl(dir, 'faults.jsonl'),
        monitor: readJsonl(dir, 'monitor.jsonl'),
        procs: readJsonl(dir, 'procs.jsonl'),
        final: readJson(dir, 'final.json'),
    };
}
