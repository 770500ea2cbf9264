// Warren's browser connection (shared by the arena, app.js, and the MUD
// terminal, play.js): one WebSocket at a time, failover and resume.
//
// When the socket closes (or fails to open in time, or the node stays
// degraded for degradedFailoverMs) the connection gives it up and tries
// again with exponential backoff and full jitter, rotating through a server
// list: this page's origin first, then every node's public HTTP address from
// /api/cluster (polled while a session is up). On open it sends
// {"t":"resume","token":...} if it holds a token (kept in sessionStorage
// under tokenKey) and waits for the page to call welcome(); pings measure the
// round-trip time; {"t":"status"} and {"t":"pong"} are handled here.
//
// Everything the status bar shows lives in `state` (the object passed in,
// e.g. window.warren, so tests can read it): state, node, leader, servers,
// server, degraded, attempt, nextTryAt, rtt, stateLog, log. status.js
// renders it.
//
// state.state is one of connecting | connected | reconnecting | degraded
// (or disconnected, only if the page's onClose asked not to reconnect);
// "connected" only once a resume has been answered (welcome), so the node a
// page shows is never stale when it says "connected".

const DEFAULTS = {
    baseMs: 100,                // backoff base
    capMs: 5000,                // backoff cap
    degradedFailoverMs: 3000,   // continuous degraded time before switching node
    openTimeoutMs: 3000,        // a socket that does not open in time has failed
    welcomeTimeoutMs: 7000,     // resume unanswered (server queue timeout is 5 s)
    pingMs: 2000,
    pollMs: 2000,
    tokenKey: 'warren.token',
    tag: 'warren',              // console prefix
};

const noop = () => {};

export class Conn {
    /**
     * @param {object} opts
     *   path        WebSocket path on every server, e.g. '/ws' or '/mud/ws'
     *   state       object to keep the status fields in (default: a new one)
     *   onOpen(resuming)   the socket is open; resuming: a resume was sent
     *   onMessage(m)       every parsed frame, including status and pong
     *   onBinary(buf)      every binary message, as an ArrayBuffer (the
     *                      arena's compact updates); without it they are
     *                      logged and dropped
     *   resumeFields       extra fields for the resume message, e.g.
     *                      {enc: 'bin'} (the arena asks for binary updates)
     *   onStatus()         something the status bar shows changed
     *   onClose(reason, code)  the socket was lost (code: the close code, or
     *                      undefined when the client gave up on it); return
     *                      false to stay disconnected (state "disconnected")
     *                      until connect() is called, else a reconnect is
     *                      scheduled
     *   and any of DEFAULTS to override.
     */
    constructor(opts) {
        this.opts = { ...DEFAULTS, ...opts };
        this.onOpen = opts.onOpen || noop;
        this.onMessage = opts.onMessage || noop;
        this.onBinary = opts.onBinary || null;
        this.resumeFields = opts.resumeFields || {};
        this.onStatus = opts.onStatus || noop;
        this.onClose = opts.onClose || noop;
        const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
        this.scheme = scheme;
        this.originUrl = `${scheme}//${location.host}${this.opts.path}`;
        this.s = Object.assign(opts.state || {}, {
            state: 'connecting', node: null, leader: null,
            servers: [this.originUrl], server: null,
            degraded: false, attempt: 0, nextTryAt: 0, rtt: null,
            stateLog: [], log: [],
        });
        this.ws = null;          // the current socket (null while waiting to reconnect)
        this.serverIdx = 0;      // index into servers of the current/next server
        this.resuming = false;   // resume sent, welcome not yet received
        this.stopped = false;    // onClose said not to reconnect
        this.pingId = 0;
        this.pingSent = new Map();
        this.timers = {};        // reconnect, countdown, open, welcome, degraded, ping, poll
        this.token = {
            get: () => sessionStorage.getItem(this.opts.tokenKey),
            set: (t) => (t ? sessionStorage.setItem(this.opts.tokenKey, t)
                : sessionStorage.removeItem(this.opts.tokenKey)),
        };
    }

    log(...args) {
        const line = args.join(' ');
        this.s.log.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
        if (this.s.log.length > 300) this.s.log.shift();
        console.log(`[${this.opts.tag}]`, line);
    }

    clearTimer(name) {
        clearTimeout(this.timers[name]);
        clearInterval(this.timers[name]);
        delete this.timers[name];
    }

    isOpen() {
        return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
    }

    /** A socket exists (open or opening), as opposed to waiting for the next try. */
    trying() {
        return this.ws !== null;
    }

    /** Recompute state.state from the socket and tell the page. */
    refresh() {
        const s = this.s;
        let st;
        if (this.stopped) st = 'disconnected';
        else if (!this.isOpen() || this.resuming) st = s.attempt > 0 ? 'reconnecting' : 'connecting';
        else st = s.degraded ? 'degraded' : 'connected';
        if (st !== s.state) {
            s.state = st;
            s.stateLog.push({ state: st, t: Date.now(), node: s.node });
            if (s.stateLog.length > 200) s.stateLog.shift();
            this.log('state', st);
        }
        this.onStatus();
    }

    connect() {
        this.stopped = false;
        this.clearTimer('reconnect');
        this.clearTimer('countdown');
        const s = this.s;
        const url = s.servers[this.serverIdx % s.servers.length];
        s.server = url;
        this.log('connecting to', url, 'attempt', s.attempt);
        const sock = new WebSocket(url);
        sock.binaryType = 'arraybuffer';
        this.ws = sock;
        this.timers.open = setTimeout(() => sock === this.ws && this.abandon('open timeout'), this.opts.openTimeoutMs);
        sock.onopen = () => sock === this.ws && this.opened();
        sock.onmessage = (ev) => sock === this.ws && this.message(ev.data);
        sock.onclose = (ev) => {
            if (sock !== this.ws) return;
            this.ws = null;
            this.closed(`closed ${ev.code} ${ev.reason}`, ev.code);
        };
        this.refresh();
    }

