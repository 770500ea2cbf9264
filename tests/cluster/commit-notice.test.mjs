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
//   - warren_raft_commit_notices_total counted the notices.
// Broken on purpose once (raft_notify.c: `if (n > 0) tick(...)` removed, so
// no heartbeat goes early): the follower's median was 236 ms and the test
// failed on it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster, stopAllClusters, delay } from './lib/cluster.mjs';

after(stopAllClusters);

const HB = 500;
const MOVES = 12;

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
async function loneMoves(c, id, name) {
    const cl = await c.client(id, name);
    await cl.join(name);
    const took = [];
    for (let i = 0; i < MOVES; i++) {
        await delay(120); // the log goes quiet: nothing in flight
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
            const onLeader = await loneMoves(c, L, 'lead');
            const onFollower = await loneMoves(c, F, 'foll');
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
            // join + moves + leave on each of two clients, at least.
            assert.ok(appliedGrew >= 2 * MOVES, `entries applied grew by ${appliedGrew}`);
            assert.equal(grew, appliedGrew, 'every log entry is a players\' entry (no barrier after a quiet commit)');
            assert.ok(notices >= 2 * MOVES, `commit notices grew by ${notices}, expected at least ${2 * MOVES}`);
        },
    ),
);
