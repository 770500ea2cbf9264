// Rolling restart of a local cluster under load (docs/operations.md, "Drain
// and rolling restart"): `warren cluster up` (3 nodes behind nginx, a MUD
// world of 6 zones), arena players (on the nodes, and through nginx) and
// MUD characters over /mud/ws playing, then `warren cluster roll --bin
// COPY`: every node is drained, stopped, started from the copy and
// undrained in turn, the leader last. Every client keeps its player or
// character (it resumes, same id or name), no acknowledged command is lost
// (each arena player's final seq is at least its highest ack; each
// character stands in the room it was last told), every node runs the new
// binary and the nodes agree on one state hash. Prints the longest pause a
// client saw.
//
// A second run starts the cluster with the previous release (built here
// from git: PREVIOUS_RELEASE, the last commit before drain and its formats)
// and rolls it to this one: a node of this release joins a cluster of the
// previous one, and the roll goes on without drain (the old nodes have
// none), the clients resuming when their node stops.
//
// Environment: WARREN_BIN (default build/warren), WARREN_PREV_BIN (the
// previous release's binary, instead of building it), WARREN_KEEP=1 keeps
// the cluster directory.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runWarren, waitFor, warrenBin, tail, REPO, hashIndex } from './lib/cluster.mjs';
import { LocalRuns, freeRuns } from './lib/local.mjs';
import { FAST_PWHASH } from './lib/mud.mjs';
import { rowWorld, ResumingArena, ResumingMud } from './lib/roll.mjs';

const runs = new LocalRuns();
after(() => runs.cleanup());

async function api(port, p) {
    const r = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(2000) });
    if (r.status !== 200) throw new Error(`GET ${p} on port ${port}: ${r.status}`);
    return r.json();
}

/* The previous release: the last commit before drain (core commands of
 * version 3, snapshot format 4). */
const PREVIOUS_RELEASE = '2357a1b';

/* Its binary, built from git into a temporary directory (about a minute). */
function previousBinary() {
    if (process.env.WARREN_PREV_BIN) return process.env.WARREN_PREV_BIN;
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-prev-'));
    runs.dirs.push(src);
    execFileSync('sh', ['-c', `git -C "${REPO}" archive ${PREVIOUS_RELEASE} | tar -x -C "${src}"`], { stdio: 'inherit' });
    execFileSync('make', ['-C', src, '-j2', 'build/warren'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600000 });
    return path.join(src, 'build', 'warren');
}

test('cluster roll under arena and MUD load: every client resumes, nothing acknowledged lost', { timeout: 120000 }, () => rollUnderLoad(warrenBin(), 'same release'));

test('cluster roll from the previous release to this one, under load', { timeout: 900000 }, () => rollUnderLoad(previousBinary(), `from ${PREVIOUS_RELEASE}`));

