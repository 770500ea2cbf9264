// Live building and administration the way people do it: an operator makes
// a character a builder with `warren ctl role`, the builder digs a room and
// brings an NPC in with telnet commands while players on the other nodes
// stand in the same room (they see a notice and the new exit at once, and
// nobody is disconnected), then, as an admin, forces a player to speak,
// teleports one and pauses a zone. The world is tests/cluster/worlds/build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withCluster, waitFor, runWarren, REPO } from './lib/cluster.mjs';
import { FAST_PWHASH, Player, waitWorld, randomName } from './lib/mud.mjs';

const WORLD = path.join(REPO, 'tests', 'cluster', 'worlds', 'build');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-build-'));
if (process.env.WARREN_KEEP !== '1') process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

/** world.version and world.hash as every node reports them. */
async function worlds(c) {
    const out = [];
    for (const id of [1, 2, 3]) {
        const w = (await c.api(id, '/api/mud')).world;
        out.push({ version: w?.version, hash: w?.hash });
    }
    return out;
}

/** A new character on node @id, in the game (its first Room.Info seen). */
async function newPlayer(c, id, prefix) {
    const p = await Player.connect(c, id, { label: `${prefix}@${id}` });
    const name = randomName(prefix, 8);
    const t = p.t;
    await t.waitFor(/By what name are you known\? $/, 10000);
    t.send(name);
    await t.waitFor(`Create a new character called ${name}? (y/n)`, 10000);
    t.send('y');
    await t.waitFor('Password: ', 10000);
    t.send('mortar-and-pestle');
    await t.waitFor('Again, to be sure: ', 10000);
    const room = t.waitForGmcp('Room.Info', 10000);
    t.send('mortar-and-pestle');
    await t.waitFor(`Welcome to Buildland, ${name}.`, 10000);
    p.room = (await room).name;
    p.name = name;
    return p;
}

function ctl(c, ...args) {
    return runWarren(['ctl', '--node', c.node(1).http, ...args]);
}

