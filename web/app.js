// Warren arena client (docs/protocol.md). An ES module, no build step.
//
// The connection (one WebSocket at a time, failover with exponential
// backoff and full jitter across this page's origin and every node from
// /api/cluster, resume with the token kept in sessionStorage, pings, the
// degraded failover) is lib/conn.js, shared with the MUD terminal; the
// status bar is lib/status.js. This file is the arena: join, moves and the
// canvas. Moves typed while not connected are queued (bounded) and sent
// after the resume's welcome; any move that cannot be sent or was lost is
// counted in "dropped", never silently discarded.
//
// Player updates come as binary frames (we ask with "enc":"bin" in the
// join and the resume; docs/protocol.md, "Binary updates"): onBinary
// decodes them into the same upserts as the JSON updates.
//
// window.warren exposes the client state for tests and debugging.
import { Conn } from './lib/conn.js';
import { renderStatus } from './lib/status.js';

const QUEUE_MAX = 20;               // moves kept while disconnected
const REPEAT_MS = 50;               // a held key moves at most 20 times a second
const NAME_RE = /^[A-Za-z0-9_-]{1,16}$/;
const KEYS = {
  w: 'up', arrowup: 'up', s: 'down', arrowdown: 'down',
  a: 'left', arrowleft: 'left', d: 'right', arrowright: 'right',
};
const ME_COLOR = '#e02020';
const OTHER_COLOR = '#2060e0';

const $ = (id) => document.getElementById(id);
const canvas = $('canvas');
const ctx = canvas.getContext('2d');

// Everything a test may want to read. The connection's fields (state, node,
// leader, servers, server, degraded, attempt, nextTryAt, rtt, stateLog, log)
// are kept here by the Conn.
const w = (window.warren = {
  me: null,             // {id, name, x, y, seq}
  players: new Map(),   // id -> {id, name, x, y, seq, node, connected}
  width: 0, height: 0, view: { cell: 0 },
  pending: 0, dropped: 0, leftIds: [],
  binaryFrames: 0,      // binary updates decoded (0: the server sent JSON)
});
const ENC = { enc: 'bin' };  // in join and resume: binary updates, please

let fullListNext = false; // the next update is the full list after a welcome
let joinName = null;      // join requested by the user, not yet welcomed
let seq = 0;              // last move seq used
let inflight = [];        // seqs sent and not yet acknowledged
const queue = [];         // directions typed while not connected
let lastMoveAt = 0;
const bucket = { tokens: 30, at: performance.now() };  // client-side send limiter

const conn = new Conn({
  path: '/ws',
  state: w,
  tokenKey: 'warren.token',
  tag: 'warren',
  onOpen,
  onMessage,
  onBinary,
  resumeFields: ENC,
  onStatus: render,
});
const log = (...a) => conn.log(...a);
const send = (obj) => conn.send(obj);

/* ---- connection ------------------------------------------------------ */

// The socket is open; if a token was held, the Conn sent a resume.
function onOpen(resuming) {
  if (resuming) return;
  if (w.me) resumeFailed('no token to resume with');  // server gave none
  else if (joinName) send({ ...ENC, t: 'join', name: joinName });
  else showJoin(true);
}

/* ---- messages -------------------------------------------------------- */

function onMessage(m) {
  switch (m.t) {
    case 'welcome': return onWelcome(m);
    case 'update':
      if (fullListNext) {
        // The first update after a welcome lists every player: it
        // replaces the view kept from before the (re)connection.
        fullListNext = false;
        w.players = new Map();
      }
      for (const p of m.players || []) upsert(p);
      return render();
    case 'left':
      onLeft(m.id);
      return render();
    case 'status':
    case 'pong':
      return;  // handled by the Conn
    case 'error': return onError(m);
    default: log('unknown message', JSON.stringify(m));
  }
}

function onLeft(id) {
  w.players.delete(id);
  w.leftIds.push(id);
  if (w.me && id === w.me.id) resumeFailed('you left the arena');
}

