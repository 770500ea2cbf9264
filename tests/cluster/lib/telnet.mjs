// A telnet client for the MUD tests that negotiates like a real MUD client
// (TinTin++, Mudlet), so the tests exercise the server's option handling
// rather than a raw socket. Unit-tested against a fake server in
// tests/cluster/telnet-client.test.mjs.
//
//   const t = await TelnetClient.connect(cluster.telnetPort(1));
//   await t.waitFor(/name\?/);
//   t.send('alice');
//   const vitals = await t.waitForGmcp('Char.Vitals');
//   t.close();
//
// What it answers (each only when the state changes, so two peers that both
// follow the rule cannot loop):
//   server WILL ECHO        -> DO ECHO; echoHidden() is true (password input)
//   server WONT ECHO        -> DONT ECHO; echoHidden() is false
//   server DO NAWS          -> WILL NAWS, then SB NAWS <width> <height> SE
//   server DO TTYPE         -> WILL TTYPE; each SB TTYPE SEND is answered
//                              with IS <clientName>, then XTERM-256COLOR, then
//                              "MTTS 137", repeating the last one (MTTS)
//   server WILL GMCP        -> DO GMCP, then Core.Hello and Core.Supports.Set
//   server WILL EOR         -> DO EOR (IAC EOR then marks prompts)
//   server WILL SGA         -> DO SGA
//   server WILL MSSP        -> DO MSSP (the variables land in .mssp)
//   server WILL COMPRESS2   -> DO COMPRESS2 with { mccp: true }, else DONT;
//                              after IAC SB COMPRESS2 IAC SE every byte is
//                              inflated (node:zlib, streaming) until the
//                              server ends the zlib stream
//   anything else           -> DONT / WONT
//
// Received text has the telnet commands removed, CR LF turned into LF and
// CR NUL into CR, and is decoded as UTF-8; ANSI escape sequences are kept,
// or removed from what text() and waitFor() see with { stripAnsi: true }.
// A prompt is the text since the last newline when IAC GA or IAC EOR
// arrives. Limitation: bytes after the end of a compressed stream, in the
// same TCP segment, are lost (servers end MCCP2 only when closing anyway).
//
// Telnet over TLS: { tls: {...} } connects with node:tls instead of
// node:net (the object is passed to tls.connect, e.g. { ca }); connect()
// resolves once the TLS handshake and certificate check have succeeded and
// rejects with the TLS error otherwise. Everything above runs unchanged on
// the decrypted stream.
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { EventEmitter } from 'node:events';

export const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, GA = 249, SE = 240, EOR_CMD = 239, NOP = 241;
export const OPT = { ECHO: 1, SGA: 3, TTYPE: 24, EOR: 25, NAWS: 31, MSSP: 70, COMPRESS2: 86, GMCP: 201 };
const TTYPE_IS = 0, TTYPE_SEND = 1, MSSP_VAR = 1, MSSP_VAL = 2;
// CSI ... final, OSC ... BEL/ST, and two-byte ESC sequences.
const ANSI_RE = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function stripAnsi(s) {
    return s.replace(ANSI_RE, '');
}

/** Escape IAC (255) bytes in @buf for the telnet data stream. */
function escapeIac(buf) {
    const out = [];
    for (const b of buf) {
        out.push(b);
        if (b === IAC) out.push(IAC);
    }
    return Buffer.from(out);
}

/** The bytes of IAC SB @opt <@payload escaped> IAC SE. */
export function subneg(opt, payload) {
    return Buffer.concat([Buffer.from([IAC, SB, opt]), escapeIac(Buffer.from(payload)), Buffer.from([IAC, SE])]);
}

const S_DATA = 0, S_IAC = 1, S_CMD = 2, S_SB_OPT = 3, S_SB = 4, S_SB_IAC = 5;

export class TelnetClient extends EventEmitter {
    /**
     * opts: width, height (NAWS, default 80x24), clientName (TTYPE, default
     * 'warren-test'), mccp (accept MCCP2, default false), stripAnsi (default
     * false), gmcpSupports (default ["Char 1","Room 1","Comm 1"]), label,
     * tls (tls.connect options: connect over TLS; default null, plain TCP).
     */
    constructor(opts = {}) {
        super();
        this.opts = {
            width: 80,
            height: 24,
            clientName: 'warren-test',
            mccp: false,
            stripAnsi: false,
            gmcpSupports: ['Char 1', 'Room 1', 'Comm 1'],
            label: 'telnet',
            tls: null,
            ...opts,
        };
        this.socket = null;
        this.rawText = ''; // everything received as text, ANSI kept
        this.cursor = 0; // waitFor searches text() from here
        this.prompts = []; // text of each prompt, in order
        this.gmcpMessages = []; // {pkg, data} (data: parsed JSON, the raw string if not JSON, or undefined)
        this.mssp = {}; // MSSP variables: name -> value (or array of values)
        this.received = []; // [cmd, opt] of every negotiation received, for tests
        this.remote = new Set(); // options the server WILL do (as agreed)
        this.local = new Set(); // options we WILL do (as agreed)
        this.compressing = false; // MCCP2 active
        this.closed = false;
        this._state = S_DATA;
        this._cmd = 0;
        this._sbOpt = 0;
        this._sb = [];
        this._cr = false;
        this._ttypeIndex = 0;
        this._decoder = new TextDecoder('utf-8');
        this._inflate = null;
        this._waiters = new Set();
        this._closedPromise = null;
    }

