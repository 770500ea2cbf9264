// A scripted fight is reproducible (issue 7, "done when" 1): a player on a
// real 3-node cluster, over a real telnet client, fights an ogre that hits
// back, with a dice-rolling skill and a damage-over-time skill, until one
// of them dies. Two fresh clusters started with the same --seed and driven
// by the same script show the player the same fight: the same hit points at
// every round, the same death, the same drops and gold in the corpse, the
// same experience. A third cluster with another seed fights differently
// (the control: the comparison can fail). And `warren replay` of a stopped
// follower's log of the first run reaches the hash that node reported at
// its applied index.
//
// Why the same seed gives the same fight: a fight's dice are seeded from
// the command that starts it, and with --seed a command's seed is derived
// from N and the command's bytes (docs/mud.md, "Replay"); rounds are run on
// the zone owner's timer at fixed times after the attack, and the script
// sends each skill right after a given round, well inside the 1 s round, so
// the commands meet the rounds in the same order in every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { REPO, startCluster, waitFor, hashIndex } from './lib/cluster.mjs';
import { FAST_PWHASH, waitWorld } from './lib/mud.mjs';
import { TelnetClient } from './lib/telnet.mjs';
import { parseResult, replay } from './lib/replay.mjs';

const WORLD = path.join(REPO, 'tests', 'cluster', 'worlds', 'duel');
const WORLD_NAME = 'The Duelling Ground';
const NAME = 'Duelist';
const PW = 'duel-pw-12345';
const ROUND_RE = /\[Round (\d+)\] You (-?\d+)\/(\d+) · a young ogre (-?\d+)\/(\d+)\n/g;

/** What the player saw of the fight, as plain data two runs can be compared on. */
function outcome(text) {
    const rounds = [...text.matchAll(ROUND_RE)].map((m) => ({ n: Number(m[1]), hp: Number(m[2]), ogre: Number(m[4]) }));
    const end = /(A young ogre is dead!|You are dead!)/.exec(text);
    const xp = [...text.matchAll(/You gain (\d+) experience\./g)].map((m) => Number(m[1]));
    const damage = [...text.matchAll(/A young ogre (takes|suffers) (\d+) (\w+) damage/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    return { rounds, end: end ? end[1] : null, xp, damage };
}

async function run(name, seed) {
    const c = await startCluster({
        name,
        n: 3,
        telnet: true,
        extraArgs: [...FAST_PWHASH, '--mud-world', WORLD, '--seed', String(seed)],
    });
    try {
        await waitWorld(c, 1);
        const t = await TelnetClient.connect(c.telnetPort(1), '127.0.0.1', { stripAnsi: true, label: `${name}:${NAME}` });
        await t.waitFor(/By what name are you known\? $/, 10000);
        t.send(NAME);
        await t.waitFor(`Create a new character called ${NAME}? (y/n)`, 10000);
        t.send('y');
        await t.waitFor('Password: ', 10000);
        t.send(PW);
        await t.waitFor('Again, to be sure: ', 10000);
        t.send(PW);
        await t.waitFor(`Welcome to ${WORLD_NAME}, ${NAME}.`, 10000);
        t.send('n');
        await t.waitFor('The Ogre Pen', 5000);

        const from = t.text().length;
        const seen = () => outcome(t.text().slice(from));
        t.send('kill ogre');
        await t.waitFor('You attack a young ogre!', 5000);
        // The script: a fire bolt right after round 1, burn after round 2,
        // another fire bolt after round 4; then plain rounds to the end.
        const script = { 1: 'fire bolt', 2: 'burn', 4: 'fire bolt' };
        for (const [after, line] of Object.entries(script)) {
            await waitFor(() => seen().rounds.length >= Number(after) || seen().end, { timeout: 10000, interval: 10, what: `round ${after}` });
            if (seen().end) break;
            t.send(line);
        }
        await waitFor(() => seen().end, { timeout: 60000, interval: 50, what: 'the end of the fight' });
        // What the winner (or the yard, if the player lost) holds.
        let corpse = null;
        if (seen().end === 'A young ogre is dead!') {
            await waitFor(() => seen().xp.length > 0, { timeout: 5000, what: 'the experience line' });
            const before = t.text().length;
            t.send('look in corpse');
            await t.waitFor(/holds:\n((?: {2}.+\n)+)/, 5000);
            corpse = /holds:\n((?: {2}.+\n)+)/.exec(t.text().slice(before))[1].trim().split('\n').map((l) => l.trim());
        }
        const result = { ...seen(), corpse };
        t.close();

        // The log of a follower, replayed offline, reaches the hash the
        // follower reported at its applied index (read in one answer).
        const leader = await c.leader();
        const f = [1, 2, 3].find((id) => id !== leader);
        await c.waitConverged({ timeout: 15000 });
        const v = await c.api(f, '/api/cluster');
        const exit = await c.kill(f, 'SIGTERM');
        assert.equal(exit.code, 0, `node ${f} exits cleanly on SIGTERM`);
        result.replay = parseResult(await replay(['--data', c.node(f).dataDir, '--to', String(hashIndex(v))]));
        result.reported = { index: hashIndex(v), hash: v.state_hash };
        assert.deepEqual(c.problems(), [], `${name}: no crash or sanitizer report`);
        return result;
    } catch (e) {
        c.dumpLogs();
        throw e;
    } finally {
        await c.stop();
    }
}

test(
    'a scripted fight with skills, damage over time and a death: the same outcome with the same seed, another with another; replay reaches the node\'s hash',
    { timeout: 240000 },
    async () => {
        const a = await run('mud-duel-a', 42);
        const b = await run('mud-duel-b', 42);
        const other = await run('mud-duel-c', 4242);

        for (const [label, r] of [['A', a], ['B', b], ['C', other]]) {
            console.log(`# mud-duel run ${label}: ${r.rounds.map((x) => `${x.n}:${x.hp}/${x.ogre}`).join(" ")}, ${r.end}, damage ${r.damage.join(', ')}, xp ${r.xp.join(',')}, corpse ${JSON.stringify(r.corpse)}`);
            assert.ok(r.rounds.length >= 4, `run ${label}: the fight lasted (${r.rounds.length} rounds)`);
            for (let i = 1; i < r.rounds.length; i++) assert.equal(r.rounds[i].n, r.rounds[i - 1].n + 1, `run ${label}: consecutive rounds`);
            assert.ok(r.damage.some((d) => d.endsWith(' fire')), `run ${label}: the skills did fire damage (${r.damage})`);
            assert.deepEqual(r.replay, r.reported, `run ${label}: replay of the follower's log reaches its reported hash`);
        }
        // Damage over time: burn hurt the ogre at more than one round.
        assert.ok(a.damage.filter((d) => d.startsWith('suffers ')).length >= 2, `burn ticked: ${a.damage}`);

        // The same seed, the same fight, as the player saw it.
        assert.deepEqual(b.rounds, a.rounds, 'hit points at every round');
        assert.equal(b.end, a.end, 'who died');
        assert.deepEqual(b.damage, a.damage, 'skill damage');
        assert.deepEqual(b.xp, a.xp, 'experience');
        assert.deepEqual(b.corpse, a.corpse, 'drops and gold');

        // Another seed: another fight (the comparison above can fail).
        assert.notDeepEqual(
            { rounds: other.rounds, damage: other.damage, corpse: other.corpse },
            { rounds: a.rounds, damage: a.damage, corpse: a.corpse },
            'a different seed rolls different dice',
        );
    },
);
