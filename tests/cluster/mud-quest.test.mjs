// Quests, conversations, socials and mail on a real 3-node cluster, played
// the way a user does: a telnet client greets an NPC, takes its quest,
// fetches items, walks, talks, hands the quest in and is paid; players on
// other nodes see it happen. Mail goes from a player on node 1 to one on
// node 2 (told at once) and to an offline one who logs in later on node 3.
// The world is tests/cluster/worlds/quest (no combat: the quest has collect,
// visit and talk steps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { withCluster, REPO } from './lib/cluster.mjs';
import { FAST_PWHASH, Player, waitWorld, randomName } from './lib/mud.mjs';

const WORLD = path.join(REPO, 'tests', 'cluster', 'worlds', 'quest');
const OPTS = { telnet: true, extraArgs: [...FAST_PWHASH, '--mud-world', WORLD] };
const PW = 'heron-lantern-9';

/** A player on node @nodeId who creates @name (or logs it in); in the game. */
async function enter(c, nodeId, name, { login = false, label } = {}) {
    const p = await Player.connect(c, nodeId, { label: label || `${name}@${nodeId}` });
    const t = p.t;
    await t.waitFor(/By what name are you known\? $/);
    t.send(name);
    if (!login) {
        await t.waitFor(`Create a new character called ${name}? (y/n)`);
        t.send('y');
        await t.waitFor('Password: ');
        t.send(PW);
        await t.waitFor('Again, to be sure: ');
    } else {
        await t.waitFor('Password: ');
    }
    const room = t.waitForGmcp('Room.Info');
    t.send(PW);
    await t.waitFor(login ? `Welcome back to Questvale, ${name}.` : `Welcome to Questvale, ${name}.`);
    p.room = (await room).name;
    p.name = name;
    return p;
}

/**
 * Send @line every 300 ms until the answer matches @expect: for reads of the
 * replica that wait for a command of the same player to apply (mail read
 * marks the letter read through the log).
 */
async function until(p, line, expect, timeout = 8000) {
    const deadline = Date.now() + timeout;
    for (;;) {
        try {
            return await p.cmd(line, expect, 300);
        } catch (e) {
            if (Date.now() > deadline) throw e;
        }
    }
}

/** The experience and gold `score` shows. */
async function score(p) {
    const m = await p.cmd('score', /Experience: (\d+)[^\n]*\n[\s\S]*?Gold: +(\d+)\n/);
    return { xp: Number(m[1]), gold: Number(m[2]) };
}

test(
    'a quest from greeting to reward across nodes (collect, visit, talk), socials, and mail to online and offline players',
    { timeout: 60000 },
    withCluster({ ...OPTS, name: 'mud-quest' }, async (c) => {
        await waitWorld(c, 1);
        const [na, nb, nc] = [randomName('Qa', 7), randomName('Qb', 7), randomName('Qc', 7)];
        const a = await enter(c, 1, na);
        const b = await enter(c, 2, nb);
        assert.equal(a.room, 'Vale Square');

        // --- a conversation, seen from another node -------------------------
        const bSees = b.t.waitFor(`${na} greets the foreman.`, 8000);
        await a.cmd('greet foreman', `The foreman says 'Hello, ${na}. If you want work, ask me about work.'`);
        await bSees;
        await a.cmd('ask foreman about weather', 'The foreman has nothing to say about weather. You could ask about hello or work.');

        // --- the quest ---------------------------------------------------------
        const before = await score(a);
        await a.cmd('talk to foreman about work', "New quest: 'The miller's pelts'.");
        await a.t.waitFor("Quest 'The miller's pelts', next step: Fetch two wolf pelts from the cellar.");
        await a.cmd('quests', /The miller's pelts \(step 1 of 3\): Fetch two wolf pelts from the cellar\. \(0\/2\)/);
        await a.move('d');
        await a.cmd('get pelt', "Quest 'The miller's pelts': 1/2 wolf pelts collected.");
        await a.cmd('get pelt', "Quest 'The miller's pelts': 2/2 wolf pelts collected.");
        await a.t.waitFor("Quest 'The miller's pelts', next step: Go to The Old Mill.");
        await a.move('u');
        await a.move('e');
        await a.t.waitFor("Quest 'The miller's pelts': you have reached The Old Mill.");
        await a.cmd('talk miller', "Quest 'The miller's pelts': you have spoken with the miller.");
        await a.t.waitFor("Quest 'The miller's pelts': all done: return to the foreman.");
        await a.move('w');
        await a.cmd('greet foreman', `The foreman says 'Fine work, ${na}. Here is your pay.'`);
        await a.t.waitFor("Quest complete: 'The miller's pelts'. You receive 25 gold and a lucky charm.");
        await a.t.waitFor('You gain 30 experience.');
        const inv = await a.cmd('inventory', /You are carrying:\n((?: {2}[^\n]*\n)*)(?=[^ \n])/);
        assert.equal(inv[1], '  a lucky charm\n', 'the charm given, the pelts taken');
        assert.deepEqual(await score(a), { xp: before.xp + 30, gold: before.gold + 25 }, 'paid in experience and gold');
        await a.cmd('quests', "Completed: The miller's pelts.");
        // Once only: greeting again pays nothing.
        a.t.cursor = a.t.text().length;
        await a.cmd('greet foreman', `The foreman says 'Hello, ${na}.`);
        assert.ok(!a.t.text().slice(a.t.cursor).includes('Quest complete'), 'a second hand-in pays nothing');
        assert.deepEqual(await score(a), { xp: before.xp + 30, gold: before.gold + 25 }, 'paid once');

        // --- a social at a player on another node --------------------------------
        const waved = b.t.waitFor(`${na} waves at you.`, 8000);
        await a.cmd(`wave ${nb}`, `You wave at ${nb}.`);
        await waved;

        // --- mail: node 1 -> node 2, at once ---------------------------------------
        const told = b.t.waitFor(`You have new mail from ${na}.`, 8000);
        await a.cmd(`mail send ${nb} Meet me at the mill at dusk.`, `You send a letter to ${nb}.`);
        await told;
        const listed = await b.cmd('mail', new RegExp(`(\\d+) \\* ${na} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d {2}Meet me at the mill at dusk\\.`));
        const id = Number(listed[1]);
        await b.cmd(`mail read ${id}`, /Meet me at the mill at dusk\.\n/);
        await a.cmd(`mail read ${id}`, `You have no letter ${id}.`);
        await until(b, 'mail', new RegExp(`${id}   ${na}`)); // read: no star

        // --- mail to an offline character, read when it logs in on node 3 -----------
        const cc = await enter(c, 3, nc);
        await cc.cmd('quit', 'Goodbye. Come back soon.');
        await cc.close();
        await a.cmd(`mail send ${nc} The foreman pays well.`, `You send a letter to ${nc}.`);
        const c2 = await enter(c, 3, nc, { login: true, label: `${nc}@3(again)` });
        await c2.t.waitFor("You have 1 unread letter (type 'mail').");
        const id2 = Number((await c2.cmd('mail', new RegExp(`(\\d+) \\* ${na} .*The foreman pays well\\.`)))[1]);
        await c2.t.waitFor('1 letter, 1 unread.');
        await c2.cmd(`mail read ${id2}`, /The foreman pays well\.\n/);
        await until(c2, 'mail', '1 letter, 0 unread.');
        await Promise.all([a.close(), b.close(), c2.close()]);
    }),
);
