// Warren MUD in the browser (served at /play): an xterm.js terminal on the
// MUD's WebSocket, /mud/ws (docs/protocol.md, "MUD over WebSocket"). An ES
// module, no build step; xterm.js is copied into web/vendor/ by `make`.
//
// The connection (failover across this page's origin and every node from
// /api/cluster with full-jitter backoff, resume with the token kept in
// sessionStorage, pings, degraded failover) is lib/conn.js, shared with the
// arena; the status bar is lib/status.js. After a drop the character is
// resumed on whichever node answers, without logging in again.
//
// window.__mud exposes the client for tests: lines(), send(text), status(),
// gmcp, connected(), node().
import { Conn } from './lib/conn.js';
import { renderStatus } from './lib/status.js';

const TOKEN_KEY = 'warren.mud.token';
const NAME_KEY = 'warren.mud.name';
const HISTORY_MAX = 200;
const QUEUE_MAX = 20;              // in-game lines typed while reconnecting
const TRANSCRIPT_MAX = 1 << 20;    // characters of plain text kept for lines()
const CHANNEL_MAX = 200;           // channel messages kept in the side panel
const DIRS = {
    n: 'north', s: 'south', e: 'east', w: 'west', u: 'up', d: 'down',
    ne: 'northeast', nw: 'northwest', se: 'southeast', sw: 'southwest',
};
const DIM = '\x1b[2m', RED = '\x1b[31m', YELLOW = '\x1b[33m', RESET = '\x1b[0m';

const $ = (id) => document.getElementById(id);
const input = $('line');

// Plain text of everything written to the terminal, ANSI stripped.
let transcript = '';
let hidden = false;      // the server asked not to echo (password)
let inGame = false;      // a welcome arrived on this connection
let charName = sessionStorage.getItem(NAME_KEY);
let held = [];           // text/prompt frames received while resuming
let afterPrompt = false; // the last output was a prompt the user has not answered
const queue = [];        // in-game lines typed while not connected
const history = [];
let histPos = 0;         // history.length: editing a new line
let draft = '';
let term = null;
let fit = null;
const gmcp = {};

const conn = new Conn({
    path: '/mud/ws',
    tokenKey: TOKEN_KEY,
    tag: 'mud',
    onOpen,
    onMessage,
    onClose,
    onStatus: () => renderStatus(conn),
});
const log = (...a) => conn.log(...a);

/* ---- terminal ---------------------------------------------------------- */

// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])|\r/g;

function write(data) {
    afterPrompt = false;
    transcript += data.replace(ANSI_RE, '');
    if (transcript.length > TRANSCRIPT_MAX) transcript = transcript.slice(-TRANSCRIPT_MAX / 2);
    // Server text comes with bare \n; a terminal needs \r\n.
    term.write(data.replace(/\r?\n/g, '\r\n'));
}

// A line of the client's own (notices, echoes): on a line of its own.
function notice(text, color = YELLOW) {
    const atBol = transcript === '' || transcript.endsWith('\n');
    write(`${atBol ? '' : '\n'}${color}${text}${RESET}\n`);
}

// Without xterm.js (web/vendor/ not built): text in a <pre>, no colours.
class PlainTerminal {
    constructor() { this.cols = 80; }
    open(el) {
        this.el = el;
        el.classList.add('plain');
    }
    write(data) {
        this.el.textContent += data.replace(ANSI_RE, '');
        this.el.scrollTop = this.el.scrollHeight;
    }
    onResize() {}
    loadAddon() {}
}

async function loadXterm() {
    try {
        // The ES modules the package ships; a server must send .mjs as
        // JavaScript for a module script to load.
        const [{ Terminal }, { FitAddon }] = await Promise.all([
            import('/vendor/xterm.mjs'), import('/vendor/addon-fit.mjs')]);
        log('xterm.js loaded as ES module');
        return { Terminal, FitAddon, how: 'module' };
    } catch (e) {
        log('xterm.mjs did not load (', e.message, '): trying the classic script');
    }
    try {
        await classicScript('/vendor/xterm.js');
        await classicScript('/vendor/addon-fit.js');
        log('xterm.js loaded as classic script');
        return { Terminal: window.Terminal, FitAddon: window.FitAddon.FitAddon, how: 'script' };
    } catch (e) {
        log('xterm.js missing (run make web-vendor):', e.message);
        return { Terminal: PlainTerminal, FitAddon: null, how: 'plain' };
    }
}

function classicScript(src) {
    return new Promise((resolve, reject) => {
        const s = document.createElement('script');
        s.src = src;
        s.onload = resolve;
        s.onerror = () => reject(new Error(`cannot load ${src}`));
        document.head.append(s);
    });
}

function sendSize() {
    if (conn.isOpen() && !conn.resuming) conn.send({ t: 'size', width: term.cols });
}

