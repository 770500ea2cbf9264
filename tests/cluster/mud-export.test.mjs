// The canonical export of a running world, the way an operator uses it:
// `warren ctl world export DIR` writes the world the cluster runs as YAML
// files, `warren ctl world load DIR` loads them back. The world hash
// (/api/mud world.hash, a hash of the canonical export) is the same before
// and after on every node, while the version (a hash of the loaded bytes)
// changes, since the export is written differently from the source files;
// a player stays connected and in place. A renamed room in the export
// changes the hash (the positive control), and the player sees the new name.
// DIR must be empty unless --force, and with --force a stray .yaml file that
// `world load` would read too is reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withCluster, waitFor, runWarren, REPO } from './lib/cluster.mjs';
import { FAST_PWHASH, Player, answerChoices, waitWorld, randomName } from './lib/mud.mjs';

const WORLD = path.join(REPO, 'tests', 'cluster', 'worlds', 'export');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-export-'));
if (process.env.WARREN_KEEP !== '1') process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

/** world.version and world.hash of every node. */
async function worlds(c) {
    const out = [];
    for (const id of [1, 2, 3]) {
        const w = (await c.api(id, '/api/mud')).world;
        out.push({ version: w?.version, hash: w?.hash });
    }
    return out;
}

/** Every file under @dir: Map relative path -> text. */
function readTree(dir, rel = '') {
    const files = new Map();
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) for (const [k, v] of readTree(dir, p)) files.set(k, v);
        else files.set(p, fs.readFileSync(path.join(dir, p), 'utf8'));
    }
    return files;
}

async function ctl(c, id, ...args) {
    return runWarren(['ctl', '--node', c.node(id).http, ...args]);
}

/** Load @dir through node @id; wait until every node runs it; its version. */
async function load(c, id, dir) {
    const r = await ctl(c, id, 'world', 'load', dir);
    assert.equal(r.code, 0, `ctl world load ${dir}: ${r.stdout}${r.stderr}`);
    const version = r.stdout.match(/version ([0-9a-f]{32})/)?.[1];
    assert.ok(version, `ctl prints the version: ${r.stdout}`);
    await waitFor(async () => (await worlds(c)).every((w) => w.version === version), {
        timeout: 10000,
        what: `every node runs version ${version}`,
    });
    return version;
}

/** Create a character on node @id (the test world is not the sample's). */
async function newPlayer(c, id) {
    const p = await Player.connect(c, id, { label: `P@${id}` });
    const name = randomName('Ex', 8);
    const t = p.t;
    await t.waitFor(/By what name are you known\? $/, 10000);
    t.send(name);
    await t.waitFor(`Create a new character called ${name}? (y/n)`, 10000);
    t.send('y');
    await t.waitFor('Password: ', 10000);
    t.send('lantern-nine');
    await t.waitFor('Again, to be sure: ', 10000);
    const room = t.waitForGmcp('Room.Info', 10000);
    t.send('lantern-nine');
    await answerChoices(t); // its world has two races
    p.room = (await room).name;
    p.name = name;
    return p;
}

