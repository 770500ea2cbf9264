// Loading a changed world into a running cluster, the way an operator does
// it: `warren ctl world load DIR`. A bad file is refused with
// FILE:LINE:COLUMN and the running world is untouched; a good one replaces
// it on every node, everyone stays connected, and a player standing in a
// room that no longer exists is moved to the start room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withCluster, waitFor, holdFor, runWarren, REPO } from './lib/cluster.mjs';
import { FAST_PWHASH, Player, waitWorld, randomName } from './lib/mud.mjs';

/** A copy of the sample world in a fresh temporary directory. */
function copyWorld(tag) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `warren-world-${tag}-`));
    fs.cpSync(path.join(REPO, 'world'), dir, { recursive: true });
    return dir;
}

function editTown(dir, fn) {
    const f = path.join(dir, 'zones', 'town.yaml');
    fs.writeFileSync(f, fn(fs.readFileSync(f, 'utf8')));
}

async function versions(c) {
    const out = [];
    for (const id of [1, 2, 3]) out.push((await c.api(id, '/api/cluster')).versions.mud);
    return out;
}

const V1 = copyWorld('v1');
// v2: the herbalist's shop (town.herbalist) becomes town.apothecary: the old
// room no longer exists.
const V2 = copyWorld('v2');
editTown(V2, (s) => s.replace('s: herbalist}', 's: apothecary}').replace('- id: herbalist', '- id: apothecary')
    .replace('room: herbalist,', 'room: apothecary,'));
// bad: v2 with a broken line in the town file.
const BAD = copyWorld('bad');
fs.cpSync(V2, BAD, { recursive: true });
editTown(BAD, (s) => s.replace('    exits: {n: west_street}', '    exits: {n: west_street'));
process.on('exit', () => {
    for (const d of [V1, V2, BAD]) fs.rmSync(d, { recursive: true, force: true });
});

test(
    'warren ctl world load: a bad world is refused with file:line:column and changes nothing; a good one replaces it live, moving players out of removed rooms',
    { timeout: 90000 },
    withCluster(
        { telnet: true, extraArgs: [...FAST_PWHASH, '--mud-world', V1], name: 'mud-world' },
        async (c) => {
            await waitWorld(c, 1);
            const v1 = await versions(c);
            assert.ok(v1[0] && v1.every((v) => v === v1[0]), `every node runs one world version: ${v1}`);

            const pw = 'tulip-seven';
            const a = await Player.connect(c, 2, { label: 'A@2' });
            await a.create(randomName('Wa', 8), pw);
            await a.move('w');
            const shop = await a.move('s');
            assert.equal(shop.name, 'Nettle & Sage', 'A stands in the herbalist\'s shop');
            const b = await Player.connect(c, 3, { label: 'B@3' });
            await b.create(randomName('Wb', 8), pw);
            assert.equal(b.room, 'Ferrowby Square');

            // A broken file: refused, with its position; nothing changes.
            const bad = await runWarren(['ctl', '--node', c.node(1).http, 'world', 'load', BAD]);
            assert.equal(bad.code, 1, `ctl exits 1 for a bad world: ${bad.stdout}${bad.stderr}`);
            assert.match(bad.stderr, /zones\/town\.yaml:\d+:\d+: /, 'the error names file:line:column');
            await holdFor(async () => assert.deepEqual(await versions(c), v1), {
                duration: 1000,
                what: 'the running world unchanged after a refused load',
            });
            assert.equal((await a.look()).name, 'Nettle & Sage', 'A is where it was');

            // The good world: every node runs it, A is moved, nobody is disconnected.
            const shimmer = a.t.waitFor('The world shimmers around you', 10000);
            const moved = a.t.waitForGmcp('Room.Info', 10000);
            const good = await runWarren(['ctl', '--node', c.node(3).http, 'world', 'load', V2]);
            assert.equal(good.code, 0, `ctl loads the good world: ${good.stdout}${good.stderr}`);
            const v2 = good.stdout.match(/version ([0-9a-f]{32})/)?.[1];
            assert.ok(v2 && v2 !== v1[0], `ctl prints the new version: ${good.stdout}`);
            await waitFor(async () => (await versions(c)).every((v) => v === v2), {
                timeout: 10000,
                what: 'every node runs the new world',
            });
            await shimmer;
            assert.equal((await moved).name, 'Ferrowby Square', 'A, whose room is gone, is in the start room');
            const api = await c.api(1, '/api/mud');
            assert.equal(api.players.find((p) => p.name === a.name)?.room, 'town.square');
            // Both still connected and playing: they see and hear each other.
            assert.ok((await a.look()).lines.some((l) => l.startsWith(b.name)), 'A sees B in the square');
            await a.cmd('say the shop moved', new RegExp(`You say 'the shop moved'`));
            await b.t.waitFor(`${a.name} says 'the shop moved'`, 5000);
            // The new room exists where the old one was.
            await a.move('w');
            assert.equal((await a.move('s')).name, 'Nettle & Sage', 'the renamed room is reachable');
            assert.equal((await c.api(2, '/api/mud')).players.find((p) => p.name === a.name)?.room, 'town.apothecary');
            await a.close();
            await b.close();
        },
    ),
);
