// Items on a real 3-node cluster (build/warren, loopback), driven the way a
// player does it, with real telnet clients: buying from a shop with a
// limited stock, wearing what one bought (equipment, examine), drinking a
// potion, selling, giving gold; and two players on two different nodes
// racing for the last units of the stock: the log orders their purchases,
// so exactly the stock is sold and each pays for exactly what they got
// (the positive control first: with stock enough, both get all they ask);
// and a rat's corpse, looked into and looted.
// The world is tests/cluster/worlds/items/ (an armoury whose keeper sells 5
// helms and 8 potions; 100 gold to start).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { withCluster, waitFor, REPO } from './lib/cluster.mjs';
import { FAST_PWHASH, Player, waitWorld, randomName } from './lib/mud.mjs';

const WORLD = path.join(REPO, 'tests', 'cluster', 'worlds', 'items');
const OPTS = { telnet: true, extraArgs: [...FAST_PWHASH, '--mud-world', WORLD] };
const POTION_PRICE = 10;

/** Send @line and resolve with what follows @head (a line the answer
 * starts with) up to the next prompt; other players' news may come first. */
async function ask(p, line, head, timeout = 8000) {
    p.t.cursor = p.t.text().length;
    p.t.send(line);
    const m = await p.t.waitFor(new RegExp(`${head}\n([\\s\\S]*?)\n(?:<[^>\n]*> |> )`), timeout);
    return m[1];
}

/** What `inventory` says: {potions, helms, gold}. */
async function inventory(p) {
    const out = await ask(p, 'inventory', 'You are carrying:');
    const gold = /You have (\d+) gold/.exec(out);
    assert.ok(gold, `inventory shows the gold: ${out}`);
    const count = (name) => out.split('\n').filter((l) => l.trim() === name).length;
    return { potions: count('a red potion'), helms: count('an iron helm'), gold: Number(gold[1]) };
}

/** The stock `list` shows for @item: a number, 0 for "sold out". */
async function stockOf(p, item) {
    const out = await ask(p, 'list', 'The Armoury sells:');
    const line = out.split('\n').find((l) => l.includes(item));
    assert.ok(line, `list shows ${item}: ${out}`);
    return /sold out/.test(line) ? 0 : Number(/(\d+)\s*$/.exec(line)[1]);
}

/** Wait until @p's node shows @n of @item in stock (a purchase made on
 * another node reaches this node's replica a moment later). */
async function waitStock(p, item, n, what) {
    let last;
    await waitFor(async () => (last = await stockOf(p, item)) === n, {
        timeout: 5000,
        interval: 100,
        what: `${p.label}: ${what} (list shows ${item}: ${n})`,
    });
    return last;
}

/** Both players send `buy potion N` at once; resolves with both answers. */
async function buyTogether(a, b, n) {
    const answer = /(You buy [^\n]*|Only \d+ left: you buy [^\n]*|[^\n]* is sold out\.)\n/;
    a.t.cursor = a.t.text().length;
    b.t.cursor = b.t.text().length;
    a.t.send(`buy potion ${n}`);
    b.t.send(`buy potion ${n}`);
    const [ra, rb] = await Promise.all([a.t.waitFor(answer), b.t.waitFor(answer)]);
    return [ra[1], rb[1]];
}

/** How many potions an answer of buyTogether says were bought. */
function bought(answer) {
    if (/sold out/.test(answer)) return 0;
    const m = /you buy (\d+) x/i.exec(answer);
    return m ? Number(m[1]) : 1;
}

