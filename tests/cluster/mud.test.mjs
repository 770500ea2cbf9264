// The MUD over telnet on real 3-node clusters (build/warren, loopback only):
// a client that negotiates like a MUD client creates a character, logs in
// again, walks through a door, carries an item, talks; two players on
// different nodes see and hear each other; a second login takes a character
// over; two nodes race for one new name; bad input from one client does not
// hurt another. The failover half is in mud-failover.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { withCluster, waitFor, delay } from './lib/cluster.mjs';
import { OPT } from './lib/telnet.mjs';
import { FAST_PWHASH, Player, answerChoices, readRooms, waitWorld, randomName } from './lib/mud.mjs';

const OPTS = { telnet: true, extraArgs: [...FAST_PWHASH] };
const ROOMS = readRooms(); // the sample world, which these nodes load

/** /api/mud's entry for player @name on node @id (undefined if not listed). */
async function apiPlayer(c, id, name) {
    const m = await c.api(id, '/api/mud');
    return m.players.find((p) => p.name === name);
}

/** Wait until node @id's /api/mud puts @name in the room called @roomName. */
async function waitApiRoom(c, id, name, roomName, timeout = 5000) {
    return waitFor(
        async () => {
            const p = await apiPlayer(c, id, name);
            return p && ROOMS.get(p.room)?.name === roomName ? p : false;
        },
        { timeout, interval: 25, what: `node ${id} /api/mud: ${name} in "${roomName}"` },
    );
}

