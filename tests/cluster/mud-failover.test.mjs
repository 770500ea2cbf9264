// The MUD under kill -9 on a real 3-node cluster (build/warren, loopback):
//   1. the owner of a zone whose NPCs wander is killed (a follower first,
//      then the leader): another node takes the zone with a higher epoch
//      within 5 s, the NPC instances are the same (no respawn, no extras),
//      each NPC's path stays continuous (same room or a neighbour between
//      two looks) and it keeps acting; players walking meanwhile on the
//      surviving nodes keep every acknowledged move;
//   2. the leader is killed while players walk and talk on the other nodes:
//      nothing acknowledged is lost;
//   3. all three nodes are killed and restarted on their data dirs: the
//      world, an item dropped on a floor and the characters' rooms are back.
// The world is the sample world with faster timers for the rats and the dog
// (lib/mud.mjs fastWorld), so that "keeps acting" shows in seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster, waitFor, delay } from './lib/cluster.mjs';
import { FAST_PWHASH, Player, fastWorld, readRooms, sameOrNeighbour, keyOfName, waitWorld, randomName } from './lib/mud.mjs';

const WORLD = fastWorld();
const ROOMS = readRooms(WORLD);
const PW = 'failover-pw';
// NPCs that act every 1-2 s in the test world, by zone
const FAST = { mine: 'tunnel_rat', town: 'stray_dog' };
const TAKEOVER_MS = 5000;

/** A player that walks a loop in town and talks, remembering the last room it saw. */
class Walker {
    constructor(player) {
        this.p = player;
        this.acked = player.room; // name of the last room a Room.Info named
        this.moves = 0;
        this.says = 0;
        this.unanswered = null; // a command that got no answer in time
        this.ackTimes = [];
        player.t.on('gmcp', (pkg, data) => {
            if (pkg === 'Room.Info' && data && data.name) this.acked = data.name;
        });
    }

    start() {
        const route = ['n', 's', 'e', 'w', 's', 'n', 'w', 'e']; // from the square, back to it
        this.stopped = false;
        this.done = (async () => {
            for (let i = 0; !this.stopped && i < 2000; i++) {
                try {
                    await this.p.move(route[i % route.length], 8000);
                    this.moves++;
                    this.ackTimes.push(Date.now());
                    if (i % 3 === 2) {
                        const w = `w${this.moves}`;
                        await this.p.cmd(`say ${w}`, `You say '${w}'`, 8000);
                        this.says++;
                    }
                } catch (e) {
                    this.unanswered = e.message.split('\n')[0];
                    return;
                }
                await delay(60); // pacing (under the telnet line rate), not for correctness
            }
        })();
        return this;
    }

    async stop() {
        this.stopped = true;
        await this.done;
    }

    acksAfter(t) {
        return this.ackTimes.filter((x) => x > t).length;
    }
}

async function newWalker(c, nodeId) {
    const name = randomName('Wk', 8);
    const p = await (await Player.connect(c, nodeId, { label: `${name}@${nodeId}` })).create(name, PW);
    return new Walker(p);
}

/**
 * Every walker's last acknowledged room is its room in /api/mud on every
 * node in @ids. A walker whose last command went unanswered may also be one
 * step further (that command may or may not have been applied).
 */
async function checkWalkers(c, walkers, ids) {
    for (const w of walkers) {
        const name = w.p.name;
        const ackKey = keyOfName(ROOMS, w.acked);
        for (const id of ids) {
            const p = await waitFor(
                async () => {
                    const m = await c.api(id, '/api/mud');
                    const e = m.players.find((x) => x.name === name);
                    if (!e) return false;
                    if (e.room === ackKey) return e;
                    return w.unanswered && sameOrNeighbour(ROOMS, ackKey, e.room) ? e : false;
                },
                { timeout: 5000, interval: 50, what: `node ${id} /api/mud: ${name} in ${ackKey}, its last acknowledged room${w.unanswered ? ' (or one step on)' : ''}` },
            );
            assert.ok(p, `${name}: acknowledged room kept`);
        }
    }
}

function zoneEntry(reg, zone) {
    return reg.names.find((e) => e.name === `zone/${zone}`);
}

