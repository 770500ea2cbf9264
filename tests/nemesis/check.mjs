#!/usr/bin/env node
// The nemesis checker: reads a run directory (tests/nemesis/FORMAT.md)
// offline, checks what must hold after any fault schedule, prints a human
// report and writes RUN_DIR/report.json. Exit 0 only if everything holds,
// 1 on a violation, 2 on a usage error or an unreadable run. What it checks
// and why: tests/nemesis/README.md. The checks live in check/*.mjs.
import fs from 'node:fs';
import path from 'node:path';

import { readRun } from './check/read.mjs';
import { checkRun, renderReport } from './check/report.mjs';

const USAGE = `usage: node tests/nemesis/check.mjs [--quiet] RUN_DIR

Check a nemesis run directory (written by tests/nemesis/nemesis.mjs, format
in tests/nemesis/FORMAT.md) and write RUN_DIR/report.json.

Checks: every acknowledged arena move and MUD say applied, each exactly once
and in order; the nodes' apply logs identical at every index; at most one
leader per term; one state hash per applied index; all nodes equal at the
end; no unexpected exit, sanitizer report or failed assertion; memory and
file descriptors bounded. Reports availability per fault.

  --quiet      print only the verdict line and the violations
  -h, --help   show this help

Exit status: 0 everything holds, 1 a violation (each printed with its
evidence, the seed, the fault schedule and the command that reproduces the
run), 2 usage error or unreadable run directory.
`;

function main(argv) {
    const args = argv.slice(2);
    if (args.includes('-h') || args.includes('--help')) {
        process.stdout.write(USAGE);
        return 0;
    }
    const quiet = args.includes('--quiet');
    const rest = args.filter((a) => a !== '--quiet');
    if (rest.length !== 1 || rest[0].startsWith('-')) {
        process.stderr.write(`check.mjs: expected one RUN_DIR${rest.length ? `, got ${rest.join(' ')}` : ''}; try --help\n`);
        return 2;
    }
    let run;
    try {
        run = readRun(rest[0]);
    } catch (e) {
        process.stderr.write(`check.mjs: ${e.message}\n`);
        return 2;
    }
    const report = checkRun(run);
    fs.writeFileSync(path.join(rest[0], 'report.json'), JSON.stringify(report, null, 2) + '\n');
    let lines = renderReport(report);
    if (quiet) lines = [lines[0], ...lines.slice(lines.indexOf('VIOLATIONS:'))].filter((l, k) => k === 0 || !report.ok);
    process.stdout.write(lines.join('\n') + '\n');
    return report.ok ? 0 : 1;
}

process.exitCode = main(process.argv);