// A binary update: u8 kind (1) | u8 flags (1: the full list) | u16 0 |
// u32 n_left | u32 n_full | u32 n_moved, then n_left u32 ids, n_full
// records {u32 id, u16 x, u16 y, u32 seq, u32 node, u8 connected,
// u8 name_len, name}, n_moved records {u32 id, u16 x, u16 y, u32 seq};
// little-endian. Anything that does not add up is logged and dropped.
const ascii = new TextDecoder('ascii');
function onBinary(buf) {
  const v = new DataView(buf);
  const len = buf.byteLength;
  if (len < 16 || v.getUint8(0) !== 1) return log('unknown binary frame,', len, 'bytes');
  const full = (v.getUint8(1) & 1) !== 0;
  const nLeft = v.getUint32(4, true), nFull = v.getUint32(8, true), nMoved = v.getUint32(12, true);
  const left = [], players = [];
  let o = 16;
  if (o + nLeft * 4 > len) return log('bad binary frame (left)');
  for (let i = 0; i < nLeft; i++, o += 4) left.push(v.getUint32(o, true));
  for (let i = 0; i < nFull; i++) {
    if (o + 18 > len) return log('bad binary frame (full)');
    const nl = v.getUint8(o + 17);
    if (o + 18 + nl > len) return log('bad binary frame (name)');
    players.push({
      id: v.getUint32(o, true), x: v.getUint16(o + 4, true), y: v.getUint16(o + 6, true),
      seq: v.getUint32(o + 8, true), node: v.getUint32(o + 12, true),
      connected: v.getUint8(o + 16) !== 0, name: ascii.decode(new Uint8Array(buf, o + 18, nl)),
    });
    o += 18 + nl;
  }
  if (o + nMoved * 12 !== len) return log('bad binary frame (moved)');
  for (let i = 0; i < nMoved; i++, o += 12)
    players.push({ id: v.getUint32(o, true), x: v.getUint16(o + 4, true), y: v.getUint16(o + 6, true), seq: v.getUint32(o + 8, true) });
  w.binaryFrames++;
  if (full) {
    // The list after a welcome: it replaces the view kept until now.
    fullListNext = false;
    w.players = new Map();
  }
  for (const id of left) onLeft(id);
  for (const p of players) upsert(p);
  render();
}

function onWelcome(m) {
  joinName = null;
  w.me = { id: m.id, name: m.name, x: m.x, y: m.y, seq: m.seq };
  w.width = m.width;
  w.height = m.height;
  // Keep showing the players we knew until the full list that follows
  // the welcome arrives (protocol.md), so nobody blinks out meanwhile.
  fullListNext = true;
  upsert({ id: m.id, name: m.name, x: m.x, y: m.y, seq: m.seq, node: m.node, connected: true });
  sessionStorage.setItem('warren.name', m.name);
  // Keeps the token, resets the backoff, starts polling /api/cluster.
  const wasResume = conn.welcome({ token: m.token, node: m.node, leader: m.leader });
  if (wasResume) {
    // Moves sent on the old connection and not applied (seq above the
    // welcome's) were lost with it: report them.
    const lost = inflight.filter((s) => s > m.seq).length;
    if (lost) drop(lost, 'lost in the disconnect');
  }
  inflight = [];
  seq = Math.max(seq, m.seq);  // fresh seqs above the welcome's
  log('welcome: player', m.id, 'on node', m.node, wasResume ? '(resumed)' : '(joined)', 'seq', m.seq);
  showJoin(false);
  while (queue.length) sendMove(queue.shift());
  resize();
  conn.refresh();
}

function upsert(p) {
  const q = Object.assign({}, w.players.get(p.id), p);
  if (q.connected === undefined) q.connected = true;
  w.players.set(p.id, q);
  if (w.me && p.id === w.me.id) {
    Object.assign(w.me, { x: p.x, y: p.y, seq: p.seq });
    inflight = inflight.filter((s) => s > p.seq);  // acknowledged
  }
}

function onError(m) {
  log('error', m.code, m.msg);
  if (conn.resuming) {
    // unavailable: this node cannot serve us now; try another one.
    if (m.code === 'unavailable') return conn.abandon('resume unavailable');
    return resumeFailed(`could not resume (${m.code})`);
  }
  if (joinName) {
    if (m.code === 'unavailable') return conn.abandon('join unavailable');  // joins again on the next node
    joinName = null;
    $('join-error').textContent = `${m.code}: ${m.msg}`;
    $('join-btn').disabled = false;
    return;
  }
  // A move that failed was not applied. Errors carry no seq; moves are
  // answered in order, so it is the oldest one in flight.
  if (m.code === 'bad_seq' || m.code === 'unavailable') {
    inflight.shift();
    drop(1, `move refused (${m.code})`);
  } else {
    $('message').textContent = `error ${m.code}: ${m.msg}`;
  }
}

// The player is gone (bad token, or removed after the grace period):
// everything not applied is dropped and the user may join again.
function resumeFailed(why) {
  drop(queue.length + inflight.length, why);
  queue.length = 0;
  inflight = [];
  w.me = null;
  showJoin(true);
  conn.resumeFailed();  // forgets the token; refreshes the status
}

function drop(n, why) {
  if (n <= 0) return;
  w.dropped += n;
  $('message').textContent = `${n} move(s) dropped: ${why}`;
  log('dropped', n, why);
  render();
}