test(
    'items: buy, wear, examine, drink, sell and give gold over telnet; two nodes race for the last units of a stock and exactly the stock is sold; a corpse is looted',
    { timeout: 60000 },
    withCluster({ ...OPTS, name: 'mud-items' }, async (c) => {
        await waitWorld(c, 1);
        const pw = 'plum-seven';
        const a = await Player.connect(c, 2, { label: 'A@2' });
        await a.create(randomName('Ia', 8), pw);
        const b = await Player.connect(c, 3, { label: 'B@3' });
        await b.create(randomName('Ib', 8), pw);
        assert.deepEqual(await inventory(a), { potions: 0, helms: 0, gold: 100 });
        assert.equal((await a.move('e')).name, 'The Armoury');
        assert.equal((await b.move('e')).name, 'The Armoury');

        // Equipment: buy a helm, wear it, see it in `equipment` and `examine`.
        let out = await ask(a, 'equipment', 'You are using:');
        assert.match(out, /<head>\s+nothing/);
        await a.cmd('buy helm', 'You buy an iron helm for 40 gold.');
        await a.cmd('wear helm', 'You wear an iron helm on your head.');
        out = await ask(a, 'equipment', 'You are using:');
        assert.match(out, /<head>\s+an iron helm/, `equipment shows the helm: ${out}`);
        a.t.cursor = a.t.text().length;
        a.t.send('score'); // effective strength, and the base when they differ
        const st = await a.t.waitFor(/strength\s+(\d+) \(base (\d+)\)/);
        assert.equal(Number(st[1]), Number(st[2]) + 2, `the helm adds 2 strength: ${st[0]}`);
        out = await ask(a, 'examine helm', 'A dented iron helm\\.');
        assert.match(out, /Worn: head\./);
        assert.match(out, /Bonuses: \+2 strength\./);
        assert.match(out, /Armour: \+3 slashing\./);
        await a.cmd('sell helm', 'You must remove an iron helm first.');
        await a.cmd('remove helm', 'You stop using an iron helm.');
        out = await ask(a, 'equipment', 'You are using:');
        assert.match(out, /<head>\s+nothing/);
        await a.cmd('sell helm', 'You sell an iron helm for 20 gold.');
        assert.equal(await stockOf(a, 'an iron helm'), 5, 'the sold helm is back on the shelf');
        await waitStock(b, 'an iron helm', 5, 'the other node agrees');
        assert.deepEqual(await inventory(a), { potions: 0, helms: 0, gold: 80 });

        // Gold between players.
        await a.cmd(`give 30 gold ${b.name}`, `You give 30 gold to ${b.name}.`);
        await b.t.waitFor(`${a.name} gives you 30 gold.`);
        await b.cmd(`give 30 gold ${a.name}`, `You give 30 gold to ${a.name}.`);
        await a.t.waitFor(`${b.name} gives you 30 gold.`);
        assert.equal((await inventory(a)).gold, 80);
        assert.equal((await inventory(b)).gold, 100);

        // Positive control: 8 potions, both buy 2 at once: both get 2.
        const goldA = (await inventory(a)).gold;
        const goldB = (await inventory(b)).gold;
        let [ra, rb] = await buyTogether(a, b, 2);
        assert.match(ra, /You buy 2 x a red potion for 20 gold\./, `A got both: ${ra}`);
        assert.match(rb, /You buy 2 x a red potion for 20 gold\./, `B got both: ${rb}`);
        await waitStock(a, 'a red potion', 4, 'both purchases applied');

        // The race: 4 left, both ask for 3 at once: 3 and 1, in log order.
        [ra, rb] = await buyTogether(a, b, 3);
        const na = bought(ra);
        const nb = bought(rb);
        assert.equal(na + nb, 4, `exactly the 4 left are sold: A "${ra}", B "${rb}"`);
        assert.deepEqual([na, nb].sort(), [1, 3], `the first gets 3, the second the last 1: A "${ra}", B "${rb}"`);
        const ia = await inventory(a);
        const ib = await inventory(b);
        assert.equal(ia.potions, 2 + na);
        assert.equal(ib.potions, 2 + nb);
        assert.equal(ia.potions + ib.potions, 8, 'every potion of the stock went to one buyer');
        assert.equal(ia.gold, goldA - POTION_PRICE * ia.potions, 'A paid for exactly what A got');
        assert.equal(ib.gold, goldB - POTION_PRICE * ib.potions, 'B paid for exactly what B got');
        for (const p of [a, b]) await waitStock(p, 'a red potion', 0, 'sold out');
        await a.cmd('buy potion', 'A red potion is sold out.');

        // Using and selling: a potion is drunk (its verb is a command), one is sold back.
        await a.cmd('drink potion', 'You drink a red potion.');
        await b.t.waitFor(`${a.name} drinks a red potion.`);
        await a.cmd('sell potion', 'You sell a red potion for 5 gold.');
        assert.equal(await stockOf(a, 'a red potion'), 1, 'the sold potion is for sale again');
        const after = await inventory(a);
        assert.equal(after.potions, ia.potions - 2);
        assert.equal(after.gold, ia.gold + 5);

        // A corpse: the rat dies and leaves its gold and its ruby; the room
        // shows the corpse, `look in` lists it, `get all from` empties it.
        assert.equal((await a.move('w')).name, 'Market Square');
        assert.equal((await a.move('d')).name, 'A Damp Cellar');
        await a.cmd('kill rat', 'A giant rat is dead!', 15000);
        const room = await a.look();
        assert.ok(room.lines.includes('The corpse of a giant rat lies here.'), `the room shows the corpse: ${room.lines}`);
        out = await ask(a, 'look in corpse', 'The corpse of a giant rat holds:');
        assert.match(out, /5 gold/);
        assert.match(out, /a ruby/);
        await a.cmd('get all from corpse', 'You get a ruby from the corpse of a giant rat.');
        const looted = await inventory(a);
        assert.equal(looted.gold, after.gold + 5, 'the rat\'s 5 gold');
        out = await ask(a, 'look in corpse', 'The corpse of a giant rat holds:');
        assert.match(out, /Nothing\./);
        a.close();
        b.close();
    }),
);