    /** Connect to @host:@port; resolves with the client once TCP (and TLS, with opts.tls) is up. */
    static async connect(port, host = '127.0.0.1', opts = {}) {
        const t = new TelnetClient(opts);
        await t.connect(port, host, opts.timeout);
        return t;
    }

    connect(port, host = '127.0.0.1', timeout = 3000) {
        return new Promise((resolve, reject) => {
            const secure = this.opts.tls !== null && this.opts.tls !== undefined;
            const sock = secure ? tls.connect({ ...this.opts.tls, port, host }) : net.connect({ port, host });
            this.socket = sock;
            const timer = setTimeout(() => {
                sock.destroy();
                reject(new Error(`${this.opts.label}: connecting to ${host}:${port} timed out`));
            }, timeout);
            this._closedPromise = new Promise((r) => sock.once('close', r));
            sock.once(secure ? 'secureConnect' : 'connect', () => {
                clearTimeout(timer);
                resolve(this);
            });
            sock.on('error', (e) => {
                clearTimeout(timer);
                this.emit('socketError', e);
                reject(new Error(`${this.opts.label}: ${host}:${port}: ${e.message}`));
            });
            sock.on('data', (chunk) => this._onRaw(chunk));
            sock.on('close', () => {
                const finish = () => {
                    this.closed = true;
                    this._wake();
                    this.emit('close');
                };
                // node:zlib inflates asynchronously: let the compressed bytes
                // already received come out before the close is reported, or
                // a server's last words (e.g. "Goodbye") race the close.
                const inf = this._inflate;
                if (inf && !inf.destroyed) {
                    const t = setTimeout(finish, 1000);
                    inf.flush(zlib.constants.Z_SYNC_FLUSH, () => {
                        clearTimeout(t);
                        finish();
                    });
                } else finish();
            });
        });
    }

    // ---- what the tests read ---------------------------------------------

    /** All text received so far (ANSI stripped with { stripAnsi: true }). */
    text() {
        return this.opts.stripAnsi ? stripAnsi(this.rawText) : this.rawText;
    }

    /** Is the server echoing for us (WILL ECHO), i.e. is input hidden? */
    echoHidden() {
        return this.remote.has(OPT.ECHO);
    }

    /** The data of the last GMCP message of package @pkg (case-insensitive), or undefined. */
    gmcp(pkg) {
        const p = pkg.toLowerCase();
        for (let i = this.gmcpMessages.length - 1; i >= 0; i--)
            if (this.gmcpMessages[i].pkg.toLowerCase() === p) return this.gmcpMessages[i].data;
        return undefined;
    }

    /**
     * Wait until text() from the cursor matches @pattern (a RegExp or a
     * string); resolve with the match (array) or the string and move the
     * cursor past it. Rejects after @timeoutMs or when the connection
     * closes first, with the text received so far.
     */
    waitFor(pattern, timeoutMs = 5000) {
        const check = () => {
            const view = this.text();
            const rest = view.slice(this.cursor);
            if (typeof pattern === 'string') {
                const i = rest.indexOf(pattern);
                if (i < 0) return undefined;
                this.cursor += i + pattern.length;
                return { value: pattern };
            }
            const re = new RegExp(pattern.source, pattern.flags.replace('g', ''));
            const m = re.exec(rest);
            if (!m) return undefined;
            this.cursor += m.index + m[0].length;
            return { value: m };
        };
        return this._wait(check, timeoutMs, `text ${pattern}`);
    }

    /** Wait for a GMCP message of package @pkg received from now on; resolves with its data. */
    waitForGmcp(pkg, timeoutMs = 5000) {
        const from = this.gmcpMessages.length;
        const p = pkg.toLowerCase();
        return this._wait(
            () => {
                const m = this.gmcpMessages.slice(from).find((x) => x.pkg.toLowerCase() === p);
                return m ? { value: m.data } : undefined;
            },
            timeoutMs,
            `GMCP ${pkg}`,
        );
    }