/* ---- input ----------------------------------------------------------- */

function sendMove(dir) {
  seq++;
  inflight.push(seq);
  send({ t: 'move', dir, seq });
}

// Token bucket, 30 moves/s: together with pings this stays well under the
// server's 60 messages/s even if keys are mashed.
function allowSend() {
  const now = performance.now();
  bucket.tokens = Math.min(30, bucket.tokens + ((now - bucket.at) * 30) / 1000);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens--;
  return true;
}

function move(dir) {
  if (!w.me) return;  // not joined (yet)
  if (conn.isOpen() && !conn.resuming) {
    if (allowSend()) sendMove(dir);
    else drop(1, 'too fast');
  } else if (queue.length < QUEUE_MAX) {
    queue.push(dir);
  } else {
    drop(1, 'offline queue full');
  }
  render();
}

document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.ctrlKey || e.altKey || e.metaKey) return;
  const dir = KEYS[e.key.toLowerCase()];
  if (!dir) return;
  e.preventDefault();
  const now = performance.now();
  if (e.repeat && now - lastMoveAt < REPEAT_MS) return;
  lastMoveAt = now;
  move(dir);
});

function showJoin(on) {
  $('join').hidden = !on;
  $('join-btn').disabled = false;
  if (on) {
    $('name').value = $('name').value || sessionStorage.getItem('warren.name') || '';
    $('name').focus();
  }
}

$('join').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('name').value.trim();
  if (!NAME_RE.test(name)) {
    $('join-error').textContent = 'name: 1-16 characters of A-Z a-z 0-9 _ -';
    return;
  }
  $('join-error').textContent = '';
  $('join-btn').disabled = true;
  joinName = name;
  sessionStorage.setItem('warren.name', name);
  send({ ...ENC, t: 'join', name });  // if not open, onOpen sends it
});

/* ---- drawing --------------------------------------------------------- */

function resize() {
  if (!w.width || !w.height) return;
  const stage = $('stage');
  const cell = Math.max(4, Math.floor(Math.min(stage.clientWidth / w.width, stage.clientHeight / w.height)));
  w.view.cell = cell;
  canvas.width = cell * w.width;
  canvas.height = cell * w.height;
  render();
}
window.addEventListener('resize', resize);

function render() {
  w.pending = inflight.length + queue.length;
  renderStatus(conn);
  $('pending').textContent = w.pending;
  $('dropped').textContent = w.dropped;
  draw();
}

function draw() {
  const c = w.view.cell;
  if (!c) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = '#e4e4e4';
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let x = 0; x <= w.width; x++) {
    ctx.moveTo(x * c + 0.5, 0);
    ctx.lineTo(x * c + 0.5, canvas.height);
  }
  for (let y = 0; y <= w.height; y++) {
    ctx.moveTo(0, y * c + 0.5);
    ctx.lineTo(canvas.width, y * c + 0.5);
  }
  ctx.stroke();
  const list = [...w.players.values()];
  const color = (p) => (w.me && p.id === w.me.id ? ME_COLOR : OTHER_COLOR);
  // Names first, squares on top: a label never hides a player's cell.
  ctx.font = `${Math.max(9, Math.round(c * 0.6))}px sans-serif`;
  ctx.textAlign = 'center';
  for (const p of list) {
    ctx.globalAlpha = p.connected ? 1 : 0.4;
    ctx.fillStyle = '#222';
    ctx.textBaseline = p.y === 0 ? 'top' : 'bottom';
    // Keep labels of players at the side walls inside the canvas.
    const half = ctx.measureText(p.name).width / 2;
    const tx = Math.min(Math.max(p.x * c + c / 2, half), canvas.width - half);
    ctx.fillText(p.name, tx, p.y === 0 ? c + 1 : p.y * c - 1);
  }
  for (const p of list) {
    ctx.fillStyle = ctx.strokeStyle = color(p);
    if (p.connected) {
      ctx.globalAlpha = 1;
      ctx.fillRect(p.x * c + 1, p.y * c + 1, c - 2, c - 2);
    } else {
      // Disconnected (within the grace period): faded and outlined.
      ctx.globalAlpha = 0.3;
      ctx.fillRect(p.x * c + 1, p.y * c + 1, c - 2, c - 2);
      ctx.globalAlpha = 1;
      ctx.lineWidth = 2;
      ctx.setLineDash([3, 2]);
      ctx.strokeRect(p.x * c + 2, p.y * c + 2, c - 4, c - 4);
      ctx.setLineDash([]);
    }
  }
  ctx.globalAlpha = 1;
}

/* ---- start ----------------------------------------------------------- */

if (!conn.token.get()) showJoin(true);
conn.connect();