test(
    'live building: roles by ctl, a builder digs and brings an NPC while players on other nodes watch; admins force, teleport and pause',
    { timeout: 60000 },
    withCluster({ telnet: true, extraArgs: [...FAST_PWHASH, '--mud-world', WORLD], name: 'mud-build' }, async (c) => {
        await waitWorld(c, 1);
        const al = await newPlayer(c, 1, 'Al');
        const bo = await newPlayer(c, 2, 'Bo');
        const ca = await newPlayer(c, 3, 'Ca');
        for (const p of [al, bo, ca]) assert.equal(p.room, "Builders' Square");

        // A player cannot build: the command does not exist for them, and
        // help does not list it.
        await al.cmd('dig down cellar', 'Huh?');
        await al.cmd('help', 'Type \'help COMMAND\' for more.');
        assert.ok(!al.text().includes('Building:'), 'a player sees no Building commands');

        // ctl role: refusals first, each next to the good request.
        const unknown = await ctl(c, 'role', 'Nobodyhere', 'builder');
        assert.equal(unknown.code, 1, unknown.stdout + unknown.stderr);
        assert.match(unknown.stderr, /no character has that name/);
        const badRole = await ctl(c, 'role', al.name, 'wizard');
        assert.equal(badRole.code, 2, badRole.stdout + badRole.stderr);
        assert.match(badRole.stderr, /role must be player, builder or admin/);
        const told = al.t.waitFor('You are a builder now.', 10000);
        const made = await ctl(c, 'role', al.name, 'builder');
        assert.equal(made.code, 0, made.stdout + made.stderr);
        assert.equal(made.stdout.trim(), `${al.name} is a builder now.`);
        await told;
        const again = await ctl(c, 'role', al.name, 'builder');
        assert.equal(again.stdout.trim(), `${al.name} is a builder already.`);
        const shown = await ctl(c, 'role', al.name);
        assert.equal(shown.stdout.trim(), `${al.name} is a builder.`);
        await al.cmd('help', 'Building:');

        // A refused edit says why and changes nothing.
        await al.cmd('dig north cellar', 'There is already an exit north; unlink it first.');

        // Dig down: the builder is told; players on the other nodes read a
        // notice and see the new exit at once, without typing anything.
        const boNotice = bo.t.waitFor(`${al.name} opens a new way down.`, 10000);
        const caNotice = ca.t.waitFor(`${al.name} opens a new way down.`, 10000);
        await al.cmd('dig down cellar A Dark Cellar', 'You dig down: A Dark Cellar (town.cellar) is there now.');
        await boNotice;
        await caNotice;
        await bo.t.waitFor(/\[Exits:[^\]]*\bdown\b[^\]]*\]/, 5000);
        assert.match((await ca.look()).exits, /\bdown\b/, 'the new exit is in look');

        // Describe the new room, bring an NPC into the square.
        const rat = bo.t.waitFor('A fat rat appears.', 10000);
        const rat3 = ca.t.waitFor('A fat rat appears.', 10000);
        await al.cmd('mcreate rat a fat rat', 'New NPC (a fat rat) created; a spawner keeps one here.');
        await rat;
        await rat3;
        assert.ok((await ca.look()).lines.includes('A fat rat is here.'), 'Ca sees the rat');
        await waitFor(async () => (await c.api(2, '/api/mud')).npcs.some((n) => n.key === 'rat'), {
            timeout: 5000,
            what: 'the rat in /api/mud on node 2',
        });

        // The new room is real: a player walks in; the builder describes it
        // while he stands there, and he sees the new description.
        const cellar = await bo.move('d');
        assert.equal(cellar.name, 'A Dark Cellar');
        await al.move('d');
        const redesc = bo.t.waitFor('Cold stone walls sweat in the dark.', 10000);
        await al.cmd('redit desc Cold stone walls sweat in the dark.', "The room's description is set.");
        await redesc;
        await al.move('u');
        await bo.move('u');

        // The edited world round-trips through its files: export it, load
        // the export, and every node runs the same world hash as before.
        await waitFor(async () => {
            const w = await worlds(c);
            return w.every((x) => x.hash && x.hash === w[0].hash && x.version === w[0].version);
        }, { timeout: 5000, what: 'every node on the edited world' });
        const edited = (await worlds(c))[0];
        const dir = path.join(TMP, 'export');
        const ex = await ctl(c, 'world', 'export', dir);
        assert.equal(ex.code, 0, ex.stdout + ex.stderr);
        assert.match(ex.stdout, new RegExp(`hash ${edited.hash}`));
        const town = fs.readFileSync(path.join(dir, 'zones', 'town.yaml'), 'utf8');
        assert.match(town, /- id: cellar\n/, 'the dug room is in the exported town');
        assert.match(town, /Cold stone walls sweat in the dark\./);
        assert.match(town, /- id: rat\n/, 'so is the new NPC kind');
        const ld = await ctl(c, 'world', 'load', dir);
        assert.equal(ld.code, 0, ld.stdout + ld.stderr);
        const version = ld.stdout.match(/version ([0-9a-f]{32})/)?.[1];
        await waitFor(async () => (await worlds(c)).every((w) => w.version === version), {
            timeout: 10000,
            what: 'every node runs the loaded export',
        });
        for (const w of await worlds(c)) assert.equal(w.hash, edited.hash, 'the same world hash after export and load');

        // Everyone is still connected and hears each other.
        await al.cmd('say still here?', "You say 'still here?'");
        await bo.t.waitFor(`${al.name} says 'still here?'`, 5000);
        await ca.t.waitFor(`${al.name} says 'still here?'`, 5000);

        // Admin commands need an admin, checked by the state machine too.
        await al.cmd('force', 'Huh?');
        const adm = await ctl(c, 'role', al.name, 'admin');
        assert.equal(adm.code, 0, adm.stdout + adm.stderr);
        await al.t.waitFor('You are an admin now.', 10000);

        // force: Bo's own node (2) runs the line as if he typed it.
        const forced = bo.t.waitFor(`${al.name} forces you to: say I was made to say this`, 10000);
        const heard = ca.t.waitFor(`${bo.name} says 'I was made to say this'`, 10000);
        await al.cmd(`force ${bo.name} say I was made to say this`, `You force ${bo.name} to: say I was made to say this`);
        await forced;
        await heard;

        // teleport Ca (node 3) to the field; goto Ca.
        const moved = ca.t.waitForGmcp('Room.Info', 10000);
        await al.cmd(`teleport ${ca.name} wild.field`, `You teleport ${ca.name} to Open Field (wild.field).`);
        assert.equal((await moved).name, 'Open Field');
        await ca.t.waitFor(`${al.name} teleports you.`, 5000);
        const there = al.t.waitForGmcp('Room.Info', 10000);
        await al.cmd(`goto ${ca.name}`);
        assert.equal((await there).name, 'Open Field');

        // Pause the wilds: /api/mud and `zone` show it; resume.
        await al.cmd('zone pause', 'Zone wild is paused');
        await al.cmd('zone', /wild\s+node \d+, epoch \d+, PAUSED/);
        await al.cmd('zone pause wild', 'Zone wild is paused already.');
        await al.cmd('zone resume wild', 'Zone wild runs again.');
        await al.cmd('debug town', /zone\/town \(Builders' Town\): owner node \d+, epoch \d+, running/);
        await al.cmd(`debug ${bo.name}`, new RegExp(`char/${bo.name}: id \\d+, online, role player`));

        for (const p of [al, bo, ca]) await p.close();
    }),
);
