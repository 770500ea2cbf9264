// The telnet client helper (lib/telnet.mjs) against a tiny in-process fake
// server, so the MUD tests can trust it: the exact negotiation bytes it
// answers with, MCCP2 inflation of a deflated stream split into small
// pieces, GMCP parsing, prompt marks, text clean-up. No warren process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { TelnetClient, IAC, DO, DONT, WILL, WONT, SB, SE, GA, EOR_CMD, OPT, subneg } from './lib/telnet.mjs';

/** A fake server: accepts one connection and records what the client sends. */
async function fakeServer() {
    const f = { sock: null, got: Buffer.alloc(0) };
    let onConn;
    const connected = new Promise((r) => (onConn = r));
    f.server = net.createServer((sock) => {
        f.sock = sock;
        sock.on('data', (d) => (f.got = Buffer.concat([f.got, d])));
        sock.on('error', () => {});
        onConn();
    });
    await new Promise((r) => f.server.listen(0, '127.0.0.1', r));
    f.port = f.server.address().port;
    f.connected = connected;
    /** Wait until the client has sent @bytes (somewhere after offset @from). */
    f.expect = async (bytes, what, from = 0, timeout = 2000) => {
        const want = Buffer.from(bytes);
        const end = Date.now() + timeout;
        while (Date.now() < end) {
            if (f.got.indexOf(want, from) >= 0) return;
            await new Promise((r) => setTimeout(r, 5));
        }
        assert.fail(`client did not send ${what} (${[...want]}); it sent ${[...f.got]}`);
    };
    f.send = (bytes) => f.sock.write(Buffer.from(bytes));
    f.close = () => new Promise((r) => {
        if (f.sock) f.sock.destroy();
        f.server.close(r);
    });
    return f;
}

