// The nemesis runner's clients: arena players over WebSocket and MUD
// characters over telnet, all in the runner's process, reaching the nodes
// over the netns bridge. Each one loops: connect, join (or resume / log
// in), then send one command at a time and wait for its acknowledgement
// with a timeout. A timeout or a close ends the connection; the client then
// goes to another node (drawn from its seeded stream) with a growing
// backoff and takes its player back.
// Every send, ack, fail, welcome and close goes to history.jsonl
// (tests/nemesis/FORMAT.md), which the checker holds against the nodes'
// apply logs.
import { ArenaClient } from '../../cluster/lib/cluster.mjs';
import { TelnetClient } from '../../cluster/lib/telnet.mjs';
import { answerChoices } from '../../cluster/lib/mud.mjs';
import { sleep } from './util.mjs';

const DIRS = ['up', 'down', 'left', 'right'];
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 2000;

/** Shared by every client of a run. */
export class ClientContext {
    /**
     * @param cluster the harness Cluster (node addresses)
     * @param history JsonlFile of history.jsonl
     * @param rng the run's Rng (each client forks its own stream)
     * @param opts {ackTimeoutMs, arenaIntervalMs, mudIntervalMs}
     */
    constructor(cluster, history, rng, opts) {
        this.cluster = cluster;
        this.history = history;
        this.rng = rng;
        this.opts = opts;
        this.abort = new AbortController();
    }
    get stopping() {
        return this.abort.signal.aborted;
    }
    ids() {
        return this.cluster.nodes.map((n) => n.id);
    }
    record(c, game, ev, node, fields) {
        this.history.write({ t: Date.now(), c, game, ev, node, ...fields });
    }
}

/** Base: the reconnect loop with node rotation and backoff. */
class Bot {
    constructor(ctx, name, game, index) {
        this.ctx = ctx;
        this.c = name;
        this.game = game;
        this.rng = ctx.rng.fork(name);
        this.nodeIdx = index % ctx.ids().length;
        this.backoff = BACKOFF_MIN_MS;
        this.node = null;
        this.stats = { sends: 0, acks: 0, fails: 0, closes: 0, welcomes: 0 };
        this.done = null;
    }
    record(ev, fields = {}) {
        if (ev === 'send') this.stats.sends++;
        else if (ev === 'ack') this.stats.acks++;
        else if (ev === 'fail') this.stats.fails++;
        else if (ev === 'close') this.stats.closes++;
        else if (ev === 'welcome') this.stats.welcomes++;
        this.ctx.record(this.c, this.game, ev, this.node, fields);
    }
    start() {
        this.done = this._loop();
        return this;
    }
    async _loop() {
        while (!this.ctx.stopping) {
            const id = this.ctx.ids()[this.nodeIdx];
            this.node = id;
            let welcomed = false;
            try {
                welcomed = await this.session(id);
            } catch (e) {
                this.lastError = e.message;
            }
            this.node = null;
            if (this.ctx.stopping) break;
            // After a session that got in, come back fast; after one that
            // did not, wait longer each time (the cluster may be healing).
            if (welcomed) this.backoff = BACKOFF_MIN_MS;
            await sleep(this.backoff, this.ctx.abort.signal);
            if (!welcomed) this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
            // Another node, drawn at random: moving to "the next one" made
            // every client of a failed node land on the same node, until
            // all of them sat on one (which starves the availability
            // figures of witnesses on the other nodes).
            const n = this.ctx.ids().length;
            if (n > 1) this.nodeIdx = (this.nodeIdx + this.rng.int(1, n - 1)) % n;
        }
    }
    /** Pause between two commands (pacing under the rate limits). */
    pace(startedAt, interval) {
        const wait = interval - (Date.now() - startedAt);
        return wait > 0 ? sleep(wait, this.ctx.abort.signal) : undefined;
    }
}

/**
 * An arena player: join once, then move at a few moves a second; after a
 * reconnect, resume with the token and continue above the welcome's seq. A
 * player removed while away (bad_token) joins again under a new name.
 */
export class ArenaBot extends Bot {
    constructor(ctx, index) {
        super(ctx, `a${index}`, 'arena', index);
        this.playerName = `nz-a${index}`;
        this.player = null; // the welcome's id (FORMAT.md: history's `player`)
        this.rejoins = 0;
        this.token = null;
    }