    /** Wait for the next prompt (IAC GA or IAC EOR) from now on; resolves with its text. */
    waitForPrompt(timeoutMs = 5000) {
        const from = this.prompts.length;
        return this._wait(() => (this.prompts.length > from ? { value: this.prompts[from] } : undefined), timeoutMs, 'a prompt');
    }

    // ---- what the tests send ---------------------------------------------

    /** Send @line and CR LF (IAC bytes escaped). */
    send(line) {
        this._write(escapeIac(Buffer.from(line + '\r\n', 'utf8')));
    }

    /** Send a GMCP message: "Pkg.Name" and optional @data as JSON. */
    sendGmcp(pkg, data) {
        this._write(subneg(OPT.GMCP, data === undefined ? pkg : `${pkg} ${JSON.stringify(data)}`));
    }

    /** Send @bytes as they are (no escaping). */
    sendRaw(bytes) {
        this._write(Buffer.from(bytes));
    }

    /** Close the connection; resolves once it is closed. */
    async close() {
        if (this.socket && !this.closed) {
            this.socket.end();
            const t = setTimeout(() => this.socket.destroy(), 1000);
            await this._closedPromise;
            clearTimeout(t);
        }
        if (this._inflate) this._inflate.destroy();
    }

    // ---- internals ---------------------------------------------------------

    _write(buf) {
        if (this.socket && !this.closed && !this.socket.destroyed) this.socket.write(buf);
    }

    _wait(check, timeoutMs, what) {
        const first = check();
        if (first) return Promise.resolve(first.value);
        return new Promise((resolve, reject) => {
            const w = {
                poll: () => {
                    const r = check();
                    if (r) {
                        done();
                        resolve(r.value);
                    } else if (this.closed) {
                        done();
                        reject(new Error(`${this.opts.label}: connection closed while waiting for ${what}; received:\n${this.text().slice(-800)}`));
                    }
                },
            };
            const timer = setTimeout(() => {
                done();
                reject(new Error(`${this.opts.label}: no ${what} within ${timeoutMs} ms; received:\n${this.text().slice(-800)}`));
            }, timeoutMs);
            const done = () => {
                clearTimeout(timer);
                this._waiters.delete(w);
            };
            this._waiters.add(w);
            if (this.closed) w.poll();
        });
    }

    _wake() {
        for (const w of [...this._waiters]) w.poll();
    }

    _onRaw(chunk) {
        if (this.compressing) {
            this._inflate.write(chunk);
            return;
        }
        const rest = this._parse(chunk);
        if (rest && rest.length) this._inflate.write(rest);
        this._wake();
    }

    _startInflate() {
        this.compressing = true;
        const inf = zlib.createInflate();
        this._inflate = inf;
        inf.on('data', (data) => {
            this._parse(data);
            this._wake();
        });
        inf.on('end', () => {
            // The server ended compression; what follows is plain again.
            if (this._inflate === inf) {
                this.compressing = false;
                this._inflate = null;
            }
        });
        inf.on('error', (e) => {
            this.emit('protocolError', new Error(`MCCP2 inflate: ${e.message}`));
            this.socket.destroy();
        });
    }

    /** Parse @buf; returns the bytes after IAC SB COMPRESS2 IAC SE (to inflate), if any. */
    _parse(buf) {
        const text = [];
        const flushText = () => {
            if (text.length) {
                this.rawText += this._decoder.decode(Buffer.from(text), { stream: true });
                text.length = 0;
            }
        };
        for (let i = 0; i < buf.length; i++) {
            const b = buf[i];
            switch (this._state) {
                case S_DATA:
                    if (b === IAC) {
                        this._state = S_IAC;
                    } else if (this._cr) {
                        this._cr = false;
                        if (b === 10) text.push(10);
                        else if (b === 0) text.push(13);
                        else if (b === 13) {
                            text.push(13);
                            this._cr = true;
                        } else text.push(13, b);
                    } else if (b === 13) {
                        this._cr = true;
                    } else {
                        text.push(b);
                    }
                    break;
                case S_IAC:
                    this._state = S_DATA;
                    if (b === IAC) text.push(IAC);
                    else if (b === WILL || b === WONT || b === DO || b === DONT) {
                        this._cmd = b;
                        this._state = S_CMD;
                    } else if (b === SB) {
                        this._state = S_SB_OPT;
                    } else if (b === GA || b === EOR_CMD) {
                        flushText();
                        const nl = this.rawText.lastIndexOf('\n');
                        const p = this.rawText.slice(nl + 1);
                        this.prompts.push(this.opts.stripAnsi ? stripAnsi(p) : p);
                        this.emit('prompt', p);
                    } // NOP and the rest: ignored
                    break;
                case S_CMD:
                    this._state = S_DATA;
                    flushText();
                    this._negotiate(this._cmd, b);
                    break;
                case S_SB_OPT:
                    this._sbOpt = b;
                    this._sb = [];
                    this._state = S_SB;
                    break;
                case S_SB:
                    if (b === IAC) this._state = S_SB_IAC;
                    else if (this._sb.length < 1 << 20) this._sb.push(b);
                    break;
                case S_SB_IAC:
                    if (b === IAC) {
                        this._sb.push(IAC);
                        this._state = S_SB;
                    } else {
                        // SE ends it; anything else is a protocol error we end it on too.
                        this._state = S_DATA;
                        flushText();
                        if (this._subneg(this._sbOpt, Buffer.from(this._sb))) {
                            this._startInflate();
                            return buf.subarray(i + 1);
                        }
                    }
                    break;
            }
        }
        flushText();
        return null;
    }

