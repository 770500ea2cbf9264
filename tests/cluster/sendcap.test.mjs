// A new leader's memory while a follower does not answer (issue 10; the
// nemesis run with seed 502, where a node grew from 17 to 98 MiB in 13 s
// right after it was elected with two peers cut off).
//
// libraft 0.15 sends a follower in probe state one AppendEntries per
// heartbeat with every entry from next_index on; a new leader's first failed
// send to a follower it never heard from sets next_index to 1, so from then
// on each heartbeat carries the whole log (kept in memory below the
// snapshot threshold). raft_uv queues them without bound while its connect
// to that follower hangs in our handshake (--cluster-handshake-timeout,
// 3 s) and on a connected stream. src/cluster/raft_sendcap.c caps the bytes
// queued per peer.
//
// Here: 3 nodes (heartbeat 25 ms), a log of ~15000 entries from 8 arena
// clients (snapshots off), follower F SIGSTOPped, node L2 restarted (so it
// has no connection to F) and made leader. For 7.5 s the leader's RSS is
// sampled from /proc and its /metrics read, while a player on it keeps
// moving (the other follower still replicates: moves are acknowledged).
// Then F is resumed and catches up: all three converge.
//
// Measured (2-core VM, load 13-17): with the cap the leader grew by 484-744
// KiB, 2.2 MB queued towards F at most, one drop per heartbeat (~35/s);
// with the cap disabled (the drop test prefixed with `0 &&`) it grew by
// 122540 KiB (253 MB queued), and main's binary before the cap (7b1da4b)
// by 136360 KiB: the test failed on the RSS bound both times.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { withCluster, waitFor, delay, adminToken, DIRS } from './lib/cluster.mjs';

const ENTRIES = 15000; // log entries to build before the stall
const MIN_ENTRIES = 8000; // fewer (a very slow machine): the run proves little
// Under ASan libraft's log load on restart is quadratic (it reallocs its
// entry array one entry at a time, and ASan's realloc always copies): 13000
// entries took over 10 s. The RSS bound is not checked there anyway.
const SAN_ENTRIES = 3000;
const LOAD_CLIENTS = 8;
const LOAD_MS = 25000; // bound on building them
const WINDOW_MS = 7500; // > 2 x the 3 s handshake timeout: one failure, then whole-log probes
const RSS_BOUND_KB = 16 * 1024; // growth allowed (measured with the cap: under 1 MiB)
const CAP = 4 * 1024 * 1024; // WR_SENDCAP_BYTES

function rssKb(pid) {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
}

/** ASan keeps freed memory in quarantine, so RSS says nothing there. */
function sanitized(pid) {
    return fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libasan');
}

/** warren_raft_* samples of @name for peer @peer (null when absent). */
function peerSample(text, name, peer) {
    const re = new RegExp(`^${name}\\{[^}]*peer="${peer}"\\} (\\S+)$`, 'm');
    const m = re.exec(text);
    return m ? Number(m[1]) : null;
}

