// The /admin dashboard. One WebSocket to one node's /admin/ws, which pushes
// a snapshot of the cluster 4 times a second (docs/api.md#admin-ws): that
// node's /api/cluster, and for every member what the node last learned by
// polling it (up or down and why, role, term, indexes, hash, load), plus
// the registry's zones, singletons and players per node.
//
// The page keeps what a snapshot does not: the commit rate and the
// leader's commit latency, one point a second for 5 minutes (plain canvas
// charts), and a list of the changes it saw (node down/up, new leader).
//
// If the node goes away (close, error, or no snapshot for STALE_MS) the page
// reconnects to the next node of the member list with backoff and full
// jitter, and says so in the status bar. The buttons' POSTs go through the
// same node, with the admin token (a password field kept in sessionStorage).
//
// Everything shown is in window.admin, for tests and the console.

const TOKEN_KEY = 'warren.admin-token';
const STALE_MS = 1500;      // no snapshot for this long: the node is gone
const OPEN_TIMEOUT_MS = 2000;
const BASE_MS = 100;
const CAP_MS = 2000;
const HISTORY_S = 300;      // chart span

const $ = (sel) => document.querySelector(sel);
// The log index a member's state_hash belongs to (older releases: applied_index).
const hashIndex = (v) => (Number.isInteger(v.state_hash_index) ? v.state_hash_index : v.applied_index);
const A = (window.admin = {
    state: 'connecting', // connecting | connected | reconnecting | stopped
    via: null,           // the node the socket is on
    server: null,        // its ws URL
    servers: [],         // ws URLs to try, origin first
    attempt: 0,
    nextTryAt: 0,
    snapshot: null,
    lastSnapshotAt: 0,
    events: [],          // {t, kind, text, node}
    rate: [],            // {t, v} commits per second
    latency: [],         // {t, v} ms, null when no commit that second
    tokenOk: null,
    stateLog: [],        // {t, state}
});

let ws = null;
let serverIdx = 0;
let timers = {};
let prev = null;          // the previous snapshot's per-member facts
let sampleAt = null;      // the last chart sample {t, commit, leader, count, sum}

const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
const originUrl = `${scheme}//${location.host}/admin/ws`;
A.servers = [originUrl];

function token() {
    return sessionStorage.getItem(TOKEN_KEY) || '';
}

function clock(t) {
    return new Date(t).toLocaleTimeString([], { hour12: false });
}

function ago(ms) {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 120000) return `${(ms / 1000).toFixed(1)} s`;
    return `${Math.floor(ms / 60000)} min ${Math.floor((ms % 60000) / 1000)} s`;
}

function note(kind, text, node = null) {
    A.events.push({ t: Date.now(), kind, text, node });
    if (A.events.length > 500) A.events.shift();
    const li = document.createElement('li');
    li.className = kind;
    li.textContent = `${new Date().toISOString().slice(11, 23)} ${text}`;
    const ol = $('#events');
    ol.prepend(li);
    while (ol.children.length > 200) ol.lastChild.remove();
    console.log(`[admin] ${text}`);
}

function message(text) {
    $('#message').textContent = text;
}

/* ---- the connection --------------------------------------------------- */

function setState(st) {
    if (A.state !== st) {
        A.state = st;
        A.stateLog.push({ t: Date.now(), state: st });
        if (A.stateLog.length > 200) A.stateLog.shift();
    }
    renderBar();
}

function clearTimer(name) {
    clearTimeout(timers[name]);
    delete timers[name];
}

