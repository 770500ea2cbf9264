// Combat on a real 3-node cluster (build/warren, loopback), driven by a
// real telnet client the way a player does it:
//   1. a player kills a rat with plain attacks and a skill used by its
//      name, sees numbered rounds, and the rat dies and leaves a corpse;
//   2. kill -9 of the zone's owner during a fight: the new owner runs the
//      next rounds, numbered on from the last one seen (no gap, no repeat),
//      and the creature's health goes on from where it was, each round
//      taking exactly the blow that round reports;
//   3. kill -9 of the leader during a fight: the same holds, so nothing the
//      player was shown (acknowledged) is lost.
// The world is tests/cluster/worlds/fight: creatures that do not hit back,
// 1 s rounds, one skill.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { withCluster, waitFor, REPO } from './lib/cluster.mjs';
import { TelnetClient } from './lib/telnet.mjs';
import { FAST_PWHASH, waitWorld, randomName } from './lib/mud.mjs';

const WORLD = path.join(REPO, 'tests', 'cluster', 'worlds', 'fight');
const WORLD_NAME = 'The Sparring Grounds';
const PW = 'fight-pw';
const ROUND_RE = /\[Round (\d+)\] You (-?\d+)\/(\d+) · (.+?) (-?\d+)\/(\d+)\n/g;

/** A new character on node @id, standing at the arena gate. */
async function enter(c, id) {
    const name = randomName('Ft', 8);
    const t = await TelnetClient.connect(c.telnetPort(id), '127.0.0.1', { stripAnsi: true, label: `${name}@${id}` });
    await t.waitFor(/By what name are you known\? $/, 10000);
    t.send(name);
    await t.waitFor(`Create a new character called ${name}? (y/n)`, 10000);
    t.send('y');
    await t.waitFor('Password: ', 10000);
    t.send(PW);
    await t.waitFor('Again, to be sure: ', 10000);
    t.send(PW);
    await t.waitFor(`Welcome to ${WORLD_NAME}, ${name}.`, 10000);
    await t.waitFor('The Arena Gate', 10000);
    return { t, name, id };
}

/** Send @line and wait for @expect in what follows. */
async function cmd(p, line, expect, timeout = 8000) {
    p.t.send(line);
    return p.t.waitFor(expect, timeout);
}

/**
 * The fight as the player saw it since text offset @from: its round lines
 * {n, hp, foe, foeHp, foeMax} and, per round, the blow reported just before
 * it ("You hit X for N damage." or "You miss X.").
 */
function rounds(p, from, foe) {
    const text = p.t.text().slice(from);
    const out = [];
    let last = 0;
    for (const m of text.matchAll(ROUND_RE)) {
        const before = text.slice(last, m.index);
        last = m.index + m[0].length;
        const hits = [...before.matchAll(new RegExp(`You hit ${foe} for (\\d+) damage\\.`, 'g'))].map((h) => Number(h[1]));
        const misses = (before.match(new RegExp(`You miss ${foe}\\.`, 'g')) || []).length;
        out.push({ n: Number(m[1]), hp: Number(m[2]), foe: m[4], foeHp: Number(m[5]), foeMax: Number(m[6]), hits, misses });
    }
    return out;
}

/**
 * Rounds numbered on without a gap or a repeat, one blow each, and the
 * foe's health going down by exactly that blow from one round to the next.
 */
function checkContinuous(rs, what) {
    assert.ok(rs.length >= 2, `${what}: rounds seen: ${JSON.stringify(rs)}`);
    for (let i = 1; i < rs.length; i++) {
        const a = rs[i - 1];
        const b = rs[i];
        assert.equal(b.n, a.n + 1, `${what}: round ${b.n} follows round ${a.n} (no gap, no repeat): ${JSON.stringify(rs.map((r) => r.n))}`);
        assert.equal(b.hits.length + b.misses, 1, `${what}: round ${b.n} reports exactly one blow: ${JSON.stringify(b)}`);
        const dealt = b.hits.reduce((x, y) => x + y, 0);
        assert.equal(b.foeHp, a.foeHp - dealt, `${what}: round ${b.n}: ${b.foe} ${a.foeHp} - ${dealt} = ${b.foeHp} (health continuous)`);
    }
}

async function zoneOf(c, id, key) {
    return (await c.api(id, '/api/mud')).zones.find((z) => z.key === key);
}

/**
 * A player on a node other than @avoid fights @foe (keyword @kw) east or
 * west of the gate; @kill() is called once it has seen 3 rounds, and the
 * fight is watched until 6 more rounds came after @kill resolved.
 */