// A text or prompt frame. Text that arrives while a prompt waits for an
// answer (someone speaks, an NPC acts) starts on a line of its own instead
// of after the prompt.
function output(m) {
    const data = String(m.data ?? '');
    if (data === '') return;
    if (afterPrompt && m.t === 'text' && !data.startsWith('\n')) write('\n');
    write(data);
    afterPrompt = m.t === 'prompt' && !data.endsWith('\n');
}

/* ---- connection -------------------------------------------------------- */

function onOpen(resuming) {
    inGame = false;
    held = [];
    setHidden(false);
    if (!resuming) sendSize();
}

// A normal closure (1000) ends the session on purpose (quit, or the
// character was taken over by another login): no reconnect, no resume.
function onClose(reason, code) {
    const wasInGame = inGame;
    inGame = false;
    held = [];
    setHidden(false);
    if (code === 1000) {
        conn.token.set(null);
        // The character left (quit, taken over): the side panel no longer
        // names it, and the next connection starts at the login.
        sessionStorage.removeItem(NAME_KEY);
        charName = null;
        renderChar();
        notice('-- disconnected; press Enter to connect again --');
        return false;
    }
    if (wasInGame) notice('-- connection lost; reconnecting --');
    return true;
}

function onMessage(m) {
    switch (m.t) {
        case 'text':
        case 'prompt':
            // While a resume is pending the node may already have sent the
            // login banner: show it only if the resume fails.
            if (conn.resuming) held.push(m);
            else output(m);
            return;
        case 'echo':
            return setHidden(!m.on);
        case 'gmcp':
            return onGmcp(m.pkg, m.data);
        case 'welcome':
            return onWelcome(m);
        case 'error':
            return onError(m);
        case 'status':
        case 'pong':
            return;  // the Conn keeps them
        default:
            log('unknown message', JSON.stringify(m));
    }
}

function onWelcome(m) {
    held = [];
    inGame = true;
    charName = m.name;
    sessionStorage.setItem(NAME_KEY, m.name);
    const resumed = conn.welcome({ token: m.token, node: m.node });
    log('welcome:', m.name, 'on node', m.node, resumed ? '(resumed)' : '(logged in)');
    if (resumed) notice(`-- reconnected to node ${m.node} --`);
    setHidden(false);
    sendSize();
    while (queue.length && conn.isOpen()) sendLine(queue.shift());
    renderChar();
    conn.refresh();
}

function onError(m) {
    log('error', m.code, m.msg);
    if (conn.resuming) {
        // This node cannot serve us now: try another one.
        if (m.code === 'unavailable') return conn.abandon('resume unavailable');
        // bad_token (expired, or quit elsewhere): back to the login dialogue,
        // whose text the node sent (or will send) after the banner.
        conn.resumeFailed();
        sessionStorage.removeItem(NAME_KEY);
        charName = null;
        queue.length = 0;
        renderChar();
        notice(m.msg || m.code, RED);
        for (const t of held) output(t);
        held = [];
        sendSize();
        return;
    }
    notice(m.msg || m.code, RED);
}

/* ---- GMCP side panel --------------------------------------------------- */

function onGmcp(pkg, data) {
    if (typeof pkg !== 'string') return;
    gmcp[pkg] = data;
    switch (pkg) {
        case 'Char.Vitals': return renderVitals(data);
        case 'Char.Status':
            if (data && data.name) charName = data.name;
            return renderChar();
        case 'Room.Info': return renderRoom(data);
        case 'Room.Players': return renderPlayers(data);
        case 'Comm.Channel.Text': return addChannel(data);
        default: // kept in gmcp[pkg] only
    }
}

function el(tag, props = {}, ...children) {
    const e = document.createElement(tag);
    Object.assign(e, props);
    e.append(...children);
    return e;
}

// Every pair X / maxX becomes a bar (hp/maxhp, mp/maxmp, mv/maxmv, ...);
// other fields are listed as text.
function renderVitals(v) {
    const box = $('vitals');
    box.replaceChildren();
    if (!v || typeof v !== 'object') return;
    for (const [k, val] of Object.entries(v)) {
        if (k.startsWith('max')) continue;
        const max = Number(v[`max${k}`]);
        const cur = Number(val);
        const row = el('div', { className: 'vital' });
        row.dataset.key = k;
        if (Number.isFinite(max) && max > 0 && Number.isFinite(cur)) {
            const pct = Math.max(0, Math.min(100, (cur / max) * 100));
            const fill = el('div', { className: 'fill' });
            fill.style.width = `${pct}%`;
            row.append(el('div', { className: 'label' }, el('span', {}, k), el('span', {}, `${cur} / ${max}`)),
                el('div', { className: 'bar', role: 'meter', ariaValueNow: String(cur), ariaValueMax: String(max),
                    ariaLabel: k }, fill));
        } else {
            row.append(el('div', { className: 'label' }, el('span', {}, k), el('span', {}, String(val))));
        }
        box.append(row);
    }
}

function renderChar() {
    const st = gmcp['Char.Status'];
    let text = charName || 'Not logged in';
    if (st && st.state && charName) text += ` (${st.state})`;
    $('char-name').textContent = text;
}