function connect() {
    clearTimer('retry');
    const url = A.servers[serverIdx % A.servers.length];
    A.server = url;
    let sock;
    try {
        sock = new WebSocket(url);
    } catch (e) {
        lost(`cannot open ${url}: ${e.message}`);
        return;
    }
    ws = sock;
    renderBar();
    timers.open = setTimeout(() => {
        if (ws === sock && sock.readyState !== WebSocket.OPEN) {
            sock.close();
            lost(`${url} did not open within ${OPEN_TIMEOUT_MS} ms`);
        }
    }, OPEN_TIMEOUT_MS);
    sock.onopen = () => {
        if (ws !== sock) return;
        clearTimer('open');
        A.lastSnapshotAt = performance.now();
        if (token()) sock.send(JSON.stringify({ t: 'auth', token: token() }));
    };
    sock.onmessage = (ev) => {
        if (ws !== sock) return;
        let m;
        try {
            m = JSON.parse(ev.data);
        } catch {
            return;
        }
        onMessage(m);
    };
    sock.onclose = (ev) => {
        if (ws !== sock) return;
        clearTimer('open');
        if (ev.code === 1008) {
            // The token was refused (or never sent): trying other nodes
            // with the same token would only be refused again.
            ws = null;
            A.tokenOk = false;
            message(`node ${A.via ?? '?'} closed the dashboard: ${ev.reason || 'admin token needed'}; enter the admin token above`);
            setState('stopped');
            return;
        }
        lost(`${A.via ? `node ${A.via}` : url} closed the connection (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`);
    };
}

/* The socket is gone: note it, then try the next server after a backoff. */
function lost(why) {
    ws = null;
    A.attempt++;
    note('down', `lost the dashboard feed: ${why}`);
    if (A.servers.length <= 1) refreshServersFromOrigin();
    serverIdx = (serverIdx + 1) % Math.max(1, A.servers.length);
    const delay = A.attempt === 1 ? 0 : Math.random() * Math.min(CAP_MS, BASE_MS * 2 ** A.attempt);
    A.nextTryAt = performance.now() + delay;
    setState('reconnecting');
    timers.retry = setTimeout(connect, delay);
}

/* The ws URLs of every member with an HTTP address, this page's origin
 * first (the order the page tries them in). */
function setServers(members) {
    const urls = [originUrl];
    for (const m of members) if (m.http) urls.push(`${scheme}//${m.http}/admin/ws`);
    const current = A.server;
    A.servers = [...new Set(urls)];
    const i = A.servers.indexOf(current);
    if (i >= 0) serverIdx = i;
}

/* A page behind a proxy that does not pass /admin/ws on: learn the nodes
 * from /api/cluster and talk to one of them directly. */
async function refreshServersFromOrigin() {
    try {
        const r = await fetch('/api/cluster', { signal: AbortSignal.timeout(2000) });
        if (!r.ok) return;
        const c = await r.json();
        if (A.servers.length <= 1) setServers(c.nodes || []);
    } catch {
        /* the origin is down too: keep trying what we have */
    }
}

function onMessage(m) {
    if (m.t === 'snapshot') {
        A.lastSnapshotAt = performance.now();
        if (A.state !== 'connected') {
            note('leader', `connected to node ${m.node} (${A.server})`);
            A.attempt = 0;
            message('');
        }
        A.via = m.node;
        A.snapshot = m;
        setServers(m.members);
        setState('connected');
        render(m);
    } else if (m.t === 'auth_required') {
        A.via = m.node;
        message(`node ${m.node} runs with --admin-reads token: enter the admin token above to see the cluster`);
        A.lastSnapshotAt = performance.now() + 1e9; // waiting for the user, not stale
        renderBar();
    } else if (m.t === 'auth') {
        A.tokenOk = m.ok;
        renderToken(m.ok ? `accepted by node ${A.via ?? '?'}` : `refused: ${m.error}`);
    } else if (m.t === 'result') {
        onResult(m);
    } else if (m.t === 'error') {
        message(`node ${A.via ?? '?'}: ${m.error}`);
    }
}

// A hung node (SIGSTOP, a cut network) keeps the socket open but sends
// nothing: give up on it after STALE_MS.
setInterval(() => {
    if (ws && ws.readyState === WebSocket.OPEN && A.state === 'connected'
        && performance.now() - A.lastSnapshotAt > STALE_MS) {
        const sock = ws;
        ws = null;
        sock.close();
        lost(`no snapshot from node ${A.via} for ${STALE_MS} ms`);
    }
    renderBar();
}, 250);