test(
    'telnet: negotiation, a new character with hidden password, re-login, walking through a door, get/drop, say/emote, GMCP Room.Info, MCCP2',
    { timeout: 90000 },
    withCluster({ ...OPTS, name: 'mud-telnet' }, async (c) => {
        await waitWorld(c, 1);
        const name = randomName('Al', 8);
        const pw = `Zq${Math.random().toString(36).slice(2, 10)}Kx`;

        // --- A: MCCP2 on, NAWS 60 columns, on node 1 --------------------------------
        const a = await Player.connect(c, 1, { mccp: true, width: 60, label: 'A(mccp)' });
        const rawA = [];
        a.t.socket.on('data', (ch) => rawA.push(Buffer.from(ch)));
        await a.t.waitFor(/By what name are you known\? $/);
        assert.equal(a.t.echoHidden(), false, 'input must be visible while the name is asked');
        a.t.send(name);
        await a.t.waitFor(`Create a new character called ${name}? (y/n)`);
        a.t.send('y');
        await a.t.waitFor('Password: ');
        assert.equal(a.t.echoHidden(), true, 'the server must hide input (WILL ECHO) while the new password is asked');
        a.t.send(pw);
        await a.t.waitFor('Again, to be sure: ');
        assert.equal(a.t.echoHidden(), true, 'the server must hide input while the password confirmation is asked');
        const firstRoom = a.t.waitForGmcp('Room.Info');
        a.t.send(pw);
        await answerChoices(a.t);
        await a.t.waitFor(`Welcome to The Ferrow Vale, ${name}.`);
        assert.equal((await firstRoom).name, 'Ferrowby Square', 'a new character starts in the start room');
        await waitFor(() => !a.t.echoHidden(), { timeout: 2000, what: 'input visible again after the password (WONT ECHO)' });

        // negotiation as a MUD client sees it
        assert.ok(a.t.local.has(OPT.NAWS), 'the server asked for NAWS (DO NAWS) and the client agreed');
        assert.ok(a.t.local.has(OPT.TTYPE), 'the server asked for TTYPE (DO TTYPE) and the client agreed');
        assert.ok(a.t.remote.has(OPT.GMCP), 'GMCP agreed');
        assert.ok(a.t.remote.has(OPT.EOR), 'EOR agreed');
        assert.ok(a.t.remote.has(OPT.COMPRESS2), 'MCCP2 agreed with a client that wants it');
        assert.ok(a.t.compressing, 'the server started MCCP2 (IAC SB COMPRESS2 IAC SE) and is still compressing');
        assert.ok(a.t.prompts.length >= 3, `prompts are marked with IAC EOR (saw ${a.t.prompts.length})`);
        assert.equal(a.t.gmcp('Char.Status')?.name, name, 'GMCP Char.Status names the character');
        assert.ok(/\x1b\[/.test(a.t.rawText), 'ANSI colour is on for a client whose TTYPE/MTTS says it has colour');

        // positive control for "never shown": a line the server does echo
        await a.cmd(`say Pelican${name}`, `You say 'Pelican${name}'`);
        a.t.send('quit');
        await a.t.waitFor('Goodbye. Come back soon.');
        await waitFor(() => a.t.closed, { timeout: 5000, what: 'A: connection closed after quit' });
        await waitFor(async () => (await apiPlayer(c, 1, name)) === undefined, { timeout: 5000, what: `${name} out of the world after quit` });

        // --- B: no MCCP2, NAWS 120 columns, on node 2: wrong password, then the right one
        const b = await Player.connect(c, 2, { mccp: false, width: 120, label: 'B(plain)' });
        const rawB = [];
        b.t.socket.on('data', (ch) => rawB.push(Buffer.from(ch)));
        await b.t.waitFor(/By what name are you known\? $/);
        b.t.send(name.toLowerCase()); // names are case-insensitive
        await b.t.waitFor('Password: ');
        assert.equal(b.t.echoHidden(), true, 'input hidden while the login password is asked');
        b.t.send(pw + 'wrong');
        await b.t.waitFor('Wrong password.');
        await b.t.waitFor('Password: ');
        assert.equal(b.t.echoHidden(), true, 'input still hidden when the password is asked again');
        assert.equal(await apiPlayer(c, 2, name), undefined, 'a wrong password does not bring the character into the world');
        await delay(1100); // the server throttles the next attempt for 1 s after a failure (pacing, not correctness)
        const back = b.t.waitForGmcp('Room.Info');
        b.t.send(pw);
        await b.t.waitFor(`Welcome back to The Ferrow Vale, ${name}.`);
        b.room = (await back).name;
        b.name = name;
        assert.equal(b.room, 'Ferrowby Square', 'logged in where the character quit');
        await waitFor(() => !b.t.echoHidden(), { timeout: 2000, what: 'input visible after login' });
        assert.ok(!b.t.remote.has(OPT.COMPRESS2) && !b.t.compressing, 'no MCCP2 for a client that refused it');

        // --- walk: every move's Room.Info = the room look names = /api/mud's room (another node)
        const seen = [];
        const step = async (dir, expectName) => {
            const info = await b.move(dir);
            assert.equal(info.name, expectName, `move ${dir}: GMCP Room.Info`);
            assert.ok(Number.isInteger(info.num) && info.exits && typeof info.exits === 'object', `Room.Info has num and exits: ${JSON.stringify(info)}`);
            const lk = await b.look();
            assert.equal(lk.name, info.name, `after ${dir}: look names the room Room.Info named`);
            const p = await waitApiRoom(c, 3, name, info.name);
            assert.equal(p.node, 2, '/api/mud: the session is on node 2');
            seen.push(info.name);
            return lk;
        };
        await step('n', 'Market Row');
        let lk = await step('w', 'The Drowned Lantern');
        assert.ok(lk.lines.includes('A pewter mug has been left on a table.'), `the inn shows its mug before get (control): ${JSON.stringify(lk.lines)}`);
        await b.cmd('get mug', 'You pick up a pewter mug.');
        lk = await b.look();
        assert.ok(!lk.lines.includes('A pewter mug has been left on a table.'), `the mug is gone from the inn's floor after get: ${JSON.stringify(lk.lines)}`);
        await b.cmd('inventory', /You are carrying:\n {2}a pewter mug\n/);
        await step('e', 'Market Row');
        await step('s', 'Ferrowby Square');
        await step('e', 'East Street');
        // the shutter south starts closed: refused, then opened with `open s`, then passable
        await b.cmd('s', 'The shutter is closed.');
        assert.equal((await apiPlayer(c, 2, name)).room, 'town.east_street', 'a closed door keeps the player where it was');
        await b.cmd('open s', 'You open the shutter.');
        lk = await step('s', "Bargeman's Warehouse");
        assert.ok(!lk.lines.some((l) => /pewter mug/.test(l)), 'no mug in the warehouse before the drop');
        await b.cmd('drop mug', 'You drop a pewter mug.');
        lk = await b.look();
        assert.ok(lk.lines.includes('A pewter mug has been left on a table.'), `the dropped mug lies in the warehouse: ${JSON.stringify(lk.lines)}`);
        await b.cmd('inventory', /You are carrying:\n {2}Nothing\.\n/);
        assert.deepEqual(seen, ['Market Row', 'The Drowned Lantern', 'Market Row', 'Ferrowby Square', 'East Street', "Bargeman's Warehouse"]);
        const reg = await c.api(1, '/api/registry');
        const entry = reg.names.find((e) => e.name === `char/${name}`);
        assert.ok(entry && entry.node === 2 && entry.info === 'town.warehouse', `/api/registry char/${name}: ${JSON.stringify(entry)}`);

        // talk
        await b.cmd(`say Heron${name}`, `You say 'Heron${name}'`);
        await b.cmd('emote waves at the crates.', `${name} waves at the crates.`);

        // --- MCCP2: A's wire bytes were compressed, its inflated text has the room; B's wire is plain
        const wireA = Buffer.concat(rawA);
        const wireB = Buffer.concat(rawB);
        assert.ok(a.t.text().includes('Ferrowby Square') && a.t.text().includes('Cobbles worn smooth'), 'A (MCCP2): the inflated text has the room');
        assert.ok(!wireA.includes('Ferrowby Square') && !wireA.includes('Cobbles worn smooth'), 'A (MCCP2): the room text never crossed the wire in clear');
        assert.ok(wireB.includes('Market Row') && wireB.includes('Awnings in faded'), 'B (no MCCP2): the room text is plain on the wire (control)');

        // --- NAWS: descriptions wrap to the client's width
        const descLines = (t) => t.split('\n').filter((l) => /^ {2}\S/.test(l));
        const wA = Math.max(...descLines(a.t.text()).map((l) => l.length));
        const wB = Math.max(...descLines(b.t.text()).map((l) => l.length));
        assert.ok(wA <= 60, `A (NAWS 60): description lines at most 60 columns (longest ${wA})`);
        assert.ok(wB > 60 && wB <= 120, `B (NAWS 120): description lines use the wider window (longest ${wB})`);

        // --- the password never came back: not in any text, GMCP, wire bytes or node log
        const gm = JSON.stringify([...a.t.gmcpMessages, ...b.t.gmcpMessages]);
        for (const [what, hay] of [
            ['A text', a.t.rawText],
            ['B text', b.t.rawText],
            ['GMCP', gm],
            ['B wire', wireB.toString('latin1')],
            ...c.nodes.map((n) => [`node ${n.id} log`, c.logText(n.id)]),
        ]) {
            assert.ok(!hay.includes(pw), `the password appears in ${what}`);
        }
        assert.ok(a.t.rawText.includes(`Pelican${name}`) && b.t.rawText.includes(`Heron${name}`), 'control: said words do come back');
        await b.close();
    }),
);

test(
    'two players on different nodes see each other arrive, leave, say and emote; tell and global cross nodes; who lists both everywhere',
    { timeout: 60000 },
    withCluster({ ...OPTS, name: 'mud-two-players' }, async (c) => {
        await waitWorld(c, 1);
        const pw = 'correct horse';
        const nP = randomName('Pa', 7);
        const nQ = randomName('Qu', 7);
        const p = await (await Player.connect(c, 2, { label: `P@2` })).create(nP, pw);
        const q = await (await Player.connect(c, 3, { label: `Q@3` })).create(nQ, pw);
        assert.equal(p.room, 'Ferrowby Square');
        assert.equal(q.room, 'Ferrowby Square');
        await p.t.waitFor(`${nQ} has entered the game.`);
        await waitFor(() => (p.t.gmcp('Room.Players') || []).some((x) => x.name === nQ && x.kind === 'player'), {
            timeout: 5000,
            what: `P's GMCP Room.Players lists ${nQ}`,
        });

        // Q leaves north and comes back; P sees both
        await q.move('n');
        await p.t.waitFor(`${nQ} leaves north.`);
        assert.ok(!p.t.text().includes(`${nQ} arrives`), 'no arrival before Q came back');
        await q.move('s');
        await p.t.waitFor(`${nQ} arrives from the north.`);
        // P leaves east and comes back; Q sees both
        await p.move('e');
        await q.t.waitFor(`${nP} leaves east.`);
        await p.move('w');
        await q.t.waitFor(`${nP} arrives from the east.`);

        // say and emote, both ways
        await p.cmd('say the river is high', "You say 'the river is high'");
        await q.t.waitFor(`${nP} says 'the river is high'`);
        await q.cmd('emote shrugs at the heron.', `${nQ} shrugs at the heron.`);
        await p.t.waitFor(`${nQ} shrugs at the heron.`);
        await q.cmd('say so it is', "You say 'so it is'");
        await p.t.waitFor(`${nQ} says 'so it is'`);

        // out of the room, say does not reach the other (negative), tell does (cross-node)
        await q.move('s'); // Quay Lane
        await p.cmd('say only the square hears this', "You say 'only the square hears this'");
        await q.cmd(`say marker${nQ}`, `You say 'marker${nQ}'`); // Q's own line after P's say was applied
        assert.ok(!q.t.text().includes('only the square hears this'), 'a say is heard only in its room');
        await p.cmd(`tell ${nQ} meet me at the quay`, `You tell ${nQ} 'meet me at the quay'`);
        await q.t.waitFor(`${nP} tells you 'meet me at the quay'`);
        const chan = q.t.waitForGmcp('Comm.Channel.Text');
        await p.cmd('global hello vale', `[global] ${nP}: hello vale`);
        await q.t.waitFor(`[global] ${nP}: hello vale`);
        assert.deepEqual(await chan, { channel: 'global', talker: nP, text: 'hello vale' }, 'GMCP Comm.Channel.Text on the other node');
        await q.cmd(`reply see you there`, `You tell ${nP} 'see you there'`);
        await p.t.waitFor(`${nQ} tells you 'see you there'`);

        // who on every node lists both (node 1 through a third client)
        const r = await (await Player.connect(c, 1, { label: 'R@1' })).create(randomName('Ro', 7), pw);
        for (const pl of [p, q, r]) {
            // who reads this node's replica, which may be a moment behind the node R is on
            const m = await waitFor(
                async () => {
                    pl.t.cursor = pl.t.text().length;
                    pl.t.send('who');
                    const w = await pl.t.waitFor(/Players in the world:\n((?: {2}[^\n]*\n)+)(\d+) players? online\./);
                    return Number(w[2]) === 3 ? w : false;
                },
                { timeout: 5000, interval: 100, what: `${pl.label}: who lists three players` },
            );
            const lines = m[1];
            assert.match(lines, new RegExp(`^ {2}${nP} +Ferrowby Square \\(Ferrowby\\), node 2$`, 'm'), `${pl.label}: who lists ${nP} on node 2`);
            assert.match(lines, new RegExp(`^ {2}${nQ} +Quay Lane \\(Ferrowby\\), node 3$`, 'm'), `${pl.label}: who lists ${nQ} on node 3`);
            assert.equal(Number(m[2]), 3, `${pl.label}: three players online`);
        }
        await Promise.all([p.close(), q.close(), r.close()]);
    }),
);

test(
    'takeover: a second login on another node takes the character, the first is told and closed; a name race between two nodes has one winner',
    { timeout: 60000 },
    withCluster({ ...OPTS, name: 'mud-takeover' }, async (c) => {
        await waitWorld(c, 1);
        const pw = 'takeover-pw';
        const name = randomName('Ta', 7);
        const x1 = await (await Player.connect(c, 1, { label: 'X1@1' })).create(name, pw);
        await x1.move('n');
        await waitApiRoom(c, 2, name, 'Market Row');
        const x2 = await (await Player.connect(c, 2, { label: 'X2@2' })).login(name, pw);
        assert.equal(x2.room, 'Market Row', 'the taking-over login finds the character where it was');
        await x1.t.waitFor('Your character was taken over by a new login.');
        await waitFor(() => x1.t.closed, { timeout: 5000, what: 'X1 closed after the takeover' });
        await x2.cmd('say still mine', "You say 'still mine'");
        assert.equal((await x2.move('s')).name, 'Ferrowby Square', 'the new session plays on');
        const ap = await waitApiRoom(c, 3, name, 'Ferrowby Square');
        assert.equal(ap.node, 2, '/api/mud: the character is played on node 2 now');
        assert.equal(ap.state, 'online');

        // --- name race: both create the same name; the final confirmations leave together
        const race = randomName('Ra', 8);
        const y1 = await Player.connect(c, 1, { label: 'Y1@1' });
        const y2 = await Player.connect(c, 3, { label: 'Y3@3' });
        for (const y of [y1, y2]) {
            await y.t.waitFor(/By what name are you known\? $/);
            y.t.send(race);
        }
        for (const y of [y1, y2]) await y.t.waitFor(`Create a new character called ${race}? (y/n)`);
        for (const y of [y1, y2]) y.t.send('y');
        for (const y of [y1, y2]) await y.t.waitFor('Password: ');
        for (const y of [y1, y2]) y.t.send('race-pw-1');
        for (const y of [y1, y2]) await y.t.waitFor('Again, to be sure: ');
        y1.t.send('race-pw-1');
        y2.t.send('race-pw-1');
        await Promise.all([y1, y2].map((y) => answerChoices(y.t)));
        const outcome = async (y) =>
            waitFor(
                () => {
                    const s = y.t.text();
                    if (s.includes(`Welcome to The Ferrow Vale, ${race}.`)) return 'won';
                    if (s.includes(`Someone just took the name ${race}; choose another.`)) return 'lost';
                    return false;
                },
                { timeout: 10000, what: `${y.label}: the outcome of creating ${race}` },
            );
        const [o1, o2] = await Promise.all([outcome(y1), outcome(y2)]);
        assert.deepEqual([o1, o2].sort(), ['lost', 'won'], `exactly one creation of ${race} wins (got ${o1}, ${o2})`);
        const winner = o1 === 'won' ? y1 : y2;
        const loser = o1 === 'won' ? y2 : y1;
        const m = await c.api(2, '/api/mud');
        await waitFor(async () => (await c.api(2, '/api/mud')).players.some((pl) => pl.name === race), { timeout: 5000, what: `${race} in /api/mud` });
        const named = (await c.api(2, '/api/mud')).players.filter((pl) => pl.name === race);
        assert.equal(named.length, 1, `one ${race} in the world: ${JSON.stringify(m.players)}`);
        assert.equal(named[0].node, winner.nodeId, `${race} is played on the winner's node`);
        await winner.cmd('say I won', "You say 'I won'");
        // the loser is asked for a name again and can create another (control)
        await loser.t.waitFor(/By what name are you known\? $/);
        assert.equal(loser.t.echoHidden(), false, 'the loser types its next name visibly');
        assert.ok(!loser.t.text().includes(`Welcome to The Ferrow Vale, ${race}.`), 'the loser never entered as the raced name');
        const other = randomName('Ot', 8);
        loser.t.send(other);
        await loser.t.waitFor(`Create a new character called ${other}? (y/n)`);
        loser.t.send('y');
        await loser.t.waitFor('Password: ');
        loser.t.send('race-pw-2');
        await loser.t.waitFor('Again, to be sure: ');
        loser.t.send('race-pw-2');
        await answerChoices(loser.t);
        await loser.t.waitFor(`Welcome to The Ferrow Vale, ${other}.`);
        await waitFor(async () => (await apiPlayer(c, 2, other))?.node === loser.nodeId, { timeout: 5000, what: `${other} in /api/mud on the loser's node` });
        await Promise.all([x2.close(), y1.close(), y2.close()]);
    }),
);

test(
    'bad input: an over-long line and a flood get one telnet client a message and a close, while a neighbour keeps getting answers',
    { timeout: 60000 },
    withCluster({ ...OPTS, name: 'mud-bad-input' }, async (c) => {
        await waitWorld(c, 1);
        const f = await (await Player.connect(c, 1, { label: 'F@1' })).create(randomName('Fl', 7), 'flood-pw');
        const g = await (await Player.connect(c, 1, { label: 'G@1' })).create(randomName('Gu', 7), 'guard-pw');

        // A line of exactly the limit (1024 bytes; the say trims its padding)
        // is taken: the positive control for the one a byte longer.
        const atLimit = 'say limit-ok' + ' '.repeat(1024 - 12);
        assert.equal(Buffer.byteLength(atLimit), 1024);
        await f.cmd(atLimit, "You say 'limit-ok'");
        // over-long line: refused with a message, nothing of it applied; the next line works (control)
        const long = 'say ' + 'y'.repeat(1021);
        assert.equal(Buffer.byteLength(long), 1025);
        await f.cmd(long, 'Line too long (at most 1024 bytes); ignored.');
        await f.cmd('say short one', "You say 'short one'");
        assert.ok(!f.t.text().includes("You say 'yyyy"), 'the over-long line was not said');
        await g.t.waitFor(`${f.name} says 'short one'`);
        assert.ok(!g.t.text().includes('yyyyyyyy'), 'the neighbour never saw the over-long line');

        // flood: 1000 lines in one write
        const lines = Array.from({ length: 1000 }, (_, i) => `say flood ${i}`).join('\r\n') + '\r\n';
        f.t.sendRaw(Buffer.from(lines));
        // meanwhile the neighbour is answered, repeatedly
        const rtts = [];
        for (let i = 0; i < 5; i++) {
            const t0 = Date.now();
            await g.cmd(`say calm ${i}`, `You say 'calm ${i}'`, 5000);
            rtts.push(Date.now() - t0);
        }
        await f.t.waitFor('You are typing too fast; that line was ignored.', 5000);
        await f.t.waitFor('You are typing too fast; disconnecting.', 5000);
        await waitFor(() => f.t.closed, { timeout: 5000, what: 'the flooding client closed' });
        await g.cmd('say still here', "You say 'still here'", 5000);
        // what of the flood was applied, as the neighbour heard it (the flooder's own
        // echoes may not arrive: its connection closes in the same read)
        const said = (g.t.text().match(new RegExp(`${f.name} says 'flood \\d+'`, 'g')) || []).length;
        assert.ok(said > 0 && said <= 100, `about a burst (60 lines) of the flood is applied, not all 1000 (${said} lines)`);
        assert.equal((await c.api(1, '/api/cluster')).ready, true, 'node 1 is still ready');
        console.log(`# bad-input: flood applied ${said} of 1000 lines; neighbour round trips ${rtts.join(',')} ms`);
        await g.close();
    }),
);
