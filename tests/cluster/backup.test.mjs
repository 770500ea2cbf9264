// Backup and restore, done the way docs/operations.md#backups-and-restore
// says: stop one follower, copy its data directory, start it again (the
// cluster serves throughout); later, after the whole cluster is lost, put
// that copy in every node's data directory and start them: the cluster comes
// back at the backup's state (the hash `warren replay` printed for the copy)
// and plays on. The control: the moves made after the backup are gone, the
// ones before it are there.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withCluster, stopAllClusters, waitFor } from './lib/cluster.mjs';
import { replay, parseResult } from './lib/replay.mjs';

after(stopAllClusters);

async function moves(cl, n) {
    for (let i = 0; i < n; i++) {
        const r = await cl.moveAndWait(i % 2 ? 'left' : 'right', { timeout: 5000 });
        assert.ok(r.ok, `move acknowledged: ${r.error}`);
    }
}

test(
    'a follower\'s data directory, copied while it is stopped, restores the whole cluster',
    { timeout: 120000 },
    withCluster({ n: 3, name: 'backup', electionTimeout: 300, heartbeat: 50 }, async (c) => {
        const leader = await c.leader();
        const follower = [1, 2, 3].find((id) => id !== leader);
        const other = [1, 2, 3].find((id) => id !== leader && id !== follower);
        const cl = await c.client(leader, 'player');
        await cl.join('keeper');
        await moves(cl, 6);
        await c.waitConverged();

        // The backup: stop the follower, copy, start it again.
        const backup = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-backup-'));
        await c.kill(follower, 'SIGTERM');
        fs.cpSync(c.node(follower).dataDir, backup, { recursive: true });
        await c.start(follower);
        const saved = parseResult(await replay(['--data', backup]));
        const seqAtBackup = (await c.api(leader, '/api/state')).players.find((p) => p.name === 'keeper').seq;

        // Play on past the backup, then lose every node.
        await moves(cl, 5);
        await c.waitConverged();
        const seqLater = (await c.api(leader, '/api/state')).players.find((p) => p.name === 'keeper').seq;
        assert.ok(seqLater > seqAtBackup);
        cl.terminate();
        for (const id of [1, 2, 3]) await c.kill(id, 'SIGKILL');

        // Restore: the copy into every node's data directory, then start.
        for (const id of [1, 2, 3]) {
            fs.rmSync(c.node(id).dataDir, { recursive: true, force: true });
            fs.cpSync(backup, c.node(id).dataDir, { recursive: true });
        }
        for (const id of [1, 2, 3]) await c.start(id, { waitHealthy: false });
        const back = await c.leader({ timeout: 20000 });
        const state = await waitFor(
            async () => {
                const s = await c.api(back, '/api/state').catch(() => null);
                return s && s.applied_index >= saved.index ? s : null;
            },
            { timeout: 20000, what: 'the restored cluster reaching the backup\'s index' },
        );
        const keeper = state.players.find((p) => p.name === 'keeper');
        assert.ok(keeper, 'the player of the backup is there');
        assert.equal(keeper.seq, seqAtBackup, 'the moves up to the backup are there, the later ones are not');
        console.log(`backup_restore index=${saved.index} hash=${saved.hash} seq_at_backup=${seqAtBackup} seq_lost_after=${seqLater}`);

        // And the restored cluster plays on: a new player's move commits on
        // every node.
        const again = await c.client(other, 'after');
        await again.join('newcomer');
        await moves(again, 2);
        await c.waitConverged();
        fs.rmSync(backup, { recursive: true, force: true });
    }),
);