async function fightThrough(c, { nodeId, dir, kw, foe, kill, what }) {
    const p = await enter(c, nodeId);
    await cmd(p, dir, /The (Golem Vault|Crypt)/);
    const from = p.t.text().length;
    await cmd(p, `kill ${kw}`, `You attack ${foe}!`);
    await waitFor(() => rounds(p, from, foe).length >= 3, { timeout: 10000, interval: 50, what: `${what}: 3 rounds before the kill` });
    const before = rounds(p, from, foe).length;
    const info = await kill();
    const after = rounds(p, from, foe).length;
    await waitFor(() => rounds(p, from, foe).length >= after + 6, {
        timeout: 20000,
        interval: 50,
        what: `${what}: 6 more rounds after the kill (seen ${rounds(p, from, foe).map((r) => r.n)})`,
    });
    const rs = rounds(p, from, foe);
    checkContinuous(rs, what);
    assert.equal(rs[0].n, 1, `${what}: the fight starts at round 1`);
    console.log(`# mud-fight ${what}: ${info}; rounds ${rs[0].n}..${rs[rs.length - 1].n} (${before} before the kill), ${foe} ${rs[0].foeHp} -> ${rs[rs.length - 1].foeHp}`);
    return p;
}

test(
    'MUD fights: rounds, a skill, a death and a corpse; rounds go on across kill -9 of the zone owner and of the leader',
    { timeout: 90000 },
    withCluster({ name: 'mud-fight', telnet: true, extraArgs: [...FAST_PWHASH, '--mud-world', WORLD, '--grace', '300000'] }, async (c) => {
        await waitWorld(c, 1);

        // --- 1. a rat, with blows and a fire bolt
        const a = await enter(c, 1);
        await cmd(a, 'n', 'The Rat Pit');
        await cmd(a, 'consider rat', 'A fat rat (level 1) looks like a fair fight.');
        await cmd(a, 'kill bob', "You don't see bob here.");
        const from = a.t.text().length;
        await cmd(a, 'kill rat', 'You attack a fat rat!');
        await waitFor(() => rounds(a, from, 'a fat rat').length >= 1, { timeout: 8000, interval: 50, what: 'the first round' });
        await cmd(a, 'fire bolt', 'You hurl a bolt of fire at a fat rat.');
        await a.t.waitFor('A fat rat takes 5 fire damage.', 5000);
        await a.t.waitFor('A fat rat is dead!', 20000);
        const rs = rounds(a, from, 'a fat rat');
        for (let i = 1; i < rs.length; i++) assert.equal(rs[i].n, rs[i - 1].n + 1, `rat fight: consecutive rounds ${rs.map((r) => r.n)}`);
        assert.equal(rs[0].foeHp, 12 - rs[0].hits.reduce((x, y) => x + y, 0), `the rat has 12 health less round 1's blow: ${JSON.stringify(rs[0])}`);
        a.t.cursor = a.t.text().length;
        a.t.send('look');
        await a.t.waitFor(/corpse of a fat rat/i, 5000);
        await cmd(a, 'kill rat', "You don't see rat here.");
        console.log(`# mud-fight rat: died after ${rs.length} rounds`);

        // --- 2. kill -9 of the zone's owner during a fight
        const z0 = await zoneOf(c, 1, 'arena');
        const leader0 = await c.leader();
        const playerNode = [1, 2, 3].find((id) => id !== z0.owner && id !== leader0) || [1, 2, 3].find((id) => id !== z0.owner);
        const owner = z0.owner;
        await fightThrough(c, {
            nodeId: playerNode,
            dir: 'e',
            kw: 'golem',
            foe: 'a stone golem',
            what: 'owner kill',
            kill: async () => {
                await c.kill(owner, 'SIGKILL');
                const z = await waitFor(
                    async () => {
                        const zz = await zoneOf(c, playerNode, 'arena');
                        return zz.owner !== owner && zz.epoch > z0.epoch ? zz : false;
                    },
                    { timeout: 10000, interval: 50, what: `zone arena owned by a live node after node ${owner} died` },
                );
                return `killed owner node ${owner}${owner === leader0 ? ' (the leader)' : ''}, node ${z.owner} took the zone (epoch ${z0.epoch} -> ${z.epoch})`;
            },
        });
        await c.start(owner);
        await c.waitConverged({ timeout: 15000 });

        // --- 3. kill -9 of the leader during a fight
        const leader = await c.leader();
        const node3 = [1, 2, 3].find((id) => id !== leader);
        await fightThrough(c, {
            nodeId: node3,
            dir: 'w',
            kw: 'statue',
            foe: 'a granite statue',
            what: 'leader kill',
            kill: async () => {
                const zBefore = await zoneOf(c, node3, 'arena');
                await c.kill(leader, 'SIGKILL');
                const nl = await c.leader({ among: [1, 2, 3].filter((id) => id !== leader), timeout: 10000 });
                return `killed leader node ${leader} (zone owner ${zBefore.owner}), node ${nl} leads`;
            },
        });
        await c.start(leader);
        await c.waitConverged({ timeout: 15000 });
    }),
);
