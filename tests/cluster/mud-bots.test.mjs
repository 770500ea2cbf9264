// The MUD benchmark's client (bench/mudbots) against a real 3-node cluster
// with the sample world, briefly: every bot logs in through the real login
// (a new character: name, password twice, race and class menus), walks and
// talks, and has its commands answered. The bench cases mud300/mud1000
// reported 0 commands for weeks because the login gained menus that the
// bots did not know; this runs the same client in `make test`, so a change
// of the login or of the prompt that breaks the bench fails CI.
//
// Control: mudbots exits 3 when fewer than half of its bots were served
// (bench/mudbots.c); the same run against a port where no MUD answers
// telnet (a node's HTTP port) must fail, so a pass here is not the client
// giving up quietly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withCluster, REPO } from './lib/cluster.mjs';
import { FAST_PWHASH, waitWorld } from './lib/mud.mjs';

const MUDBOTS = path.join(REPO, 'build', 'bench', 'mudbots');
const BOTS = 12;

function runBots(nodes, jsonFile, extra = []) {
    const args = ['--nodes', nodes, '--bots', String(BOTS), '--mode', 'spread', '--rate', '2', '--duration', '3',
        '--warmup', '1', '--ramp', '1', '--disperse', '2', '--login-timeout', '20', '--cmd-timeout', '5',
        '--drain', '2', '--prefix', 'Tb', '--seed', '7', '--quiet', '--json', jsonFile, ...extra];
    return spawnSync(MUDBOTS, args, { encoding: 'utf8', timeout: 60000 });
}

test(
    'bench/mudbots: bots log in as new characters on 3 nodes and have their commands answered; a port with no MUD fails the run',
    { timeout: 120000 },
    withCluster({ n: 3, name: 'mud-bots', telnet: true, extraArgs: [...FAST_PWHASH] }, async (c) => {
        assert.ok(fs.existsSync(MUDBOTS), `${MUDBOTS} is missing: run make (it builds the bench clients)`);
        await waitWorld(c, 1);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-mudbots-'));
        try {
            const nodes = c.liveIds().map((id) => `127.0.0.1:${c.telnetPort(id)}`).join(',');
            const json = path.join(dir, 'ok.json');
            const r = runBots(nodes, json);
            assert.equal(r.status, 0, `mudbots exited ${r.status}: ${r.stderr.slice(-800)}`);
            const j = JSON.parse(fs.readFileSync(json, 'utf8'));
            console.log(`mudbots bots=${j.bots} logged_in=${j.logged_in} served=${j.bots_served} commands=${j.commands} menus=${j.login_menus}`);
            assert.equal(j.logged_in, BOTS, 'every bot reached the game');
            assert.equal(j.bots_served, BOTS, 'every bot had a command answered');
            assert.ok(j.commands >= BOTS, `${j.commands} commands answered`);
            assert.ok(j.login_menus > 0, 'the bots went through the race/class menus of the sample world');

            // The control: the same run against HTTP ports, where no MUD answers.
            const http = c.liveIds().map((id) => c.node(id).http).join(',');
            const bad = runBots(http, path.join(dir, 'bad.json'), ['--login-timeout', '3']);
            assert.notEqual(bad.status, 0, 'mudbots against no MUD must fail');
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }),
);