function renderRoom(r) {
    if (!r || typeof r !== 'object') return;
    $('room-name').textContent = r.name ?? '-';
    $('room-area').textContent = r.area ?? '';
    const exits = $('room-exits');
    exits.replaceChildren();
    for (const dir of Object.keys(r.exits || {})) {
        const word = DIRS[dir] || dir;
        const b = el('button', { type: 'button', textContent: word, title: `go ${word}` });
        b.dataset.dir = dir;
        b.addEventListener('click', () => {
            submit(word);
            input.focus();
        });
        exits.append(el('li', {}, b));
    }
}

function renderPlayers(list) {
    const ul = $('room-players');
    ul.replaceChildren();
    for (const p of Array.isArray(list) ? list : []) {
        if (!p || typeof p.name !== 'string') continue;
        ul.append(el('li', { className: p.kind === 'npc' ? 'npc' : 'player', textContent: p.name }));
    }
}

function addChannel(c) {
    if (!c || typeof c !== 'object') return;
    const ol = $('channel-log');
    const atEnd = ol.scrollTop + ol.clientHeight >= ol.scrollHeight - 4;
    ol.append(el('li', {}, el('span', { className: 'chan', textContent: `[${c.channel ?? '?'}] ` }),
        el('span', { className: 'talker', textContent: `${c.talker ?? '?'}: ` }), String(c.text ?? '')));
    while (ol.children.length > CHANNEL_MAX) ol.firstElementChild.remove();
    if (atEnd) ol.scrollTop = ol.scrollHeight;
}

/* ---- input line -------------------------------------------------------- */

function setHidden(on) {
    hidden = on;
    input.type = on ? 'password' : 'text';
    input.placeholder = on ? 'hidden input' : 'type a command, Enter sends';
}

function sendLine(text) {
    conn.send({ t: 'line', text });
}

// One line typed by the user (or window.__mud.send): echoed dim unless
// hidden, kept in the history unless hidden, sent, or queued while a
// character in the game waits for its resume.
function submit(text) {
    if (!hidden) {
        if (text !== '' && history[history.length - 1] !== text) history.push(text);
        if (history.length > HISTORY_MAX) history.shift();
    }
    histPos = history.length;
    draft = '';
    afterPrompt = false;  // answered, even when hidden (nothing is echoed)
    if (conn.s.state === 'disconnected') {
        notice('-- connecting --');
        conn.connect();
        return;
    }
    if (conn.isOpen() && !conn.resuming) {
        // A hidden line is not echoed at all, not even its newline: as over
        // telnet, the server's next text starts with one.
        if (!hidden) write(`${DIM}${text}${RESET}\n`);
        sendLine(text);
    } else if (!hidden && conn.token.get() && queue.length < QUEUE_MAX) {
        // In the game, waiting to reconnect: sent after the resume.
        write(`${DIM}${text}${RESET}\n`);
        queue.push(text);
    } else {
        // Never queue a login answer: after a reconnect the dialogue starts
        // over and the line would answer another question.
        if (!hidden) write(`${DIM}${text}${RESET}\n`);
        notice('-- not connected: not sent --', RED);
    }
}

$('line-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value;
    input.value = '';
    submit(text);
});

input.addEventListener('keydown', (e) => {
    if (hidden || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
    e.preventDefault();
    if (histPos === history.length) draft = input.value;
    histPos = e.key === 'ArrowUp' ? Math.max(0, histPos - 1) : Math.min(history.length, histPos + 1);
    input.value = histPos === history.length ? draft : history[histPos];
    input.setSelectionRange(input.value.length, input.value.length);
});

/* ---- start ------------------------------------------------------------- */

const xterm = await loadXterm();
term = new xterm.Terminal({
    convertEol: false,      // write() converts \n itself
    disableStdin: true,     // typing goes to the input line
    cursorBlink: false,
    scrollback: 5000,
    fontFamily: 'monospace',
    fontSize: 14,
    theme: { background: '#000000' },
});
if (xterm.FitAddon) {
    fit = new xterm.FitAddon();
    term.loadAddon(fit);
}
term.open($('terminal'));
term.onResize(() => sendSize());
if (fit) {
    const refit = () => {
        try {
            fit.fit();
        } catch (e) { /* not laid out yet */ }
    };
    refit();
    new ResizeObserver(refit).observe($('terminal'));
}
$('terminal').addEventListener('click', () => input.focus());
input.focus();

window.__mud = {
    lines: () => transcript,
    send: (text) => submit(String(text)),
    status: () => ({
        state: conn.s.state, node: conn.s.node, leader: conn.s.leader, rtt: conn.s.rtt,
        attempt: conn.s.attempt, degraded: conn.s.degraded, servers: [...conn.s.servers],
        inGame, name: charName, hidden, xterm: xterm.how, queued: queue.length,
    }),
    gmcp,
    connected: () => conn.isOpen() && !conn.resuming,
    node: () => conn.s.node,
    log: () => conn.s.log.slice(),
    history: () => history.slice(),
    conn,
};

renderChar();
conn.connect();
