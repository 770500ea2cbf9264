// `warren replay` against real 3-node clusters (build/warren, loopback):
// players walk, talk and pick things up over telnet, an arena player moves,
// a hare wanders on its zone's ticks; then a follower is read (its
// applied_index and state_hash come from one /api/cluster answer), stopped
// with SIGTERM, and its data directory replayed offline. The hash must be
// the node's, twice; another index must give another hash; past the end
// and before a snapshot are refused with the index that limits them; the
// directory is only read, and a running node's directory is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { withCluster, waitFor, delay, hashIndex } from './lib/cluster.mjs';
import { randomName, waitWorld } from './lib/mud.mjs';
import {
    listing,
    newCharacter,
    parseEntries,
    parseResult,
    quietWorld,
    replay,
    replayOpts,
    snapshotIndex,
    watchHare,
} from './lib/replay.mjs';

/** A follower of @c and the two other nodes. */
async function pickFollower(c) {
    const leader = await c.leader();
    const f = c.nodes.map((n) => n.id).find((id) => id !== leader);
    return { f, others: c.nodes.map((n) => n.id).filter((id) => id !== f) };
}

test(
    'replay rebuilds a stopped follower: its hash at its applied index, twice; another index differs; past the end refused; --dump names the characters',
    { timeout: 90000 },
    withCluster({ ...replayOpts(), name: 'replay-hash' }, async (c) => {
        await waitWorld(c, 1);
        const { f, others } = await pickFollower(c);
        const pw = 'Hare-and-hounds9';
        const nameA = randomName('Ra', 7);
        const nameB = randomName('Rb', 7);
        const a = await newCharacter(c, others[0], nameA, pw);
        const b = await newCharacter(c, others[1], nameB, pw);
        await a.move('n');
        await a.cmd('say hello from the north path', "You say 'hello from the north path'");
        await b.move('e');
        await b.move('w');
        await b.cmd('get pebble', 'You pick up a smooth pebble.');
        await b.cmd('global anyone seen the hare?', `[global] ${nameB}: anyone seen the hare?`);
        await a.move('s');
        await a.move('w');
        const arena = await c.client(others[0], 'arena');
        await arena.join('Replayer');
        for (const d of ['right', 'down', 'right']) await arena.waitAcked(arena.move(d));
        // Zone ticks: the hare has wandered at least twice.
        await watchHare(c, others[0], 2);
        await c.waitConverged();

        // The follower's index and hash, read together; then a real SIGTERM.
        const v = await c.api(f, '/api/cluster');
        const mud = await c.api(others[0], '/api/mud');
        const exit = await c.kill(f, 'SIGTERM');
        assert.equal(exit.code, 0, `node ${f} exits cleanly on SIGTERM: ${JSON.stringify(exit)}`);
        const dir = c.node(f).dataDir;
        const before = listing(dir);

        // The hash belongs to state_hash_index (the applied index, once
        // the world is quiet, as it is after waitConverged).
        const to = String(hashIndex(v));
        const r1 = await replay(['--data', dir, '--to', to]);
        assert.deepEqual(parseResult(r1), { index: hashIndex(v), hash: v.state_hash }, 'replay gives the hash the node reported at its index');
        const r2 = await replay(['--data', dir, '--to', to]);
        assert.equal(r2.stdout, r1.stdout, 'a second replay prints the same');

        // Negative control: just before the last move at or below that
        // index, the state differs (the mover is a room back).
        const entries = parseEntries((await replay(['--data', dir, '--to', to, '--entries'])).stdout);
        assert.ok(entries.length >= v.applied_index - 1, `--entries lists the log (${entries.length} entries)`);
        const moves = entries.filter((e) => e.commands.some((cmd) => cmd.name === 'mud.4'));
        assert.ok(moves.length >= 4, `the log holds the four moves (found ${moves.length})`);
        const j = moves[moves.length - 1].index - 1;
        const rj = parseResult(await replay(['--data', dir, '--to', String(j)]));
        assert.equal(rj.index, j);
        assert.notEqual(rj.hash, v.state_hash, `the state at index ${j}, before the last move, differs`);

        // Past the end: refused, naming the last index on disk.
        const last = parseResult(await replay(['--data', dir]));
        assert.ok(last.index >= v.applied_index, `the log on disk reaches ${v.applied_index} (it reaches ${last.index})`);
        const past = await replay(['--data', dir, '--to', String(last.index + 1)]);
        assert.equal(past.code, 1, `--to past the end exits 1: ${past.stderr}`);
        assert.match(past.stderr, new RegExp(`index ${last.index + 1} is past the end of the log: the last entry is at index ${last.index}\\b`));
        assert.equal(past.stdout, '');

        // --dump: valid JSON at the same index and hash, naming the characters where they stand.
        const dump = await replay(['--data', dir, '--to', to, '--dump']);
        assert.equal(dump.code, 0, dump.stderr);
        const d = JSON.parse(dump.stdout);
        assert.equal(d.index, hashIndex(v));
        assert.equal(d.hash, v.state_hash);
        assert.equal(d.mud.world.name, 'Replay Hollow');
        const byName = new Map(d.mud.characters.map((ch) => [ch.name, ch]));
        for (const n of [nameA, nameB]) {
            assert.ok(byName.has(n), `--dump names ${n}: ${dump.stdout.slice(0, 300)}`);
            const live = mud.players.find((p) => p.name === n);
            assert.equal(byName.get(n).room, live.room, `${n} in the same room as /api/mud says`);
            assert.equal(byName.get(n).state, 'online');
        }
        assert.equal(byName.get(nameA).room, 'hollow.west');
        const pebble = d.mud.items.find((it) => it.key === 'pebble' && it.loc === 'carried');
        assert.equal(pebble?.where, nameB, `${nameB} carries the pebble`);
        assert.ok(d.mud.npcs.some((n) => n.key === 'hare'), 'the hare is listed');
        assert.deepEqual(
            d.mud.zones.map((z) => z.key),
            ['hollow', 'warren'],
        );
        assert.ok(d.arena.players.some((p) => p.name === 'Replayer'), 'the arena player is listed');
        assert.ok(d.registry.some((e) => e.name === `node/${f}`), 'the core registry is listed');

        // Replay only read the directory.
        assert.equal(listing(dir), before, 'the data directory is unchanged');

        // Clear errors: a running node's directory, a missing one, one that is not a data directory.
        const busy = await replay(['--data', c.node(others[0]).dataDir]);
        assert.equal(busy.code, 1);
        assert.match(busy.stderr, /is in use by a running warren node: stop the node first/);
        const missing = await replay(['--data', path.join(c.tmp, 'no-such-dir')]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /cannot read .*no-such-dir: No such file or directory/);
        const notData = await replay(['--data', c.node(f).dir]);
        assert.equal(notData.code, 1);
        assert.match(notData.stderr, /is not a warren data directory/);
        const usage = await replay(['--to', '5']);
        assert.equal(usage.code, 2);
        assert.match(usage.stderr, /--data DIR is required/);
        a.close();
        b.close();
    }),
);

