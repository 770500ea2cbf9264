// Commit notices (src/cluster/raft_notify.c): when the log goes quiet after
// an entry, the leader tells its followers the new commit index with a
// heartbeat sent at once, not with a log entry of its own, so a player on a
// follower sees its move acknowledged without waiting for the next
// heartbeat, and the log holds only the players' entries.
//
// The nodes run with a long heartbeat (500 ms) so that the two ways apart
// are far apart: without the notice, a lone move on a follower waits for
// the next heartbeat (250 ms on average); with it, a round trip or two.
// Each move is sent alone, after the previous one was acknowledged and the
// log was quiet for a while.
//
// What it checks, each against a control:
//   - the median acknowledgement of a move on a follower is well under half
//     a heartbeat, like that of the same moves on the leader (the control:
//     the leader's clients never waited for a heartbeat);
//   - the leader's commit index grew exactly as much as the entries the
//     nodes applied (before raft_notify.c, every quiet entry was followed
//     by a barrier: twice as many log entries as applied ones);
//   - warren_raft_commit_notices_total counted the notices;
//   - no lone move on the follower waited for a heartbeat (the slowest is
//     under a quarter of one), including those where the follower had not
//     stored the entry yet when the leader committed it on the other
//     follower's acknowledgement: raft_notify.c then sends it a second
//     notice once it acknowledges. Without the second notice (its first
//     version), 1-3 % of lone moves on a follower waited for the next
//     heartbeat (bench case d_follower: p99 65 ms at a 50 ms heartbeat).
// Broken on purpose once (raft_notify.c: the tick call removed, so no
// heartbeat goes early): the follower's median was 380 ms and the test
// failed on it. The second test fails with the first version of
// raft_notify.c, which had no second notice (median 940 ms).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { withCluster, stopAllClusters, delay } from './lib/cluster.mjs';

after(stopAllClusters);

const HB = 500;
const MOVES = 12;
const FOLLOWER_MOVES = 60;

function metric(text, name) {
    const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm'));
    return m ? Number(m[1]) : null;
}

async function counters(c, id) {
    const t = (await c.http(id, '/metrics')).text;
    return {
        commit: metric(t, 'warren_raft_commit_index'),
        applied: metric(t, 'warren_entries_applied_total'),
        notices: metric(t, 'warren_raft_commit_notices_total') ?? 0,
    };
}

/* Lone moves of a fresh player on node @id: the ack time of each, in ms. */
async function loneMoves(c, id, name, moves) {
    const cl = await c.client(id, name);
    await cl.join(name);
    const took = [];
    for (let i = 0; i < moves; i++) {
        await delay(60); // the log goes quiet: nothing in flight
        const t0 = performance.now();
        const seq = cl.move(i % 2 ? 'up' : 'down');
        await cl.waitAcked(seq, { timeout: 5000 });
        took.push(performance.now() - t0);
    }
    await cl.close();
    return took;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test(
    'a quiet commit reaches the followers with a heartbeat sent at once: a lone move on a follower is acked without waiting for the heartbeat, and no barrier entries are added',
    { timeout: 120000 },
    withCluster(
        { n: 3, name: 'commit-notice', extraArgs: ['--heartbeat', String(HB), '--election-timeout', String(HB * 5)] },
        async (c) => {
            const L = await c.leader();
            const F = c.liveIds().find((id) => id !== L);
            await delay(300);
            const before = await counters(c, L);
            const onLeader = await loneMoves(c, L, 'lead', MOVES);
            const onFollower = await loneMoves(c, F, 'foll', FOLLOWER_MOVES);
            await delay(200);
            const afterL = await counters(c, L);
            const mL = median(onLeader);
            const mF = median(onFollower);
            const grew = afterL.commit - before.commit;
            const appliedGrew = afterL.applied - before.applied;
            const notices = afterL.notices - before.notices;
            console.log(
                `commit_notice leader=${L} follower=${F} median_ack_ms leader=${mL.toFixed(1)} follower=${mF.toFixed(1)} ` +
                    `max_follower=${Math.max(...onFollower).toFixed(1)} commit_index_grew=${grew} entries_applied_grew=${appliedGrew} notices=${notices}`,
            );
            // The control: moves on the leader never waited for a heartbeat.
            assert.ok(mL < HB / 4, `median ack on the leader ${mL.toFixed(1)} ms, expected < ${HB / 4}`);
            assert.ok(mF < HB / 4, `median ack on the follower ${mF.toFixed(1)} ms, expected < ${HB / 4} (a heartbeat is ${HB} ms)`);
            const slow = onFollower.filter((ms) => ms >= HB / 4);
            assert.deepEqual(slow.map((ms) => Math.round(ms)), [], `lone moves on the follower that took a quarter of a heartbeat or more (of ${FOLLOWER_MOVES})`);
            // join + moves + leave on each of two clients, at least.
            assert.ok(appliedGrew >= MOVES + FOLLOWER_MOVES, `entries applied grew by ${appliedGrew}`);
            assert.equal(grew, appliedGrew, 'every log entry is a players\' entry (no barrier after a quiet commit)');
            assert.ok(notices >= 2 * (MOVES + FOLLOWER_MOVES), `commit notices grew by ${notices}, expected at least ${2 * (MOVES + FOLLOWER_MOVES)}`);
        },
    ),
);

// The follower whose client moves is made the slow one on purpose: strace
// delays each of its disk-write submissions (io_submit, libraft's appends)
// by 15 ms before the call runs, so the leader commits on the other
// follower's acknowledgement and its notice reaches the slow follower
// before that follower has stored the entry. Only the second notice (sent
// when the slow follower acknowledges) lets it apply without waiting for
// the next heartbeat. strace is a fault injector here, as netem is in the
// partition tests.
test(
    'a follower that stores an entry after the commit notice came still learns the commit at once (the second notice)',
    { timeout: 120000 },
    withCluster(
        { n: 3, name: 'commit-notice-slow', extraArgs: ['--heartbeat', String(HB), '--election-timeout', String(HB * 5)] },
        async (c) => {
            const L = await c.leader();
            const F = c.liveIds().find((id) => id !== L);
            const pid = c.node(F).proc.pid;
            const st = spawn('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=io_submit', '-e', 'inject=io_submit:delay_enter=15000', '-p', String(pid)], {
                stdio: ['ignore', 'ignore', 'pipe'],
            });
            let stErr = '';
            st.stderr.on('data', (d) => (stErr += d));
            try {
                await delay(500); // attached
                assert.equal(st.exitCode, null, `strace is running (${stErr.trim()})`);
                const before = await counters(c, L);
                const took = await loneMoves(c, F, 'slow', 20);
                const afterL = await counters(c, L);
                const m = median(took);
                console.log(
                    `commit_notice_slow leader=${L} follower=${F} median_ack_ms=${m.toFixed(1)} max=${Math.max(...took).toFixed(1)} notices=${afterL.notices - before.notices}`,
                );
                // A disk write takes 15 ms more on the follower; a missed
                // commit would wait for the heartbeat (500 ms).
                const slow = took.filter((ms) => ms >= HB / 4);
                assert.deepEqual(slow.map((ms) => Math.round(ms)), [], 'lone moves on the slow follower that waited for a heartbeat');
            } finally {
                st.kill('SIGINT');
                await new Promise((r) => (st.exitCode !== null ? r() : st.once('exit', r)));
            }
        },
    ),
);