async function rollUnderLoad(upBin, what) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-roll-'));
    runs.dirs.push(dir);
    const [http, cluster, lb, telnet, lbTelnet] = await freeRuns([3, 3, 1, 3, 1]);
    const world = rowWorld(6);
    const up = await runWarren(
        ['cluster', 'up', '--dir', dir, '--http-port', String(http), '--cluster-port', String(cluster), '--lb-port', String(lb),
            '--telnet-port', String(telnet), '--lb-telnet-port', String(lbTelnet), '--wait', '30', '--', '--mud-world', world, ...FAST_PWHASH],
        { timeout: 45000, bin: upBin },
    );
    assert.equal(up.code, 0, `cluster up:\n${up.stdout}\n${up.stderr}`);
    const pidsBefore = runs.readPids(dir);
    const port = (id) => http + id - 1;
    await waitFor(async () => {
        const m = await api(port(1), '/api/mud');
        return m.zones.length === 6 && m.zones.every((z) => z.owner > 0);
    }, { timeout: 20000, what: 'the world loaded and every zone owned' });

    const nodes = [1, 2, 3].map((id) => ({ id, port: port(id) }));
    const viaLb = [{ id: 0, port: lb }];
    const arena = [
        ...[0, 1, 2, 3, 4, 5].map((k) => new ResumingArena(`r${k}`, nodes, k, { maxMs: 90000 })),
        ...[0, 1].map((k) => new ResumingArena(`lb${k}`, viaLb, 0, { maxMs: 90000 })),
    ];
    const mud = [0, 1, 2].map((k) => new ResumingMud(`Roller${'abc'[k]}`, `pw-roll-${k}`, nodes, k, { maxMs: 90000 }));
    const all = [...arena, ...mud];
    all.forEach((p) => p.start());
    let rollMs = 0;
    try {
        await waitFor(() => all.every((p) => p.acks >= 3), { timeout: 20000, what: 'every client acknowledged 3 commands' });
        all.forEach((p) => p.resetPauses());

        // --- the roll, to a copy of the binary
        const newBin = path.join(dir, 'warren-new');
        fs.copyFileSync(warrenBin(), newBin);
        fs.chmodSync(newBin, 0o755);
        const t0 = Date.now();
        const r = await runWarren(['cluster', 'roll', '--dir', dir, '--bin', newBin, '--wait', '30'], { timeout: 100000 });
        rollMs = Date.now() - t0;
        console.log(r.stdout.split('\n').map((l) => `# ${l}`).join('\n'));
        assert.equal(r.code, 0, `cluster roll:\n${r.stdout}\n${r.stderr}\n${[1, 2, 3].map((i) => tail(path.join(dir, `node${i}.log`), 20)).join('\n')}`);
        for (const id of [1, 2, 3]) assert.match(r.stdout, new RegExp(`node ${id}: rolled in [\\d.]+ s`));
        assert.match(r.stdout, /Rolled 3 nodes in [\d.]+ s/);
        assert.match(fs.readFileSync(path.join(dir, 'cluster.conf'), 'utf8'), new RegExp(`binary ${newBin}`), 'cluster.conf records the new binary');
        const pidsAfter = runs.readPids(dir);
        for (const id of [1, 2, 3]) {
            assert.notEqual(pidsAfter[`node${id}`], pidsBefore[`node${id}`], `node ${id} was restarted`);
            assert.equal(fs.readlinkSync(`/proc/${pidsAfter[`node${id}`]}/exe`), newBin, `node ${id} runs the new binary`);
        }

        // the clients kept playing: let each get a few more acks
        const acksAt = all.map((p) => p.acks);
        await waitFor(() => all.every((p, k) => p.acks >= acksAt[k] + 3), { timeout: 15000, what: 'every client acknowledged 3 more commands after the roll' });
    } finally {
        await Promise.all(all.map((p) => p.stop()));
    }

    // every client kept its player or character, and was moved at least once
    for (const p of arena) assert.equal(p.ids.size, 1, `${p.label} kept its player id: ${[...p.ids]}`);
    for (const p of mud) assert.deepEqual([...p.names], [p.name], `${p.label} kept its character`);
    for (const p of [...arena.slice(0, 6), ...mud]) assert.ok(p.welcomes.length >= 2, `${p.label} resumed at least once (${p.welcomes.length} welcomes, closes ${JSON.stringify(p.closes)})`);

    // nothing acknowledged lost
    const leader = (await api(port(1), '/api/cluster')).leader;
    await waitFor(async () => {
        const st = await api(port(leader), '/api/state');
        return arena.every((p) => (st.players.find((x) => x.id === p.id) || { seq: -1 }).seq >= p.acked);
    }, { timeout: 5000, what: 'every arena player at or beyond its highest ack' });
    const m = await api(port(leader), '/api/mud');
    for (const p of mud) {
        const ch = m.players.find((x) => x.name === p.name);
        assert.ok(ch, `${p.name} is in the world`);
        const [z, rr] = ch.room.replace(/^z/, '').split('.r');
        assert.equal(`Room ${z}.${rr}`, p.room.name, `${p.name} stands where it was last told`);
    }
    // one state
    await waitFor(async () => {
        const v = await Promise.all([1, 2, 3].map((id) => api(port(id), '/api/cluster')));
        return v.every((x) => x.applied_index === v[0].applied_index && hashIndex(x) === x.applied_index && x.state_hash === v[0].state_hash && !x.draining);
    }, { timeout: 10000, what: 'the three nodes at one index and hash, none draining' });

    const worst = all.reduce((a, p) => (p.maxPause > a.maxPause ? p : a));
    console.log(`# roll of 3 nodes under load (${what}): ${rollMs} ms; longest pause a client saw: ${worst.maxPause} ms (${worst.label}); ` +
        `per client: ${all.map((p) => `${p.label} ${p.maxPause}`).join(', ')}`);
}