test(
    'warren ctl world export: the canonical files of the running world; loading them keeps the world hash; a change to them changes it',
    { timeout: 60000 },
    withCluster({ telnet: true, extraArgs: [...FAST_PWHASH, '--mud-world', WORLD], name: 'mud-export' }, async (c) => {
        await waitWorld(c, 1);
        await waitFor(async () => (await worlds(c)).every((w) => w.hash), { what: 'every node reports a world hash' });
        const before = await worlds(c);
        assert.match(before[0].hash, /^[0-9a-f]{32}$/, 'the world hash is 32 hex digits');
        assert.ok(before.every((w) => w.hash === before[0].hash && w.version === before[0].version),
            `every node: one version and one hash: ${JSON.stringify(before)}`);
        assert.notEqual(before[0].hash, before[0].version, 'the hash is of the export, not of the source bytes');
        const mud = await runWarren(['ctl', '--node', c.node(2).http, 'mud']);
        assert.match(mud.stdout, new RegExp(`^world Export Vale, version ${before[0].version}, hash ${before[0].hash}, `),
            `ctl mud prints the hash: ${mud.stdout}`);

        const p = await newPlayer(c, 2);
        assert.equal(p.room, 'Town Square');

        // Export from node 1 into a directory that does not exist yet.
        const dir = path.join(TMP, 'export');
        const ex = await ctl(c, 1, 'world', 'export', dir);
        assert.equal(ex.code, 0, `ctl world export: ${ex.stdout}${ex.stderr}`);
        assert.match(ex.stdout, new RegExp(`^world exported to ${dir} \\(3 files, \\d+ bytes\\): hash ${before[0].hash}\\n$`));
        const files = readTree(dir);
        assert.deepEqual([...files.keys()].sort(), ['world.yaml', 'zones/town.yaml', 'zones/woods.yaml']);
        assert.match(files.get('zones/town.yaml'), /\n {2}graveyard: square\n/);
        assert.match(files.get('world.yaml'), /\nrules:\n {2}round: 2000\n {2}regen: 5000\n/, 'defaults written out');

        // Every node exports the same files; --json says what it wrote.
        const dir3 = path.join(TMP, 'export3');
        const ex3 = await ctl(c, 3, '--json', 'world', 'export', dir3);
        assert.equal(ex3.code, 0, `ctl --json world export: ${ex3.stdout}${ex3.stderr}`);
        const j = JSON.parse(ex3.stdout);
        assert.equal(j.hash, before[0].hash);
        assert.equal(j.version, before[0].version);
        assert.deepEqual(j.files, ['world.yaml', 'zones/town.yaml', 'zones/woods.yaml']);
        assert.deepEqual(readTree(dir3), files, 'node 3 exports the same bytes as node 1');

        // Not into a non-empty directory unless --force; with --force, a
        // stray .yaml file (which `world load` would read) is reported.
        const again = await ctl(c, 1, 'world', 'export', dir);
        assert.equal(again.code, 1);
        assert.match(again.stderr, /is not empty \(--force writes into it anyway\)/);
        const forced = await ctl(c, 1, 'world', 'export', '--force', dir);
        assert.equal(forced.code, 0, `--force: ${forced.stderr}`);
        fs.writeFileSync(path.join(dir3, 'zones', 'old.yaml'), 'zone: {id: old}\n');
        const stray = await ctl(c, 3, 'world', 'export', '--force', dir3);
        assert.equal(stray.code, 1);
        assert.match(stray.stderr, /holds other \.yaml files/);

        // Load the export: a new version (other bytes), the same hash, on
        // every node; the player is still there.
        const shimmer = p.t.waitFor('The world shimmers around you', 10000);
        const v2 = await load(c, 2, dir);
        assert.notEqual(v2, before[0].version, 'the export is other bytes than the source files');
        const after = await worlds(c);
        assert.ok(after.every((w) => w.hash === before[0].hash), `the world hash is unchanged: ${JSON.stringify(after)}`);
        await shimmer;
        assert.equal((await p.look()).name, 'Town Square', 'the player is where it was');

        // Exporting what was loaded gives the same files again.
        const dir2 = path.join(TMP, 'export2');
        assert.equal((await ctl(c, 2, 'world', 'export', dir2)).code, 0);
        assert.deepEqual(readTree(dir2), files, 'export(load(export)) == export');

        // The positive control: one room renamed in the export.
        const town = path.join(dir2, 'zones', 'town.yaml');
        const text = fs.readFileSync(town, 'utf8');
        assert.ok(text.includes('name: Town Square\n'));
        fs.writeFileSync(town, text.replace('name: Town Square\n', 'name: Market Square\n'));
        const renamed = p.t.waitForGmcp('Room.Info', 10000);
        await load(c, 1, dir2);
        const changed = await worlds(c);
        assert.ok(changed.every((w) => w.hash === changed[0].hash), `one hash on every node: ${JSON.stringify(changed)}`);
        assert.notEqual(changed[0].hash, before[0].hash, 'a renamed room changes the world hash');
        assert.equal((await renamed).name, 'Market Square', 'the player sees the new name');
        const ex4 = await ctl(c, 1, 'world', 'export', path.join(TMP, 'export4'));
        assert.match(ex4.stdout, new RegExp(`hash ${changed[0].hash}\\n$`), 'a new export carries the new hash');
        await p.close();
    }),
);
