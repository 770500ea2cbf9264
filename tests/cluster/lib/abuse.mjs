// What the input-abuse tests (abuse*.test.mjs) share: a raw TCP client that
// can bind a chosen loopback source address (127.0.0.2... look like other
// hosts to a node: the per-address limits and their exemption of 127.0.0.1
// are told apart that way), raw WebSocket frames (the `ws` package refuses
// to send the broken ones these tests need), and the latency probe: a few
// well-behaved arena players moving while an abuse runs, compared with a
// quiet run of the same players in the same test.
import net from 'node:net';
import crypto from 'node:crypto';
import { delay } from './cluster.mjs';

/** A raw TCP connection; every byte it receives is kept in `buf`. */
export class Raw {
    constructor(sock) {
        this.sock = sock;
        this.buf = Buffer.alloc(0);
        this.ended = false;
        this.error = null;
        this._waiters = new Set();
        sock.on('data', (d) => {
            this.buf = Buffer.concat([this.buf, d]);
            this._wake();
        });
        sock.on('error', (e) => {
            this.error = e;
        });
        sock.on('close', () => {
            this.ended = true;
            this._wake();
        });
    }

    static connect(port, { localAddress = '127.0.0.1', timeout = 3000 } = {}) {
        return new Promise((resolve, reject) => {
            const sock = net.connect({ port, host: '127.0.0.1', localAddress });
            const t = setTimeout(() => {
                sock.destroy();
                reject(new Error(`connect to ${port} from ${localAddress}: timeout`));
            }, timeout);
            sock.once('connect', () => {
                clearTimeout(t);
                sock.setNoDelay(true);
                resolve(new Raw(sock));
            });
            sock.once('error', (e) => {
                clearTimeout(t);
                reject(e);
            });
        });
    }

    _wake() {
        for (const w of [...this._waiters]) w();
    }

    text() {
        return this.buf.toString('latin1');
    }

    write(data) {
        if (!this.sock.destroyed) this.sock.write(data);
    }

    /** Wait until pred(this) is truthy (or the socket closed, then pred is tried once more). */
    waitUntil(pred, { timeout = 5000, what = 'condition' } = {}) {
        return new Promise((resolve, reject) => {
            const check = () => {
                const v = pred(this);
                if (v) return done(null, v);
                if (this.ended) return done(new Error(`${what}: socket closed first; got ${JSON.stringify(this.text().slice(0, 200))}`));
            };
            const t = setTimeout(() => done(new Error(`${what}: not within ${timeout} ms; got ${JSON.stringify(this.text().slice(0, 200))}`)), timeout);
            const done = (err, v) => {
                clearTimeout(t);
                this._waiters.delete(check);
                if (err) reject(err);
                else resolve(v);
            };
            this._waiters.add(check);
            check();
        });
    }

    waitText(re, opts = {}) {
        return this.waitUntil((r) => re.test(r.text()), { what: `text ${re}`, ...opts });
    }

    /** Resolves true once the peer closed (FIN or reset) within @timeout, else false. */
    async waitClosed(timeout = 5000) {
        try {
            await this.waitUntil((r) => r.ended, { timeout, what: 'close' });
            return true;
        } catch (e) {
            if (this.ended) return true;
            return false;
        }
    }

    destroy() {
        this.sock.destroy();
    }
}