    opened() {
        this.clearTimer('open');
        this.log('open', this.s.server);
        this.timers.ping = setInterval(() => this.ping(), this.opts.pingMs);
        this.ping();
        const t = this.token.get();
        if (t) {
            this.resuming = true;
            this.send({ ...this.resumeFields, t: 'resume', token: t });
            this.timers.welcome = setTimeout(() => this.abandon('no welcome'), this.opts.welcomeTimeoutMs);
        } else {
            this.s.attempt = 0;
        }
        this.onOpen(this.resuming);
        this.refresh();
    }

    /**
     * Give up on the current socket at once (without waiting for a close
     * handshake from a node that may be dead) and schedule the next try.
     */
    abandon(reason) {
        const sock = this.ws;
        if (!sock) return;
        this.ws = null;
        sock.onopen = sock.onmessage = sock.onclose = null;
        try {
            sock.close(4000, reason);
        } catch (e) { /* already closing */ }
        this.closed(reason);
    }

    closed(reason, code) {
        this.log('lost connection:', reason);
        for (const t of ['open', 'welcome', 'degraded', 'ping', 'poll']) this.clearTimer(t);
        this.resuming = false;
        this.s.degraded = false;
        this.s.node = null;
        this.pingSent.clear();
        if (this.onClose(reason, code) === false) {
            this.stopped = true;
            this.refresh();
            return;
        }
        this.scheduleReconnect();
    }

    scheduleReconnect() {
        const s = this.s;
        s.attempt++;
        this.serverIdx = (this.serverIdx + 1) % s.servers.length;
        // Full jitter: uniform in [0, min(cap, base * 2^attempt)).
        const delay = Math.random() * Math.min(this.opts.capMs, this.opts.baseMs * 2 ** s.attempt);
        s.nextTryAt = performance.now() + delay;
        this.timers.reconnect = setTimeout(() => this.connect(), delay);
        this.timers.countdown = setInterval(() => this.onStatus(), 100);
        this.refresh();
    }

    /** Send one JSON message if the socket is open; returns whether it was. */
    send(obj) {
        if (!this.isOpen()) return false;
        this.ws.send(JSON.stringify(obj));
        return true;
    }

    ping() {
        this.pingId++;
        this.pingSent.set(this.pingId, performance.now());
        this.send({ t: 'ping', id: this.pingId });
    }

    /**
     * Poll /api/cluster (through whatever serves this page) for the leader
     * and the nodes' public addresses, which become failover targets.
     */
    async poll() {
        const s = this.s;
        try {
            const r = await fetch('/api/cluster', { cache: 'no-store' });
            if (!r.ok) return;
            const c = await r.json();
            if (this.isOpen() && !s.degraded) s.leader = c.leader ?? null;
            const list = [this.originUrl];
            for (const n of c.nodes || []) {
                const u = n.http ? `${this.scheme}//${n.http}${this.opts.path}` : null;
                if (u && !list.includes(u)) list.push(u);
            }
            // Keep pointing at the server we are on when the list changes.
            const cur = s.servers[this.serverIdx];
            s.servers = list;
            this.serverIdx = Math.max(0, list.indexOf(cur));
            this.onStatus();
        } catch (e) { /* the next poll will try again */ }
    }

    /** Start polling /api/cluster until the socket is lost. */
    startPoll() {
        this.clearTimer('poll');
        this.timers.poll = setInterval(() => this.poll(), this.opts.pollMs);
        this.poll();
    }

    message(data) {
        if (data instanceof ArrayBuffer) {
            if (this.onBinary) return this.onBinary(data);
            return this.log('binary frame dropped,', data.byteLength, 'bytes');
        }
        let m;
        try {
            m = JSON.parse(data);
        } catch (e) {
            return this.log('bad frame', data);
        }
        if (m === null || typeof m !== 'object') return this.log('bad frame', data);
        if (m.t === 'status') this.status(m);
        else if (m.t === 'pong') {
            const t0 = this.pingSent.get(m.id);
            if (t0 !== undefined) this.s.rtt = Math.round(performance.now() - t0);
            this.pingSent.delete(m.id);
            this.onStatus();
        }
        this.onMessage(m);
    }

    status(m) {
        const s = this.s;
        s.leader = m.leader ?? null;  // null: no leader known (degraded)
        if (m.node != null) s.node = m.node;
        s.degraded = !!m.degraded;
        if (s.degraded && !this.timers.degraded) {
            this.timers.degraded = setTimeout(() => this.abandon('degraded too long'), this.opts.degradedFailoverMs);
        } else if (!s.degraded) {
            this.clearTimer('degraded');
        }
        this.refresh();
    }

    /**
     * The session is up (joined, logged in or resumed): keep its token for
     * the next resume, note the node (and leader), reset the backoff and
     * start discovering the other nodes. Returns whether it was a resume.
     */
    welcome({ token, node, leader } = {}) {
        this.clearTimer('welcome');
        const wasResume = this.resuming;
        this.resuming = false;
        if (node != null) this.s.node = node;
        if (leader != null) this.s.leader = leader;
        if (token) this.token.set(token);
        this.s.attempt = 0;
        this.startPoll();
        return wasResume;
    }

    /**
     * The session cannot be resumed (bad token, expired): forget the token;
     * the page starts a new session (join, login) itself.
     */
    resumeFailed() {
        this.clearTimer('welcome');
        this.resuming = false;
        this.token.set(null);
        this.s.attempt = 0;
        this.refresh();
    }
}