/* ---- rendering ------------------------------------------------------- */

function renderBar() {
    $('#status').dataset.state = A.state;
    $('#state-text').textContent = A.state;
    $('#via').textContent = A.via ?? '-';
    let line = '';
    if (A.state === 'reconnecting') {
        const left = Math.max(0, A.nextTryAt - performance.now()) / 1000;
        line = ws ? `reconnecting: attempt ${A.attempt}, trying ${A.server}`
            : `reconnecting: attempt ${A.attempt}, next try in ${left.toFixed(1)} s`;
    }
    $('#attempt').textContent = line;
}

function renderToken(text) {
    const el = $('#token-state');
    el.textContent = text;
    el.dataset.ok = A.tokenOk === null ? '' : String(A.tokenOk);
}

function cell(row, cls, text, title) {
    const td = row.querySelector(`td.${cls.split(' ')[0]}`);
    if (td.textContent !== String(text)) td.textContent = text;
    if (title !== undefined) td.title = title;
}

const COLUMNS = ['id', 'up', 'role', 'term num', 'commit num', 'applied num', 'lag num', 'hash',
    'addr', 'zones list', 'singletons list', 'players num', 'conns num', 'seen', 'act'];

function rowFor(id) {
    const body = $('#nodes tbody');
    let row = body.querySelector(`tr[data-node="${id}"]`);
    if (row) return row;
    row = document.createElement('tr');
    row.dataset.node = id;
    for (const c of COLUMNS) {
        const td = document.createElement('td');
        td.className = c;
        row.append(td);
    }
    const act = row.querySelector('td.act');
    const tb = document.createElement('button');
    tb.type = 'button';
    tb.className = 'transfer';
    tb.textContent = 'transfer here';
    tb.onclick = () => action('transfer', '/api/cluster/transfer', { id: Number(id) });
    const db = document.createElement('button');
    db.type = 'button';
    db.className = 'drain';
    db.textContent = 'drain';
    db.onclick = () => action('drain', '/api/cluster/drain', { id: Number(id) });
    act.append(tb, ' ', db);
    const rows = [...body.children];
    const after = rows.find((r) => Number(r.dataset.node) > Number(id));
    body.insertBefore(row, after ?? null);
    return row;
}