export const WS_REQUEST = (path, extra = '') =>
    `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

/** A masked client frame. @len overrides the announced payload length (a header only). */
export function wsFrame(opcode, payload = Buffer.alloc(0), { fin = true, rsv1 = false, len } = {}) {
    const p = payload == null ? Buffer.alloc(0) : Buffer.from(payload);
    const n = len !== undefined ? len : p.length;
    const head = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode];
    if (n < 126) head.push(0x80 | n);
    else if (n <= 0xffff) head.push(0x80 | 126, n >> 8, n & 0xff);
    else {
        head.push(0x80 | 127);
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(BigInt(n));
        head.push(...b);
    }
    const mask = crypto.randomBytes(4);
    const body = Buffer.from(p);
    for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
    return Buffer.concat([Buffer.from(head), mask, len !== undefined ? Buffer.alloc(0) : body]);
}

/** Split a raw buffer into the 101 response head and server frames [{op, payload}]. */
export function wsParse(buf) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return { head: null, frames: [] };
    const head = buf.subarray(0, end).toString('latin1');
    const frames = [];
    let i = end + 4;
    while (i + 2 <= buf.length) {
        const op = buf[i] & 0x0f;
        let n = buf[i + 1] & 0x7f;
        let h = 2;
        if (n === 126) {
            if (i + 4 > buf.length) break;
            n = buf.readUInt16BE(i + 2);
            h = 4;
        } else if (n === 127) {
            if (i + 10 > buf.length) break;
            n = Number(buf.readBigUInt64BE(i + 2));
            h = 10;
        }
        if (i + h + n > buf.length) break;
        frames.push({ op, payload: buf.subarray(i + h, i + h + n) });
        i += h + n;
    }
    return { head, frames };
}

/** Open a raw WebSocket on @path; resolves {raw, head} after the 101. */
export async function wsOpen(port, path, { localAddress, extra = '' } = {}) {
    const raw = await Raw.connect(port, { localAddress });
    raw.write(WS_REQUEST(path, extra));
    await raw.waitUntil((r) => wsParse(r.buf).head !== null, { what: `101 on ${path}` });
    const head = wsParse(raw.buf).head;
    if (!/^HTTP\/1\.1 101/.test(head)) throw new Error(`${path}: no 101: ${head}`);
    return { raw, head };
}

/** The close code the server sent on @raw (waits for it), or null if it closed without one. */
export async function wsCloseCode(raw, timeout = 5000) {
    try {
        await raw.waitUntil((r) => wsParse(r.buf).frames.some((f) => f.op === 8), { timeout, what: 'close frame' });
    } catch {
        return null;
    }
    const f = wsParse(raw.buf).frames.find((x) => x.op === 8);
    return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 0;
}

/** Wait for a text frame from the server matching @re (after the 101). */
export function wsWaitText(raw, re, timeout = 5000) {
    return raw.waitUntil((r) => wsParse(r.buf).frames.some((f) => f.op === 1 && re.test(f.payload.toString('utf8'))), {
        timeout,
        what: `text frame ${re}`,
    });
}

/** The 99th percentile of @xs (ms). */
export function p99(xs) {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)] : NaN;
}

/**
 * Move each joined arena client left/right (never into an edge) for
 * @durationMs, one move in flight per client, @gapMs between moves; bounded
 * by @maxMoves per client. Returns every move's round trip (ms) and the
 * failures.
 */
export async function probeMoves(clients, { durationMs = 3000, gapMs = 15, maxMoves = 400 } = {}) {
    const lat = [];
    const failed = [];
    const until = Date.now() + durationMs;
    await Promise.all(
        clients.map(async (cl, k) => {
            for (let i = 0; i < maxMoves && Date.now() < until; i++) {
                const r = await cl.moveAndWait((i + k) % 2 ? 'left' : 'right', { timeout: 3000 });
                if (r.ok) lat.push(r.ms);
                else failed.push(`${cl.label}: ${r.error}`);
                await delay(gapMs);
            }
        }),
    );
    return { lat, failed, p99: p99(lat) };
}

/**
 * The bound on the p99 under abuse: twice the quiet p99, but never below
 * quiet + 20 ms. Why the floor: this machine has 2 cores shared with other
 * jobs, and the quiet p99 of loopback moves is a few ms, where one
 * scheduler hiccup doubles it; 20 ms is still far below what a node
 * starved by an abuser shows (hundreds of ms, or timeouts).
 */
export function latencyBound(quietP99) {
    return Math.max(2 * quietP99, quietP99 + 20);
}