async function pair(opts) {
    const f = await fakeServer();
    const t = await TelnetClient.connect(f.port, '127.0.0.1', opts);
    await f.connected;
    return { f, t };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

test('negotiation: answers like a MUD client, byte for byte', async () => {
    const { f, t } = await pair();
    try {
        f.send([IAC, WILL, OPT.ECHO, IAC, DO, OPT.NAWS, IAC, DO, OPT.TTYPE, IAC, WILL, OPT.EOR, IAC, WILL, OPT.SGA, IAC, DO, 99, IAC, WILL, 98, IAC, WILL, OPT.COMPRESS2]);
        await f.expect([IAC, DO, OPT.ECHO], 'DO ECHO');
        await f.expect([IAC, WILL, OPT.NAWS, IAC, SB, OPT.NAWS, 0, 80, 0, 24, IAC, SE], 'WILL NAWS + 80x24');
        await f.expect([IAC, WILL, OPT.TTYPE], 'WILL TTYPE');
        await f.expect([IAC, DO, OPT.EOR], 'DO EOR');
        await f.expect([IAC, DO, OPT.SGA], 'DO SGA');
        await f.expect([IAC, WONT, 99], 'WONT 99');
        await f.expect([IAC, DONT, 98], 'DONT 98');
        await f.expect([IAC, DONT, OPT.COMPRESS2], 'DONT COMPRESS2 (mccp off)');
        assert.equal(t.echoHidden(), true);

        // TTYPE: client name, terminal, MTTS bitvector, then the last again.
        const is = (s) => subneg(OPT.TTYPE, Buffer.concat([Buffer.from([0]), Buffer.from(s)]));
        for (const name of ['warren-test', 'XTERM-256COLOR', 'MTTS 137', 'MTTS 137']) {
            const before = f.got.length;
            f.send([IAC, SB, OPT.TTYPE, 1, IAC, SE]);
            await f.expect(is(name), `TTYPE IS ${name}`, before);
            assert.ok(f.got.subarray(before).equals(is(name)), `exactly one TTYPE IS ${name}`);
        }

        // A repeated WILL ECHO gets no answer (no loops); WONT ECHO shows input again.
        const before = f.got.length;
        f.send([IAC, WILL, OPT.ECHO]);
        await settle();
        assert.equal(f.got.length, before, 'no answer to a WILL that changes nothing');
        f.send([IAC, WONT, OPT.ECHO]);
        await f.expect([IAC, DONT, OPT.ECHO], 'DONT ECHO');
        assert.equal(t.echoHidden(), false);
        assert.deepEqual(t.received[0], [WILL, OPT.ECHO]);
    } finally {
        await t.close();
        await f.close();
    }
});

test('negotiation: GMCP hello and supports, NAWS width with an IAC byte', async () => {
    const { f, t } = await pair({ width: 255, height: 50, gmcpSupports: ['Char 1', 'Room 1', 'Comm 1'] });
    try {
        f.send([IAC, WILL, OPT.GMCP, IAC, DO, OPT.NAWS]);
        await f.expect([IAC, DO, OPT.GMCP], 'DO GMCP');
        await f.expect(subneg(OPT.GMCP, 'Core.Hello {"client":"warren-test","version":"1"}'), 'Core.Hello');
        await f.expect(subneg(OPT.GMCP, 'Core.Supports.Set ["Char 1","Room 1","Comm 1"]'), 'Core.Supports.Set');
        // 255 is doubled inside the subnegotiation.
        await f.expect([IAC, SB, OPT.NAWS, 0, 255, 255, 0, 50, IAC, SE], 'NAWS 255x50, escaped');
        t.sendGmcp('Char.Login', { name: 'alice' });
        await f.expect(subneg(OPT.GMCP, 'Char.Login {"name":"alice"}'), 'a GMCP message from the test');
        t.send('look\xff');
        await f.expect(Buffer.concat([Buffer.from('look'), Buffer.from([0xc3, 0xbf]), Buffer.from('\r\n')]), 'a line, UTF-8, CR LF');
        t.sendRaw([IAC, 241]);
        await f.expect([IAC, 241], 'raw bytes');
    } finally {
        await t.close();
        await f.close();
    }
});

test('GMCP: parsed into {pkg, data}, split across reads, bad JSON kept raw', async () => {
    const { f, t } = await pair();
    try {
        f.send([IAC, WILL, OPT.GMCP]);
        await f.expect([IAC, DO, OPT.GMCP], 'DO GMCP');
        const msgs = Buffer.concat([
            subneg(OPT.GMCP, 'Char.Vitals {"hp":10,"maxhp":20}'),
            subneg(OPT.GMCP, 'Core.Ping'),
            subneg(OPT.GMCP, 'Room.Info {"num":1,"name":"Town Square","exits":{"n":2}}'),
            subneg(OPT.GMCP, 'Comm.Channel.Text {broken'),
            Buffer.from('after\r\n'),
        ]);
        // One byte per write: the parser must keep its state across reads.
        for (const b of msgs) {
            f.send([b]);
            await new Promise((r) => setImmediate(r));
        }
        assert.deepEqual(await t.waitForGmcp('room.info'), { num: 1, name: 'Town Square', exits: { n: 2 } });
        await t.waitFor('after');
        assert.deepEqual(t.gmcpMessages, [
            { pkg: 'Char.Vitals', data: { hp: 10, maxhp: 20 } },
            { pkg: 'Core.Ping', data: undefined },
            { pkg: 'Room.Info', data: { num: 1, name: 'Town Square', exits: { n: 2 } } },
            { pkg: 'Comm.Channel.Text', data: '{broken' },
        ]);
        assert.deepEqual(t.gmcp('Char.Vitals'), { hp: 10, maxhp: 20 });
        assert.equal(t.gmcp('Char.Nothing'), undefined);
        assert.equal(t.text(), 'after\n', 'no GMCP bytes in the text');
    } finally {
        await t.close();
        await f.close();
    }
});

test('prompts: IAC GA and IAC EOR mark the text since the last newline', async () => {
    const { f, t } = await pair();
    try {
        f.send([IAC, WILL, OPT.EOR]);
        await f.expect([IAC, DO, OPT.EOR], 'DO EOR');
        f.send(Buffer.concat([Buffer.from('Welcome!\r\nWhat is your name? '), Buffer.from([IAC, GA])]));
        assert.equal(await t.waitForPrompt(), 'What is your name? ');
        const next = t.waitForPrompt();
        f.send(Buffer.concat([Buffer.from('You are in the square.\r\n\x1b[32mHP 10>\x1b[0m '), Buffer.from([IAC, EOR_CMD])]));
        assert.equal(await next, '\x1b[32mHP 10>\x1b[0m ');
        assert.deepEqual(t.prompts, ['What is your name? ', '\x1b[32mHP 10>\x1b[0m ']);
        assert.ok((await t.waitFor(/square\./))[0] === 'square.');
    } finally {
        await t.close();
        await f.close();
    }
});

test('text: CR LF and CR NUL, IAC IAC, UTF-8 split across reads, ANSI stripped on request', async () => {
    const { f, t } = await pair({ stripAnsi: true });
    try {
        const caf = Buffer.from('café\r\n');
        f.send(caf.subarray(0, 4)); // splits the é
        await settle();
        f.send(caf.subarray(4));
        f.send(Buffer.concat([Buffer.from('a\r\0b\x1b[1;31mred\x1b[0m '), Buffer.from([IAC, IAC]), Buffer.from('\r\n')]));
        await t.waitFor('red');
        await t.waitFor(/\n$/);
        assert.equal(t.text(), 'café\na\rbred \ufffd\n');
        assert.match(t.rawText, /\x1b\[1;31m/, 'rawText keeps ANSI');
        // waitFor moves a cursor: the same text is not matched twice.
        await assert.rejects(t.waitFor('café', 100), /no text café within 100 ms/);
    } finally {
        await t.close();
        await f.close();
    }
});

test('MCCP2: inflates a deflated stream that starts mid-read, in small pieces', async () => {
    const { f, t } = await pair({ mccp: true });
    try {
        f.send([IAC, WILL, OPT.COMPRESS2, IAC, WILL, OPT.GMCP]);
        await f.expect([IAC, DO, OPT.COMPRESS2], 'DO COMPRESS2');
        await f.expect([IAC, DO, OPT.GMCP], 'DO GMCP');

        const deflate = zlib.createDeflate();
        const chunks = [];
        deflate.on('data', (d) => chunks.push(d));
        const put = (buf) => new Promise((r) => { deflate.write(buf); deflate.flush(zlib.constants.Z_SYNC_FLUSH, r); });
        await put(Buffer.from('Compressed hello\r\n'));
        await put(subneg(OPT.GMCP, 'Char.Vitals {"hp":7}'));
        await put(Buffer.concat([Buffer.from('HP 7> '), Buffer.from([IAC, GA])]));
        await put(Buffer.from('x'.repeat(5000) + '\r\nthe end\r\n'));
        const compressed = Buffer.concat(chunks);

        // Plain text, then the start marker and the first compressed bytes in
        // the same write; the rest in 7-byte pieces.
        f.send(Buffer.concat([Buffer.from('plain\r\n'), Buffer.from([IAC, SB, OPT.COMPRESS2, IAC, SE]), compressed.subarray(0, 5)]));
        for (let i = 5; i < compressed.length; i += 7) {
            f.send(compressed.subarray(i, i + 7));
            if (i % 70 === 5) await new Promise((r) => setImmediate(r));
        }
        await t.waitFor('the end');
        assert.equal(t.compressing, true);
        assert.ok(t.text().startsWith('plain\nCompressed hello\nHP 7> '), t.text().slice(0, 60));
        assert.deepEqual(t.gmcp('Char.Vitals'), { hp: 7 });
        assert.deepEqual(t.prompts, ['HP 7> ']);
        assert.ok(t.text().includes('x'.repeat(5000)));
    } finally {
        await t.close();
        await f.close();
    }
});

test('waitFor rejects when the connection closes first', async () => {
    const { f, t } = await pair({ label: 'closing' });
    try {
        const w = t.waitFor('never', 5000);
        f.send('bye\r\n');
        await t.waitFor('bye').catch(() => {});
        f.sock.end();
        await assert.rejects(w, /closing: connection closed while waiting for text never; received:\nbye/);
    } finally {
        await t.close();
        await f.close();
    }
});
