// Characters and progression over telnet on a real 3-node cluster, with the
// small world of worlds/progress (two races, two classes, a trainer): a new
// character is asked its race and class (a bad answer is asked again), its
// prompt and GMCP Char.Vitals carry its pools, `score` shows what it chose,
// honing spends gold (and is refused without enough), training needs the
// trainer's room and the right class, and all of it is the same when the
// character logs in again on another node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { withCluster, waitFor, REPO } from './lib/cluster.mjs';
import { FAST_PWHASH, Player, waitWorld, randomName } from './lib/mud.mjs';

const WORLD = path.join(REPO, 'tests', 'cluster', 'worlds', 'progress');
const OPTS = { telnet: true, extraArgs: [...FAST_PWHASH, '--mud-world', WORLD] };

/** The next prompt's pools: {hp, maxhp, sp, maxsp, ep, maxep}. */
async function promptOf(p, timeout = 5000) {
    const m = await p.t.waitFor(/<(\d+)\/(\d+)hp (\d+)\/(\d+)sp (\d+)\/(\d+)ep> /, timeout);
    const [hp, maxhp, sp, maxsp, ep, maxep] = m.slice(1).map(Number);
    return { hp, maxhp, sp, maxsp, ep, maxep };
}

test(
    'progression: race and class at creation, prompt and Char.Vitals, score, hone, train at a trainer, the same on another node',
    { timeout: 60000 },
    withCluster({ ...OPTS, name: 'mud-progress' }, async (c) => {
        await waitWorld(c, 1);
        const name = randomName('Pr', 8);
        const pw = 'prove-it-42';

        // --- creation: the race and class menus, a bad answer asked again
        const a = await Player.connect(c, 1, { label: 'A@1' });
        const t = a.t;
        await t.waitFor(/By what name are you known\? $/);
        t.send(name);
        await t.waitFor(`Create a new character called ${name}? (y/n)`);
        t.send('y');
        await t.waitFor('Password: ');
        t.send(pw);
        await t.waitFor('Again, to be sure: ');
        t.send(pw);
        const menu = await t.waitFor(/Choose your race:\n([\s\S]*?)Your race \(number or name\): $/);
        assert.match(menu[1], /1\. Human - Sturdy folk of the lowlands\./, 'the race menu lists the races with their descriptions');
        assert.match(menu[1], /2\. Elf - Quick, clever and a little frail\./);
        assert.equal(t.echoHidden(), false, 'the choices are typed visibly');
        t.send('orc');
        await t.waitFor('That is not a race of this world; answer with a number from 1 to 2 or a name.');
        await t.waitFor(/Your race \(number or name\): $/);
        t.send('ELF'); // a name, in any case
        await t.waitFor('Race: Elf.');
        const cmenu = await t.waitFor(/Choose your class:\n([\s\S]*?)Your class \(number or name\): $/);
        assert.match(cmenu[1], /1\. Warrior - Fights up close with steel\.[\s\S]*2\. Mage - Bends the world with words\./);
        t.send('3');
        await t.waitFor('That is not a class of this world');
        await t.waitFor(/Your class \(number or name\): $/);
        const vitals = t.waitForGmcp('Char.Vitals', 10000);
        t.send('2'); // a number
        await t.waitFor('Class: Mage.');
        await t.waitFor(`Welcome to Proving Grounds, ${name}.`, 10000);

        // --- the prompt and Char.Vitals: elf (vitality 9, intelligence 12,
        // agility 12) + mage (intelligence +3, willpower +2) at level 1:
        // health 10 + 2*9, skill 5 + 15 + 12, endurance 5 + 10 + 12
        assert.deepEqual(await promptOf(a), { hp: 28, maxhp: 28, sp: 32, maxsp: 32, ep: 27, maxep: 27 });
        assert.deepEqual(await vitals, { hp: 28, maxhp: 28, sp: 32, maxsp: 32, ep: 27, maxep: 27, level: 1, xp: 0, maxxp: 100 });

        // --- score shows the choices
        await a.cmd('score', /Created:[^\n]*\n/);
        const sheet = t.text().slice(t.text().lastIndexOf(`${name}, level`));
        assert.match(sheet, new RegExp(`${name}, level 1 Elf Mage`));
        assert.match(sheet, /Experience: 0 of 100 for level 2/);
        assert.match(sheet, /Health: +28\/28 +Skill: 32\/32 +Endurance: 27\/27/);
        assert.match(sheet, /intelligence +15/);
        assert.match(sheet, /Gold: +100/);
        assert.match(sheet, /Skills: +kick\n/, 'kick comes with level 1; fireball must be trained');

        // --- hone: intelligence 15 costs 2 * 15; the skill maximum grows,
        // and regeneration fills it (Char.Vitals follows without a command)
        const grown = t.waitForGmcp('Char.Vitals', 5000);
        await a.cmd('hone int', 'You hone your intelligence to 16 for 30 gold.');
        assert.equal((await grown).maxsp, 33, 'Char.Vitals is sent when the maximum changes');
        await waitFor(() => t.gmcp('Char.Vitals')?.sp === 33, { timeout: 5000, what: 'skill regenerated to 33 (Char.Vitals)' });

        // --- train: not here, then at the magister
        await a.cmd('train', 'Nobody here teaches anything.');
        await a.cmd('train fireball', 'Nobody here teaches fireball.');
        await a.move('n');
        const list = await a.cmd('train', /The old magister teaches:\n[^\n]*\n/);
        assert.match(list[0], /fireball +level 1 +30 gold/);
        await a.cmd('train fireball', 'The old magister teaches you fireball for 30 gold.');
        await a.cmd('train fireball', 'You already know fireball.');

        // --- hone until the gold runs out: 40 left; 32, then 34 is too much
        await a.cmd('hone intelligence', 'You hone your intelligence to 17 for 32 gold.');
        await a.cmd('hone intelligence', 'Honing your intelligence from 17 costs 34 gold; you have 8.');
        await a.cmd('hone', /intelligence +17 +costs 34/);

        // --- a warrior on node 2 (the first choices) cannot learn it
        const b = await (await Player.connect(c, 2, { label: 'B@2' })).create(randomName('Wa', 8), 'warrior-pw');
        await b.cmd('score', /level 1 Human Warrior/);
        await b.move('n');
        await b.cmd('train fireball', 'fireball is not a skill a Warrior can learn.');

        // --- the same character on node 3
        t.send('quit');
        await t.waitFor('Goodbye. Come back soon.');
        const a3 = await (await Player.connect(c, 3, { label: 'A@3' })).login(name, pw);
        await a3.cmd('score', /Created:/);
        const again = a3.t.text();
        assert.match(again, new RegExp(`${name}, level 1 Elf Mage`));
        assert.match(again, /intelligence +17/);
        assert.match(again, /Gold: +8\n/);
        assert.match(again, /Skills: +fireball, kick\n/);
        await Promise.all([a.close(), b.close(), a3.close()]);
    }),
);