    /** One connection's life; resolves true when it got a welcome. */
    async session(id) {
        const n = this.ctx.cluster.node(id);
        const cl = new ArenaClient(`${this.c}@${id}`);
        await cl.connect(n.httpPort, { host: n.host, timeout: 2000 });
        let closeWhy = null; // set when we close it ourselves
        cl.closed.then((ci) => this.record('close', { why: closeWhy || `code ${ci.code}${ci.reason ? ' ' + ci.reason : ''}` }));
        const end = async (why) => {
            closeWhy = why;
            cl.terminate();
            await cl.closed;
        };
        let welcome;
        try {
            welcome = await this._enter(cl);
        } catch (e) {
            await end(`client: no welcome (${e.code || e.message.split('\n')[0]})`);
            return false;
        }
        this.player = welcome.id;
        this.record('welcome', { player: this.player, name: this.playerName, seq: welcome.seq, resumed: welcome.resumed });
        const { ackTimeoutMs, arenaIntervalMs } = this.ctx.opts;
        while (!this.ctx.stopping) {
            const t0 = Date.now();
            const dir = this.rng.pick(DIRS);
            let seq;
            try {
                seq = cl.move(dir);
            } catch {
                break; // closed under us: the close is recorded
            }
            this.record('send', { player: this.player, seq, dir });
            try {
                await cl.waitAcked(seq, { timeout: ackTimeoutMs, failOnUnavailable: true });
                this.record('ack', { player: this.player, seq: cl.acked });
            } catch (e) {
                const why = this._why(cl, e);
                this.record('fail', { player: this.player, seq, why });
                if (why === 'expired') this.token = null;
                await end(`client: ${why}`);
                return true;
            }
            await this.pace(t0, arenaIntervalMs);
        }
        await end('client: load stopped');
        return true;
    }

    /** join or resume; resolves {id, seq, resumed}. */
    async _enter(cl) {
        const t = this.ctx.opts.ackTimeoutMs;
        if (this.token) {
            try {
                const w = await cl.resume(this.token, { timeout: t });
                this.token = w.token;
                return { id: w.id, seq: w.seq, resumed: true };
            } catch (e) {
                if (e.code !== 'bad_token') throw e;
                // Removed after its grace period: a new player, a new name.
                this.token = null;
                this.rejoins++;
                this.playerName = `nz-a${this.c.slice(1)}r${this.rejoins}`;
            }
        }
        const w = await cl.join(this.playerName, { timeout: t });
        this.token = w.token;
        return { id: w.id, seq: w.seq, resumed: false };
    }

    _why(cl, e) {
        const expired = cl.errors.find((x) => x.code === 'expired');
        if (expired) return 'expired';
        if (e.frame && e.frame.code) return `error:${e.frame.code}`;
        if (cl.closeInfo) return 'closed';
        return 'timeout';
    }
}

/**
 * A MUD character over telnet: created on the first connection, logged in
 * again on every later one (telnet has no resume token: a login takes the
 * link-dead character back), then `say nz<client>x<n>` in a loop; the ack
 * is its own "You say '<token>'".
 */
export class MudBot extends Bot {
    constructor(ctx, index) {
        super(ctx, `m${index}`, 'mud', index);
        // 3-16 letters: the client's index spelled in letters.
        this.charName = `Nzbot${String.fromCharCode(96 + index)}`; // index 1..26 (--mud is at most 26)
        this.password = `pw-${this.c}-nemesis`;
        this.n = 0;
    }

    async session(id) {
        const node = this.ctx.cluster.node(id);
        const t = await TelnetClient.connect(node.telnetPort, node.host, { stripAnsi: true, label: `${this.c}@${id}`, timeout: 2000 });
        let closeWhy = null;
        const closed = new Promise((r) => t.once('close', r));
        closed.then(() => this.record('close', { why: closeWhy || 'closed by the server' }));
        const end = async (why) => {
            if (!t.closed) closeWhy = why;
            t.socket.destroy();
            await closed;
        };
        try {
            await this._login(t);
        } catch (e) {
            await end(`client: no welcome (${e.message.split('\n')[0]})`);
            return false;
        }
        this.record('welcome', { name: this.charName });
        const { ackTimeoutMs, mudIntervalMs } = this.ctx.opts;
        while (!this.ctx.stopping && !t.closed) {
            const t0 = Date.now();
            const token = `nz${this.c}x${++this.n}`;
            t.send(`say ${token}`);
            this.record('send', { token });
            try {
                await t.waitFor(`You say '${token}'`, ackTimeoutMs);
                this.record('ack', { token });
            } catch {
                const why = t.closed ? 'closed' : 'timeout';
                this.record('fail', { token, why });
                await end(`client: ${why}`);
                return true;
            }
            await this.pace(t0, mudIntervalMs);
        }
        await end('client: load stopped');
        return true;
    }

    /** Create the character, or log it in when the name is known. */
    async _login(t) {
        const to = this.ctx.opts.ackTimeoutMs * 2;
        await t.waitFor(/By what name are you known\? $/, to);
        t.send(this.charName);
        const m = await t.waitFor(/Create a new character called \w+\? \(y\/n\)|Password: $/, to);
        const name = this.charName;
        if (m[0].startsWith('Create')) {
            t.send('y');
            await t.waitFor('Password: ', to);
            t.send(this.password);
            await t.waitFor('Again, to be sure: ', to);
            t.send(this.password);
            await answerChoices(t, { timeout: to });
            await t.waitFor(new RegExp(`Welcome to [^\\n]*, ${name}\\.`), to);
        } else {
            t.send(this.password);
            await t.waitFor(new RegExp(`Welcome back(?: to [^\\n]*)?, ${name}\\.`), to);
        }
    }
}