    _reply(cmd, opt) {
        this._write(Buffer.from([IAC, cmd, opt]));
    }

    _negotiate(cmd, opt) {
        this.received.push([cmd, opt]);
        this.emit('negotiate', cmd, opt);
        const wanted = {
            [OPT.ECHO]: true,
            [OPT.SGA]: true,
            [OPT.EOR]: true,
            [OPT.GMCP]: true,
            [OPT.MSSP]: true,
            [OPT.COMPRESS2]: this.opts.mccp,
        };
        const weDo = new Set([OPT.NAWS, OPT.TTYPE]);
        if (cmd === WILL) {
            if (this.remote.has(opt)) return;
            if (!wanted[opt]) return this._reply(DONT, opt);
            this.remote.add(opt);
            this._reply(DO, opt);
            if (opt === OPT.GMCP) {
                this.sendGmcp('Core.Hello', { client: this.opts.clientName, version: '1' });
                this.sendGmcp('Core.Supports.Set', this.opts.gmcpSupports);
            }
        } else if (cmd === WONT) {
            if (!this.remote.has(opt)) return;
            this.remote.delete(opt);
            this._reply(DONT, opt);
        } else if (cmd === DO) {
            if (this.local.has(opt)) return;
            if (!weDo.has(opt)) return this._reply(WONT, opt);
            this.local.add(opt);
            this._reply(WILL, opt);
            if (opt === OPT.NAWS) this.sendNaws();
        } else if (cmd === DONT) {
            if (!this.local.has(opt)) return;
            this.local.delete(opt);
            this._reply(WONT, opt);
        }
    }

    /** Send our window size (after the server asked for NAWS); also to report a resize. */
    sendNaws(width = this.opts.width, height = this.opts.height) {
        this.opts.width = width;
        this.opts.height = height;
        this._write(subneg(OPT.NAWS, [width >> 8, width & 255, height >> 8, height & 255]));
    }

    /** Handle a subnegotiation; returns true when it starts MCCP2. */
    _subneg(opt, data) {
        if (opt === OPT.TTYPE && data[0] === TTYPE_SEND && this.local.has(OPT.TTYPE)) {
            const names = [this.opts.clientName, 'XTERM-256COLOR', 'MTTS 137'];
            const name = names[Math.min(this._ttypeIndex++, names.length - 1)];
            this._write(subneg(OPT.TTYPE, Buffer.concat([Buffer.from([TTYPE_IS]), Buffer.from(name)])));
        } else if (opt === OPT.GMCP && this.remote.has(OPT.GMCP)) {
            const s = data.toString('utf8');
            const sp = s.indexOf(' ');
            const pkg = sp < 0 ? s : s.slice(0, sp);
            const rest = sp < 0 ? '' : s.slice(sp + 1).trim();
            let parsed;
            if (rest !== '') {
                try {
                    parsed = JSON.parse(rest);
                } catch {
                    parsed = rest;
                }
            }
            this.gmcpMessages.push({ pkg, data: parsed });
            this.emit('gmcp', pkg, parsed);
        } else if (opt === OPT.MSSP && this.remote.has(OPT.MSSP)) {
            let name = null;
            let cur = null;
            let mode = 0;
            const put = () => {
                if (name === null || cur === null) return;
                const v = Buffer.from(cur).toString('utf8');
                const old = this.mssp[name];
                this.mssp[name] = old === undefined ? v : [].concat(old, v);
            };
            const nameBytes = [];
            for (const b of data) {
                if (b === MSSP_VAR) {
                    put();
                    mode = 1;
                    nameBytes.length = 0;
                    name = null;
                    cur = null;
                } else if (b === MSSP_VAL) {
                    if (mode === 1) name = Buffer.from(nameBytes).toString('utf8');
                    else put();
                    mode = 2;
                    cur = [];
                } else if (mode === 1) nameBytes.push(b);
                else if (mode === 2) cur.push(b);
            }
            put();
        } else if (opt === OPT.COMPRESS2 && this.remote.has(OPT.COMPRESS2)) {
            return true;
        }
        return false;
    }
}
