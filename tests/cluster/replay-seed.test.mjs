// --seed: two fresh 3-node clusters started with the same --seed and driven
// by the same script play the same dice; a cluster without it does not.
//
// What is compared, and why not the whole state hash: a seed fixes the dice
// of each command (derived from N and the command's bytes), not the rest of
// what a run writes into the state. Log times are the leader's wall clock,
// and login tokens, password salts, session keys and node incarnations are
// random per run by design, so two runs never have equal state hashes. What
// the seed makes equal is everything drawn from the dice:
//   - the log: every command is an entry of its own, and the same command
//     (module, type, payload) has the same entry seed in both runs (read
//     with `warren replay --entries` from a stopped follower of each);
//   - the hare of the Warren: each of its moves is drawn from its zone's
//     tick, and every tick of a zone in one placement epoch is the same
//     command, so with a seed it leaves the hub for the same burrow every
//     time, and for the same burrow in both runs; how many moves it has
//     made by a given moment is a matter of timing, so the burrows are
//     compared, not its room at the end;
//   - the state the script made (`warren replay --dump`, minus the hare's
//     room): characters, their rooms and stats, items, zones and epochs.
// The control, a cluster without --seed, sends the hare to several burrows
// (12 of them: all four departures to one burrow by chance has probability
// 1/12^3) and gives the hare zone's identical ticks different seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from './lib/cluster.mjs';
import { waitWorld } from './lib/mud.mjs';
import { newCharacter, parseEntries, replay, replayOpts, watchHare } from './lib/replay.mjs';

const SEED = '7';
const DEPARTURES = 4;

/** The hare zone's tick payload digest in @entries (the command repeated most, of type ZONE_TICK). */
function tickDigests(entries) {
    const counts = new Map();
    for (const e of entries) for (const cmd of e.commands) if (cmd.name === 'mud.23') counts.set(cmd.payload, (counts.get(cmd.payload) || 0) + 1);
    return counts;
}

/** The parts of a --dump that a seed makes reproducible (see the top of the file). */
function projection(d) {
    return {
        world: d.mud.world,
        zones: d.mud.zones.map(({ key, epoch, paused }) => ({ key, epoch, paused })), // owners: placement, not dice
        characters: d.mud.characters.map(({ name, state, room, level, xp, hp, max_hp, gold, role }) => ({ name, state, room, level, xp, hp, max_hp, gold, role })),
        npcs: d.mud.npcs.map(({ id, key, hp }) => ({ id, key, hp })),
        items: d.mud.items,
    };
}

/**
 * One run: a cluster of @n nodes with @extra args, the script, the hare
 * watched for DEPARTURES moves off its hub; then a follower stopped and its
 * directory replayed. Returns {burrows, epoch, dump, entries}.
 */
async function run(name, n, extra) {
    const c = await startCluster({ ...replayOpts(undefined, extra), n, name });
    try {
        await waitWorld(c, 1);
        const ids = c.nodes.map((x) => x.id);
        const pw = 'Hare-and-hounds9';
        const alice = await newCharacter(c, ids[0], 'Alice', pw);
        const bruno = await newCharacter(c, ids[ids.length - 1], 'Bruno', pw);
        await alice.move('n');
        await alice.cmd('say the hare went that way', "You say 'the hare went that way'");
        await bruno.move('e');
        await bruno.move('w');
        await bruno.cmd('get pebble', 'You pick up a smooth pebble.');
        await alice.move('s');
        const burrows = await watchHare(c, ids[0], DEPARTURES);
        const mud = await c.api(ids[0], '/api/mud');
        const epoch = mud.zones.find((z) => z.key === 'warren').epoch;
        alice.close();
        bruno.close();
        // Stop a follower (or the only node) and read its directory.
        const leader = n > 1 ? await c.leader() : ids[0];
        const f = ids.find((id) => id !== leader) ?? ids[0];
        await c.kill(f, 'SIGTERM');
        const dir = c.node(f).dataDir;
        const dump = await replay(['--data', dir, '--dump']);
        assert.equal(dump.code, 0, dump.stderr);
        const entries = await replay(['--data', dir, '--entries']);
        assert.equal(entries.code, 0, entries.stderr);
        const problems = c.problems();
        assert.deepEqual(problems, [], `${name}: no crash or sanitizer report`);
        return { burrows, epoch, dump: JSON.parse(dump.stdout), entries: parseEntries(entries.stdout) };
    } catch (e) {
        c.dumpLogs();
        throw e;
    } finally {
        await c.stop();
    }
}