function render(s) {
    const now = Date.now();
    const leaderId = s.cluster.leader;
    const members = s.members;
    const byId = new Map(members.map((m) => [m.id, m]));
    const leaderView = byId.get(leaderId)?.view;
    const commit = Math.max(leaderView?.commit_index ?? 0,
        ...members.map((m) => (m.up && m.view ? m.view.commit_index : 0)));

    // What changed since the last snapshot, for the events list.
    const facts = new Map(members.map((m) => [m.id, { up: m.up, error: m.error }]));
    if (prev) {
        for (const m of members) {
            const p = prev.facts.get(m.id);
            if (m.up === false && (!p || p.up !== false)) note('down', `node ${m.id} down: ${m.error}`, m.id);
            if (m.up === true && p && p.up === false) note('leader', `node ${m.id} up again`, m.id);
        }
        if (leaderId !== prev.leader) {
            note(leaderId ? 'leader' : 'down', leaderId ? `leader is node ${leaderId} (term ${s.cluster.term})`
                : `node ${s.node} knows no leader (term ${s.cluster.term})`, leaderId);
        }
    } else if (leaderId) {
        note('leader', `leader is node ${leaderId} (term ${s.cluster.term})`, leaderId);
    }
    prev = { facts, leader: leaderId };

    $('#leader').textContent = leaderId ?? 'none';
    $('#term').textContent = s.cluster.term;
    $('#leader-since').textContent = s.leader ? `${clock(s.leader.since)} (${ago(s.at - s.leader.since)})`
        : s.leaderless_since ? `none since ${clock(s.leaderless_since)}` : '-';
    const e = s.elections;
    $('#elections').textContent = `${e.term_changes} term change${e.term_changes === 1 ? '' : 's'}, ` +
        `${e.leader_changes} new leader${e.leader_changes === 1 ? '' : 's'} seen by node ${s.node} since ${clock(e.since)}`;

    const body = $('#nodes tbody');
    for (const r of [...body.children]) if (!byId.has(Number(r.dataset.node))) r.remove();
    for (const m of members) {
        const row = rowFor(m.id);
        const v = m.view;
        const isLeader = m.id === leaderId;
        row.dataset.up = m.up === null ? 'unknown' : String(m.up);
        row.dataset.leader = String(isLeader);
        row.dataset.role = m.up && v ? v.role : '';
        // A hash belongs to its state_hash_index (docs/api.md), which trails
        // applied_index while entries keep coming: compare at equal ones.
        const differs = m.up && v && leaderView && hashIndex(v) === hashIndex(leaderView)
            && v.state_hash !== leaderView.state_hash;
        row.dataset.hashDiffers = String(Boolean(differs));
        cell(row, 'id', m.self ? `${m.id} (this)` : m.id);
        cell(row, 'up', m.up === null ? 'polling' : m.up ? 'up' : `down: ${m.error}`);
        cell(row, 'role', v ? (m.up ? v.role : `(was ${v.role})`) : '-');
        cell(row, 'term', v ? v.term : '-');
        cell(row, 'commit', v ? v.commit_index : '-');
        cell(row, 'applied', v ? v.applied_index : '-');
        cell(row, 'lag', v && m.up ? Math.max(0, commit - v.applied_index) : '-');
        cell(row, 'hash', v ? v.state_hash : '-', v && hashIndex(v) !== v.applied_index ? `the state at index ${hashIndex(v)}` : '');
        cell(row, 'addr', m.http ?? '?', `cluster ${m.address}, ${m.role}`);
        cell(row, 'zones', m.zones.map((z) => z.replace(/^zone\//, '')).join(', ') || '-');
        cell(row, 'singletons', m.singletons.join(', ') || '-');
        cell(row, 'players', m.players);
        cell(row, 'conns', v?.stats ? v.stats.connections : '-', v?.stats ? `${v.stats.websockets} WebSockets incl. dashboards` : '');
        cell(row, 'seen', m.self ? 'serves this page\u2019s feed'
            : m.seen_ms_ago == null ? 'never' : `${ago(m.seen_ms_ago)} ago`);
        row.querySelector('button.transfer').disabled = isLeader || m.up === false;
    }
    sample(s, leaderId, leaderView, now);
}

/* ---- charts ---------------------------------------------------------- */

function sample(s, leaderId, leaderView, now) {
    const cur = {
        t: now, commit: s.cluster.commit_index, leader: leaderId,
        count: leaderView?.stats?.commit_latency_count, sum: leaderView?.stats?.commit_latency_sum_ms,
    };
    if (!sampleAt) {
        sampleAt = cur;
        return;
    }
    if (now - sampleAt.t < 1000) return;
    const dt = (now - sampleAt.t) / 1000;
    A.rate.push({ t: now, v: Math.max(0, (cur.commit - sampleAt.commit) / dt) });
    let lat = null;
    if (cur.leader === sampleAt.leader && cur.count != null && sampleAt.count != null && cur.count > sampleAt.count) {
        lat = (cur.sum - sampleAt.sum) / (cur.count - sampleAt.count);
    }
    A.latency.push({ t: now, v: lat });
    for (const arr of [A.rate, A.latency]) while (arr.length && arr[0].t < now - HISTORY_S * 1000) arr.shift();
    sampleAt = cur;
    $('#rate-now').textContent = A.rate.at(-1).v.toFixed(1);
    $('#latency-now').textContent = lat == null ? '-' : lat.toFixed(2);
    chart($('#rate-chart'), A.rate, now, '#2f6f2f');
    chart($('#latency-chart'), A.latency, now, '#2060e0');
}

function chart(canvas, points, now, colour) {
    const ctx = canvas.getContext('2d');
    const w = canvas.width;
    const h = canvas.height;
    const pad = { l: 44, r: 6, t: 8, b: 18 };
    ctx.clearRect(0, 0, w, h);
    const vals = points.map((p) => p.v).filter((v) => v != null);
    const max = Math.max(1, ...vals) * 1.15;
    const x = (t) => pad.l + (w - pad.l - pad.r) * (1 - (now - t) / (HISTORY_S * 1000));
    const y = (v) => h - pad.b - (h - pad.t - pad.b) * (v / max);
    ctx.strokeStyle = '#ddd';
    ctx.fillStyle = '#666';
    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;
    for (const f of [0, 0.5, 1]) {
        const v = (max / 1.15) * f;
        ctx.beginPath();
        ctx.moveTo(pad.l, y(v) + 0.5);
        ctx.lineTo(w - pad.r, y(v) + 0.5);
        ctx.stroke();
        ctx.fillText(v >= 100 ? v.toFixed(0) : v.toFixed(1), 2, y(v) + 4);
    }
    ctx.fillText(`-${HISTORY_S / 60} min`, pad.l, h - 4);
    ctx.fillText('now', w - pad.r - 22, h - 4);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let drawing = false;
    for (const p of points) {
        if (p.v == null) {
            drawing = false;
            continue;
        }
        if (drawing) ctx.lineTo(x(p.t), y(p.v));
        else ctx.moveTo(x(p.t), y(p.v));
        drawing = true;
    }
    ctx.stroke();
}

/* ---- actions --------------------------------------------------------- */

// Sent through the feed's node ({"t":"post"}), which POSTs to itself and
// follows a 307 to the leader: the page's own origin may be down, and a
// page cannot send the token to another origin (the leader's) without CORS.
let nextRequest = 1;
const requests = new Map(); // id -> label

function action(what, path, body) {
    const out = $('#action-result');
    const label = `${what}${body.id == null ? ' to any node' : ` ${what === 'drain' ? 'node' : 'to node'} ${body.id}`}`;
    out.dataset.ok = '';
    out.dataset.status = '';
    if (!ws || ws.readyState !== WebSocket.OPEN) {
        out.dataset.ok = 'false';
        out.textContent = `${label}: not connected to any node; try again once the page is connected`;
        return;
    }
    const id = nextRequest++;
    requests.set(id, { label, path });
    out.textContent = `${label}: sent through node ${A.via}…`;
    ws.send(JSON.stringify({ t: 'post', id, path, body, token: token() }));
}

function onResult(m) {
    const req = requests.get(m.id);
    requests.delete(m.id);
    const out = $('#action-result');
    const label = req ? req.label : `request ${m.id}`;
    let text;
    if (!m.status) {
        text = `${label}: no answer: ${m.error}`;
    } else {
        let detail = m.body && typeof m.body === 'object' ? (m.body.error ?? JSON.stringify(m.body)) : String(m.body ?? '').trim();
        if (m.status === 404 || m.status === 405) detail += ` (node at ${m.node} does not implement POST ${req?.path} yet)`;
        text = `${label}: HTTP ${m.status}${detail ? `: ${detail}` : ''} (answered by ${m.node})`;
    }
    out.dataset.ok = String(m.status >= 200 && m.status < 300);
    out.dataset.status = String(m.status);
    out.textContent = text;
    note(out.dataset.ok === 'true' ? 'leader' : 'down', text);
}

$('#transfer-any').onclick = () => action('transfer', '/api/cluster/transfer', { id: null });

/* ---- the token ------------------------------------------------------- */

$('#token-form').onsubmit = (ev) => {
    ev.preventDefault();
    const t = $('#token').value.trim();
    if (!t) return;
    sessionStorage.setItem(TOKEN_KEY, t);
    $('#token').value = '';
    A.tokenOk = null;
    renderToken('saved for this tab');
    if (ws && ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify({ t: 'auth', token: t }));
    } else if (A.state === 'stopped') {
        A.attempt = 0;
        setState('connecting');
        connect();
    }
};

$('#token-forget').onclick = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    A.tokenOk = null;
    renderToken('forgotten');
};

renderToken(token() ? 'saved for this tab' : 'none');
connect();