test(
    'replay after a snapshot: the hash at the applied index; before the snapshot refused naming it; at the snapshot accepted',
    { timeout: 60000 },
    withCluster(
        { ...replayOpts(quietWorld(), ['--snapshot-threshold', '16', '--snapshot-trailing', '16']), name: 'replay-snapshot' },
        async (c) => {
            await waitWorld(c, 1);
            const { f, others } = await pickFollower(c);
            const a = await newCharacter(c, others[0], randomName('Rs', 7), 'Hare-and-hounds9');
            for (let i = 0; i < 12; i++) await a.move(i % 2 ? 's' : 'n');
            const dir = c.node(f).dataDir;
            await waitFor(() => snapshotIndex(dir) > 0, { timeout: 10000, what: `a snapshot in node ${f}'s directory` });
            // A quiet log (no NPC, nobody moving): the index stays put.
            const v = await waitFor(
                async () => {
                    const x = await c.api(f, '/api/cluster');
                    await delay(400);
                    const y = await c.api(f, '/api/cluster');
                    return x.applied_index === y.applied_index && y.applied_index === y.commit_index && hashIndex(y) === y.applied_index && y;
                },
                { timeout: 10000, what: `node ${f} idle` },
            );
            const exit = await c.kill(f, 'SIGTERM');
            assert.equal(exit.code, 0);
            const s = snapshotIndex(dir);
            assert.ok(s > 0 && s <= v.applied_index, `snapshot at ${s}, applied ${v.applied_index}`);

            assert.deepEqual(parseResult(await replay(['--data', dir, '--to', String(hashIndex(v))])), {
                index: hashIndex(v),
                hash: v.state_hash,
            });
            const early = await replay(['--data', dir, '--to', String(s - 1)]);
            assert.equal(early.code, 1, `--to before the snapshot exits 1: ${early.stderr}`);
            assert.match(early.stderr, new RegExp(`index ${s - 1} is before the snapshot at index ${s}: a snapshot replaces the entries before it, so replay cannot rewind past it`));
            assert.equal(parseResult(await replay(['--data', dir, '--to', String(s)])).index, s);
            a.close();
        },
    ),
);