test(
    '--seed: two fresh clusters with one seed and one script draw the same dice (log seeds, the hare\'s burrows, the state the script made); without --seed they differ',
    { timeout: 120000 },
    async () => {
        const a = await run('replay-seed-a', 3, ['--seed', SEED]);
        const b = await run('replay-seed-b', 3, ['--seed', SEED]);

        // The same placement epoch: the hare zone's ticks are the same command in both runs.
        assert.equal(a.epoch, 1, 'the Warren was placed once (a re-placement changes its ticks, so its dice)');
        assert.equal(b.epoch, a.epoch);

        // The hare: one burrow, always, and the same one in both runs.
        assert.equal(new Set(a.burrows).size, 1, `run A: the hare always takes the same burrow with a seed (${a.burrows.join(', ')})`);
        assert.deepEqual(b.burrows, a.burrows, 'run B: the same burrow as run A');

        // The log: one command per entry; the same command, the same seed, in each run and across runs.
        for (const [label, r] of [['A', a], ['B', b]]) {
            const commands = r.entries.filter((e) => e.kind === 'command');
            assert.ok(commands.length > 10, `run ${label}: ${commands.length} command entries`);
            for (const e of commands) assert.equal(e.count, 1, `run ${label}: entry ${e.index} holds ${e.count} commands; --seed puts each in its own`);
        }
        const seedOf = new Map(); // "module.type payload" -> seed, over both runs
        let shared = 0;
        for (const r of [a, b]) {
            for (const e of r.entries) {
                if (e.kind !== 'command') continue;
                const key = `${e.commands[0].name} ${e.commands[0].payload}`;
                if (seedOf.has(key)) {
                    assert.equal(e.seed, seedOf.get(key), `${key}: one seed for one command (entry ${e.index})`);
                    shared++;
                } else seedOf.set(key, e.seed);
            }
        }
        const aTicks = tickDigests(a.entries);
        const [hareTick] = [...aTicks.entries()].sort((x, y) => y[1] - x[1])[0];
        assert.ok(tickDigests(b.entries).get(hareTick) > 0, 'run B has the same hare-zone tick command as run A');
        assert.ok(shared > 10, `commands common to both runs share their seeds (${shared} seen)`);

        // The state the script made.
        assert.deepEqual(projection(b.dump), projection(a.dump));
        assert.deepEqual(
            a.dump.mud.characters.map((ch) => [ch.name, ch.room]),
            [
                ['Alice', 'hollow.square'],
                ['Bruno', 'hollow.square'],
            ],
        );
        // Positive control for "the whole state differs by design": it does.
        assert.notEqual(a.dump.hash, b.dump.hash, 'whole-state hashes differ (wall-clock times, tokens, salts, session keys)');

        // Control: no seed.
        const c = await run('replay-seed-control', 1, []);
        assert.ok(new Set(c.burrows).size >= 2, `without --seed the hare picks burrows by chance (${c.burrows.join(', ')})`);
        const cTicks = c.entries.filter((e) => e.kind === 'command' && e.commands.some((cmd) => cmd.name === 'mud.23'));
        const byPayload = new Map();
        for (const e of cTicks)
            for (const cmd of e.commands)
                if (cmd.name === 'mud.23') byPayload.set(cmd.payload, new Set([...(byPayload.get(cmd.payload) || []), e.seed]));
        const most = Math.max(...[...byPayload.values()].map((s) => s.size));
        assert.ok(most >= 2, 'without --seed, repeats of one tick command get different seeds');
    },
);