/** kill -9 the owner of a zone with fast wanderers; @want: 'follower' or 'leader'. */
async function ownerRound(c, want) {
    const leader = await c.leader();
    const mud0 = await c.api(leader, '/api/mud');
    const owners = Object.fromEntries(mud0.zones.map((z) => [z.key, z.owner]));
    const fits = Object.keys(FAST).filter((z) => (want === 'leader' ? owners[z] === leader : owners[z] !== leader));
    const zone = fits[0] || Object.keys(FAST)[0];
    const victim = owners[zone];
    const kind = victim === leader ? 'leader' : 'follower';
    const survivors = c.liveIds().filter((id) => id !== victim);
    const obs = survivors[0];

    // players walking on the surviving nodes during the kill
    const walkers = await Promise.all(survivors.map((id) => newWalker(c, id)));
    walkers.forEach((w) => w.start());
    await waitFor(() => walkers.every((w) => w.moves >= 2), { timeout: 10000, what: 'walkers under way' });

    const reg0 = await c.api(obs, '/api/registry');
    const z0 = zoneEntry(reg0, zone);
    assert.equal(z0.node, victim, `registry zone/${zone} names its owner ${victim}: ${JSON.stringify(z0)}`);
    const before = await c.api(obs, '/api/mud');
    const idsBefore = before.npcs.map((n) => `${n.id}:${n.key}`).sort();
    const watched = before.npcs.filter((n) => n.zone === zone && n.key === FAST[zone]).map((n) => n.id);
    assert.ok(watched.length > 0, `zone ${zone} has a ${FAST[zone]}`);

    // the NPCs' rooms, looked at every 100 ms from before the kill to the end
    const paths = new Map(watched.map((id) => [id, []]));
    let polling = true;
    const poller = (async () => {
        while (polling) {
            try {
                const m = await c.api(obs, '/api/mud');
                const at = Date.now();
                for (const id of watched) {
                    const n = m.npcs.find((x) => x.id === id);
                    const path = paths.get(id);
                    const room = n ? n.room : null;
                    if (!path.length || path[path.length - 1].room !== room) path.push({ at, room });
                }
            } catch {
                /* a busy moment: look again */
            }
            await delay(100);
        }
    })();
    await delay(300);

    const tKill = Date.now();
    await c.kill(victim, 'SIGKILL');
    const taken = await waitFor(
        async () => {
            const e = zoneEntry(await c.api(obs, '/api/registry'), zone);
            return e && e.node !== victim && survivors.includes(e.node) && e.epoch > z0.epoch ? e : false;
        },
        { timeout: TAKEOVER_MS, interval: 25, what: `registry: zone/${zone} owned by a live node with an epoch above ${z0.epoch}` },
    );
    const tTaken = Date.now();
    const mz = (await c.api(obs, '/api/mud')).zones.find((z) => z.key === zone);
    assert.ok(mz.owner === taken.node && mz.epoch >= taken.epoch, `/api/mud agrees with the registry on zone ${zone}: ${JSON.stringify(mz)}`);

    // it keeps acting: every watched NPC changes room after the takeover
    await waitFor(() => watched.every((id) => paths.get(id).some((s) => s.at > tTaken)), {
        timeout: 20000,
        interval: 100,
        what: `the ${FAST[zone]}s of ${zone} to move again after the takeover (paths ${JSON.stringify([...paths])})`,
    });
    polling = false;
    await poller;
    for (const [id, path] of paths) {
        for (let i = 1; i < path.length; i++) {
            assert.ok(path[i].room !== null, `NPC ${id} vanished at ${path[i].at - tKill} ms after the kill: ${JSON.stringify(path)}`);
            assert.ok(
                sameOrNeighbour(ROOMS, path[i - 1].room, path[i].room),
                `NPC ${id} jumped from ${path[i - 1].room} to ${path[i].room} (not a neighbour) ${path[i].at - tKill} ms after the kill: ${JSON.stringify(path)}`,
            );
        }
    }
    // the same instances everywhere that is alive: no respawn, no extra NPC of any spawner
    for (const id of survivors) {
        const after = await c.api(id, '/api/mud');
        assert.deepEqual(after.npcs.map((n) => `${n.id}:${n.key}`).sort(), idsBefore, `node ${id}: the NPC instances (id:key) are the ones from before the kill`);
    }

    await Promise.all(walkers.map((w) => w.stop()));
    assert.ok(walkers.every((w) => w.acksAfter(tKill) > 0), `walkers were acknowledged after the kill: ${walkers.map((w) => w.acksAfter(tKill))}`);
    await checkWalkers(c, walkers, survivors);
    console.log(`# mud-failover owner round: killed node ${victim} (${kind}) owning ${zone}; node ${taken.node} took it, epoch ${z0.epoch}->${taken.epoch}, in ${tTaken - tKill} ms; walkers ${walkers.map((w) => `${w.moves} moves`).join(', ')}`);
    await Promise.all(walkers.map((w) => w.p.close()));
    await c.start(victim);
    await c.waitConverged({ timeout: 15000 });
    return kind;
}

