// `warren node --apply-log FILE` on a real 3-node cluster: an arena client
// joins and moves; every node's file then holds the same lines at every
// index, the join and each move appear once with verdict "applied" and the
// client's seq in the payload, in seq order; a node killed with -9 and
// restarted appends, repeating indexes with identical lines. The files are
// read with the nemesis checker's own reader (tests/nemesis/check/).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { withCluster, stopAllClusters, waitFor } from './lib/cluster.mjs';
import { applyBlocks } from '../nemesis/check/read.mjs';
import { checkApplyLogs } from '../nemesis/check/applylog.mjs';

after(stopAllClusters);

const MOVES = 10;
let logDir = '';
const applyFile = (id) => path.join(logDir, `node${id}.apply`);

function readLogs(ids) {
    const nodes = {};
    for (const id of ids) nodes[id] = { applyName: `node${id}.apply`, apply: applyBlocks(fs.readFileSync(applyFile(id), 'utf8')) };
    return checkApplyLogs({ nodeIds: ids, nodes });
}

test(
    'every node logs the same lines at the same index, and the moves it applied',
    withCluster(
        {
            n: 3,
            name: 'apply-log',
            // Each node its own file, through the environment variable (env
            // execs the node in place: its pid is the node's).
            commandPrefix: (id) => {
                if (!logDir) logDir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'warren-apply-log-'));
                return ['env', `WARREN_APPLY_LOG=${path.join(logDir, `node${id}.apply`)}`];
            },
        },
        async (cluster) => {
            const leader = await cluster.leader();
            const follower = [1, 2, 3].find((id) => id !== leader);
            const c = await cluster.client(follower, 'mover');
            const w = await c.join('logged');
            for (let k = 0; k < MOVES; k++) {
                const r = await c.moveAndWait(['up', 'left', 'down', 'right'][k % 4]);
                assert.ok(r.ok, `move ${r.seq}: ${r.error}`);
            }
            await cluster.waitConverged();

            // The third node, killed and restarted: it re-applies from its
            // snapshot or log start, appending to the same file.
            const other = [1, 2, 3].find((id) => id !== leader && id !== follower);
            const before = fs.readFileSync(applyFile(other), 'utf8').split('\n').length;
            await cluster.kill(other, 'SIGKILL');
            await cluster.start(other);
            await cluster.waitConverged();
            await waitFor(() => fs.readFileSync(applyFile(other), 'utf8').split('\n').length > before, { timeout: 10000, what: 'the restarted node appending' });

            const { merged, violations, figures } = readLogs([1, 2, 3]);
            assert.deepEqual(violations, [], 'identical lines at every index on every node');
            assert.ok(figures.repeated_blocks > 0);
            const own = (fs.readFileSync(applyFile(other), 'utf8').match(/"i":(\d+)/g) || []).map((x) => Number(x.slice(4)));
            assert.ok(own.some((i, k) => k > 0 && i <= own[k - 1]), 'the restarted node repeated indexes');

            const rows = merged.flatMap((e) => e.rows.map((r) => ({ ...r, i: e.i })));
            const join = rows.filter((r) => r.m === 'arena.2' && r.p.includes(Buffer.from('logged').toString('hex')));
            assert.equal(join.length, 1, 'one join');
            assert.equal(join[0].v, 'applied');
            assert.equal(join[0].n, follower, 'the origin node is the one the client is on');
            assert.equal(join[0].q, 1);
            const moves = rows.filter((r) => r.m === 'arena.3' && r.s === join[0].s && r.v === 'applied');
            assert.deepEqual(
                moves.map((r) => Buffer.from(r.p, 'hex').readUInt32LE(1)),
                Array.from({ length: MOVES }, (_, k) => k + 1),
                'each move once, in seq order, with the client seq in its payload',
            );
            assert.deepEqual(moves.map((r) => r.q), Array.from({ length: MOVES }, (_, k) => k + 2), 'session seqs follow the join');
            const state = await cluster.api(leader, '/api/state');
            assert.equal(state.players.find((p) => p.id === w.id).seq, MOVES, 'the state agrees with the log');
            fs.rmSync(logDir, { recursive: true, force: true });
        },
    ),
);