function post(c, id, path, body) {
    return fetch(`http://${c.node(id).http}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken()}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
    });
}

async function buildLog(c, leader, want) {
    const clients = [];
    for (let i = 0; i < LOAD_CLIENTS; i++) {
        const cl = await c.client(leader, `load${i}`);
        await cl.join(`load${i}`);
        clients.push(cl);
    }
    const t0 = Date.now();
    let done = false;
    const loops = clients.map(async (cl) => {
        for (let k = 0; !done && k < want && Date.now() - t0 < LOAD_MS; k++) {
            const r = await cl.moveAndWait(DIRS[k % 4], { timeout: 3000 });
            if (r.closed) break;
        }
    });
    try {
        await waitFor(async () => Date.now() - t0 >= LOAD_MS || (await c.api(leader, '/api/cluster')).commit_index >= want, {
            timeout: LOAD_MS + 5000,
            interval: 200,
            what: `${want} log entries`,
        });
    } finally {
        done = true;
        await Promise.all(loops);
        await Promise.all(clients.map((cl) => cl.close()));
    }
    const ci = (await c.api(leader, '/api/cluster')).commit_index;
    console.log(`sendcap_log entries=${ci} ms=${Date.now() - t0}`);
    assert.ok(ci >= Math.min(want, MIN_ENTRIES), `only ${ci} log entries in ${LOAD_MS} ms`);
    return ci;
}

test(
    'a new leader with a follower that does not answer keeps its memory bounded, and the follower catches up',
    { timeout: 90000 },
    withCluster(
        {
            n: 3,
            name: 'sendcap',
            heartbeat: 25, // a probe per 25 ms: twice the pile-up of the default
            // Snapshots off so the whole log stays in memory, as in the run
            // (29000 entries, below the default threshold of 32768).
            extraArgs: ['--snapshot-threshold', '1000000', '--ws-rate', '100000', '--ws-burst', '100000'],
        },
        async (c) => {
            const L1 = await c.leader();
            const [F, L2] = [1, 2, 3].filter((id) => id !== L1);
            const san = sanitized(c.node(L1).proc.pid);
            const entries = await buildLog(c, L1, san ? SAN_ENTRIES : ENTRIES);
            await c.waitConverged();

            const pidF = c.node(F).proc.pid;
            process.kill(pidF, 'SIGSTOP');
            try {
                // A fresh L2 has never reached F: its connect will hang in
                // the handshake, as towards a cut-off peer.
                await c.kill(L2, 'SIGKILL');
                await c.start(L2);
                await waitFor(async () => (await c.api(L2, '/api/cluster')).applied_index >= entries, {
                    timeout: 15000,
                    what: `node ${L2} to catch up`,
                });
                const now = await c.leader({ among: [L1, L2] });
                if (now !== L2) {
                    const r = await post(c, now, '/api/cluster/transfer', { id: L2 });
                    assert.equal(r.status, 200, `transfer to ${L2}: ${await r.text()}`);
                }
                await waitFor(async () => (await c.leader({ among: [L1, L2] })) === L2, { timeout: 5000, what: `node ${L2} to lead` });

                const pid = c.node(L2).proc.pid;
                const base = rssKb(pid);
                const player = await c.client(L2, 'player');
                await player.join('player');
                const t0 = Date.now();
                let peak = base;
                let maxQueued = 0;
                let acked = 0;
                for (let k = 0; Date.now() - t0 < WINDOW_MS && k < 1000; k++) {
                    const r = await player.moveAndWait(DIRS[k % 4], { timeout: 2000 });
                    if (r.ok) acked++;
                    peak = Math.max(peak, rssKb(pid));
                    const q = peerSample((await c.http(L2, '/metrics')).text, 'warren_raft_send_queued_bytes', F);
                    if (q !== null) maxQueued = Math.max(maxQueued, q);
                    await delay(50); // pacing only
                }
                const metrics = (await c.http(L2, '/metrics')).text;
                const dropped = peerSample(metrics, 'warren_raft_sends_dropped_total', F);
                console.log(
                    `sendcap_leader rss_base_kb=${base} rss_peak_kb=${peak} growth_kb=${peak - base} ` +
                        `max_queued_bytes=${maxQueued} dropped=${dropped} acked=${acked} entries=${entries}${san ? ' (ASan: RSS not checked)' : ''}`,
                );
                if (!san) assert.ok(peak - base < RSS_BOUND_KB, `leader RSS grew by ${peak - base} KiB (bound ${RSS_BOUND_KB})`);
                // One message (the whole log) may go beyond the cap.
                assert.ok(maxQueued <= CAP + entries * 200, `queued towards node ${F}: ${maxQueued} bytes`);
                assert.ok(dropped !== null && dropped > 0, `no send to the stopped node ${F} was dropped (warren_raft_sends_dropped_total: ${dropped})`);
                assert.ok(acked > 0, 'no move was acknowledged on the new leader while F was stopped');
                await player.close();
            } finally {
                process.kill(pidF, 'SIGCONT');
            }
            // The positive control: capped sends still deliver the log.
            await c.waitConverged({ timeout: 20000 });
        },
    ),
);