test(
    'MUD failover: kill -9 of zone owners (follower and leader), of the leader under load, of the whole cluster',
    { timeout: 170000 },
    withCluster(
        { name: 'mud-failover', telnet: true, extraArgs: [...FAST_PWHASH, '--mud-world', WORLD, '--grace', '300000'] },
        async (c) => {
            await waitWorld(c, 1);

            // an item dropped on a floor, for the full restart at the end
            const dropName = randomName('Dr', 8);
            const dropper = await (await Player.connect(c, 2, { label: `${dropName}@2` })).create(dropName, PW);
            await dropper.move('n');
            await dropper.move('w');
            await dropper.cmd('get mug', 'You pick up a pewter mug.');
            assert.equal((await dropper.move('u')).name, "The Lantern's Loft");
            let lk = await dropper.look();
            assert.ok(!lk.lines.some((l) => /pewter mug/.test(l)), `no mug in the loft before the drop: ${JSON.stringify(lk.lines)}`);
            await dropper.cmd('drop mug', 'You drop a pewter mug.');
            lk = await dropper.look();
            assert.ok(lk.lines.includes('A pewter mug has been left on a table.'), `the mug lies in the loft: ${JSON.stringify(lk.lines)}`);
            await dropper.close(); // link-dead for the grace period, in the loft

            // --- 1. zone owners: a follower, then the leader (when placement allows)
            const kinds = [await ownerRound(c, 'follower'), await ownerRound(c, 'leader')];
            console.log(`# mud-failover owner rounds covered: ${kinds.join(', ')}`);
            assert.ok(kinds.includes('follower'), 'a zone owned by a follower was killed in one round');

            // --- 2. the leader, while players walk and talk on the other nodes
            const leader = await c.leader();
            const others = c.liveIds().filter((id) => id !== leader);
            const walkers = await Promise.all(others.map((id) => newWalker(c, id)));
            walkers.forEach((w) => w.start());
            await waitFor(() => walkers.every((w) => w.moves >= 3), { timeout: 10000, what: 'walkers under way' });
            const tKill = Date.now();
            await c.kill(leader, 'SIGKILL');
            const newLeader = await c.leader({ among: others, timeout: 10000 });
            await waitFor(() => walkers.every((w) => w.acksAfter(tKill) >= 3 || w.unanswered), {
                timeout: 15000,
                what: 'three acknowledged moves per walker after the leader died',
            });
            await Promise.all(walkers.map((w) => w.stop()));
            const firstAck = Math.min(...walkers.map((w) => w.ackTimes.find((x) => x > tKill) ?? Infinity));
            console.log(`# mud-failover leader kill: node ${leader} killed, node ${newLeader} leads; first ack ${firstAck - tKill} ms after the kill; walkers ${walkers.map((w) => `${w.moves} moves, ${w.says} says${w.unanswered ? ', unanswered: ' + w.unanswered : ''}`).join('; ')}`);
            await checkWalkers(c, walkers, others);
            const finalRooms = new Map(walkers.map((w) => [w.p.name, w.acked]));
            await Promise.all(walkers.map((w) => w.p.close()));
            await c.start(leader);
            const conv = await c.waitConverged({ timeout: 15000 });

            // --- 3. kill -9 of all three, restart on the same data dirs
            const mudBefore = await c.api(newLeader, '/api/mud');
            const roomsBefore = Object.fromEntries(mudBefore.players.map((p) => [p.name, p.room]));
            assert.equal(roomsBefore[dropName], 'town.loft', `the dropper is in the loft before the restart: ${JSON.stringify(roomsBefore)}`);
            await Promise.all(c.nodes.map((n) => c.kill(n.id, 'SIGKILL')));
            await Promise.all(c.nodes.map((n) => c.start(n.id)));
            await c.leader({ timeout: 15000 });
            const mudAfter = await waitFor(
                async () => {
                    const m = await c.api(1, '/api/mud');
                    return m.world && m.players.length >= mudBefore.players.length ? m : false;
                },
                { timeout: 15000, what: 'node 1: the world and its players restored' },
            );
            assert.equal(mudAfter.world.version, mudBefore.world.version, 'the same world version after the restart');
            const roomsAfter = Object.fromEntries(mudAfter.players.map((p) => [p.name, p.room]));
            assert.deepEqual(roomsAfter, roomsBefore, 'every character in the world is in its room after the full restart');
            assert.deepEqual(
                mudAfter.npcs.map((n) => `${n.id}:${n.key}`).sort(),
                mudBefore.npcs.map((n) => `${n.id}:${n.key}`).sort(),
                'the same NPC instances after the full restart',
            );
            assert.ok((await c.api(1, '/api/cluster')).applied_index >= conv.applied_index, 'nothing applied before the restart is missing');

            // the dropper logs in where it was and the mug still lies there
            const back = await (await Player.connect(c, 3, { label: `${dropName}@3` })).login(dropName, PW);
            assert.equal(back.room, "The Lantern's Loft", 'the dropper logs in where it was');
            lk = await back.look();
            assert.ok(lk.lines.includes('A pewter mug has been left on a table.'), `the dropped mug is still on the loft's floor: ${JSON.stringify(lk.lines)}`);
            // the walkers of the leader round log in where they last were
            for (const [name, room] of finalRooms) {
                const p = await (await Player.connect(c, 1, { label: `${name}@1` })).login(name, PW);
                assert.equal(p.room, room, `${name} logs in in its last acknowledged room`);
                await p.close();
            }
            await back.close();
        },
    ),
);
