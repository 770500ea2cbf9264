// A node restarted on a log whose newest open segment lost its tail (the
// file cut a few bytes short, as the nemesis runner's torn-log fault does).
// libraft 0.15 itself read past the end of such a file and died ("double
// free or corruption"); the node pads the file back with zeros first
// (raft_glue.c), so libraft drops the cut entry. Held to: the node starts,
// says what it padded, catches up from the leader and converges with the
// others; nobody crashed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { withCluster, stopAllClusters, waitFor } from './lib/cluster.mjs';
import { newestSegment } from '../nemesis/lib/faults.mjs';

after(stopAllClusters);

for (const cut of [1, 8, 0]) {
    const what = cut ? `cut ${cut} byte(s) into its last entry` : 'cut right after its last entry (its zeros gone)';
    test(`a follower restarts on an open segment ${what}`, withCluster({ n: 3, electionTimeout: 300, heartbeat: 50 }, async (c) => {
        const leader = await c.leader();
        const victim = c.nodes.map((n) => n.id).find((id) => id !== leader);
        const cl = await c.client(leader, 'mover');
        await cl.join('mover');
        for (let i = 0; i < 20; i++) {
            const r = await cl.moveAndWait(i % 2 ? 'left' : 'right', { timeout: 5000 });
            assert.ok(r.ok, `move ${r.seq} acknowledged: ${r.error}`);
        }
        await c.waitConverged({ timeout: 10000 });
        await c.kill(victim, 'SIGKILL');

        const dir = c.node(victim).dataDir;
        const seg = newestSegment(dir);
        assert.ok(seg && seg.open, `node ${victim} has an open segment with data (${JSON.stringify(seg)})`);
        const file = path.join(dir, seg.file);
        fs.truncateSync(file, seg.dataEnd - cut);
        assert.equal(fs.statSync(file).size, seg.dataEnd - cut, 'the segment file was cut');

        await c.start(victim); // waits for /healthz; fails if the node dies at startup
        assert.match(c.logText(victim), new RegExp(`open segment \\S*${seg.file} was ${seg.dataEnd - cut} bytes, shorter than written \\(a torn tail\\): padded with zeros`));
        const r = await cl.moveAndWait('up', { timeout: 5000 });
        assert.ok(r.ok, `a move after the restart is acknowledged: ${r.error}`);
        const conv = await c.waitConverged({ timeout: 15000 });
        const v = await waitFor(async () => {
            const x = await c.api(victim, '/api/state');
            return x.applied_index >= conv.applied_index ? x : false;
        }, { what: `node ${victim} to apply up to ${conv.applied_index}` });
        const me = v.players.find((p) => p.name === 'mover');
        assert.equal(me && me.seq, cl.seq, `node ${victim} has every acknowledged move (seq ${cl.seq})`);
    }));
}
