// Warren browser client (docs/protocol.md). Plain JS, no build step.
//
// One WebSocket at a time. When it closes (or the node stays degraded for
// DEGRADED_FAILOVER_MS) the client reconnects with exponential backoff and
// full jitter, rotating through a server list (this page's origin first,
// then every node's public HTTP address from /api/cluster), and resumes its
// player with the token kept in sessionStorage. Moves typed meanwhile are
// queued (bounded) and sent after the resume's welcome; any move that cannot
// be sent or was lost is counted in "dropped", never silently discarded.
//
// window.warren exposes the client state for tests and debugging.
'use strict';

(() => {
  const BASE_MS = 100;                // backoff base
  const CAP_MS = 5000;                // backoff cap
  const DEGRADED_FAILOVER_MS = 3000;  // continuous degraded time before switching node
  const OPEN_TIMEOUT_MS = 3000;       // a socket that does not open in time has failed
  const WELCOME_TIMEOUT_MS = 7000;    // resume unanswered (server queue timeout is 5 s)
  const QUEUE_MAX = 20;               // moves kept while disconnected
  const REPEAT_MS = 50;               // a held key moves at most 20 times a second
  const PING_MS = 2000;
  const POLL_MS = 2000;
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
  const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const originWs = `${wsScheme}//${location.host}/ws`;

  // Everything a test may want to read.
  const w = (window.warren = {
    state: 'connecting',  // connecting | connected | reconnecting | degraded
    me: null,             // {id, name, x, y, seq}
    players: new Map(),   // id -> {id, name, x, y, seq, node, connected}
    node: null, leader: null, servers: [originWs], server: null,
    width: 0, height: 0, view: { cell: 0 },
    degraded: false, attempt: 0, nextTryAt: 0, rtt: null,
    pending: 0, dropped: 0, leftIds: [], stateLog: [], log: [],
  });

  let ws = null;            // the current socket (null while waiting to reconnect)
  let fullListNext = false; // the next update is the full list after a welcome
  let serverIdx = 0;        // index into w.servers of the current/next server
  let resuming = false;     // resume sent, welcome not yet received
  let joinName = null;      // join requested by the user, not yet welcomed
  let seq = 0;              // last move seq used
  let inflight = [];        // seqs sent and not yet acknowledged
  const queue = [];         // directions typed while not connected
  let lastMoveAt = 0;
  let bucket = { tokens: 30, at: performance.now() };  // client-side send limiter
  let pingId = 0;
  const pingSent = new Map();
  let timers = {};          // reconnect, countdown, open, welcome, degraded, ping, poll

  const token = {
    get: () => sessionStorage.getItem('warren.token'),
    set: (t) => (t ? sessionStorage.setItem('warren.token', t) : sessionStorage.removeItem('warren.token')),
  };

  function log(...args) {
    const line = args.join(' ');
    w.log.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
    if (w.log.length > 300) w.log.shift();
    console.log('[warren]', line);
  }

  function clearTimer(name) {
    clearTimeout(timers[name]);
    clearInterval(timers[name]);
    delete timers[name];
  }

  /* ---- connection ------------------------------------------------------ */

  function isOpen() {
    return ws !== null && ws.readyState === WebSocket.OPEN;
  }

  // The status follows from the socket: "connected" only once a resume has
  // been answered, so #node is never stale when a test sees "connected".
  function refreshState() {
    let s;
    if (!isOpen() || resuming) s = w.attempt > 0 ? 'reconnecting' : 'connecting';
    else s = w.degraded ? 'degraded' : 'connected';
    if (s !== w.state) {
      w.state = s;
      w.stateLog.push({ state: s, t: Date.now(), node: w.node });
      if (w.stateLog.length > 200) w.stateLog.shift();
      log('state', s);
    }
    render();
  }

  function connect() {
    clearTimer('reconnect');
    clearTimer('countdown');
    const url = w.servers[serverIdx % w.servers.length];
    w.server = url;
    log('connecting to', url, 'attempt', w.attempt);
    const sock = new WebSocket(url);
    ws = sock;
    timers.open = setTimeout(() => sock === ws && abandon('open timeout'), OPEN_TIMEOUT_MS);
    sock.onopen = () => sock === ws && onOpen();
    sock.onmessage = (ev) => sock === ws && onMessage(ev.data);
    sock.onclose = (ev) => {
      if (sock !== ws) return;
      ws = null;
      onClosed(`closed ${ev.code} ${ev.reason}`);
    };
    refreshState();
  }

  function onOpen() {
    clearTimer('open');
    log('open', w.server);
    timers.ping = setInterval(ping, PING_MS);
    ping();
    const t = token.get();
    if (t) {
      resuming = true;
      send({ t: 'resume', token: t });
      timers.welcome = setTimeout(() => abandon('no welcome'), WELCOME_TIMEOUT_MS);
    } else {
      w.attempt = 0;
      if (w.me) resumeFailed('no token to resume with');  // server gave none
      else if (joinName) send({ t: 'join', name: joinName });
      else showJoin(true);
    }
    refreshState();
  }

  // Give up on the current socket at once (without waiting for a close
  // handshake from a node that may be dead) and schedule the next try.
  function abandon(reason) {
    const sock = ws;
    if (!sock) return;
    ws = null;
    sock.onopen = sock.onmessage = sock.onclose = null;
    try {
      sock.close(4000, reason);
    } catch (e) { /* already closing */ }
    onClosed(reason);
  }

  function onClosed(reason) {
    log('lost connection:', reason);
    for (const t of ['open', 'welcome', 'degraded', 'ping', 'poll']) clearTimer(t);
    resuming = false;
    w.degraded = false;
    w.node = null;
    pingSent.clear();
    // Moves not yet sent stay in `queue`; moves in flight are settled by the
    // next welcome (its seq says which of them were applied).
    scheduleReconnect();
  }

  function scheduleReconnect() {
    w.attempt++;
    serverIdx = (serverIdx + 1) % w.servers.length;
    // Full jitter: uniform in [0, min(cap, base * 2^attempt)).
    const delay = Math.random() * Math.min(CAP_MS, BASE_MS * 2 ** w.attempt);
    w.nextTryAt = performance.now() + delay;
    timers.reconnect = setTimeout(connect, delay);
    timers.countdown = setInterval(render, 100);
    refreshState();
  }

  function send(obj) {
    if (isOpen()) ws.send(JSON.stringify(obj));
  }

  function ping() {
    pingId++;
    pingSent.set(pingId, performance.now());
    send({ t: 'ping', id: pingId });
  }

  // Poll /api/cluster (through whatever serves this page) for the leader and
  // the nodes' public addresses, which become failover targets.
  async function poll() {
    try {
      const r = await fetch('/api/cluster', { cache: 'no-store' });
      if (!r.ok) return;
      const c = await r.json();
      if (isOpen() && !w.degraded) w.leader = c.leader ?? null;
      const list = [originWs];
      for (const n of c.nodes || []) {
        const u = n.http ? `${wsScheme}//${n.http}/ws` : null;
        if (u && !list.includes(u)) list.push(u);
      }
      // Keep pointing at the server we are on when the list changes.
      const cur = w.servers[serverIdx];
      w.servers = list;
      serverIdx = Math.max(0, list.indexOf(cur));
      render();
    } catch (e) { /* the next poll will try again */ }
  }

  /* ---- messages -------------------------------------------------------- */

  function onMessage(data) {
    let m;
    try {
      m = JSON.parse(data);
    } catch (e) {
      return log('bad frame', data);
    }
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
        w.players.delete(m.id);
        w.leftIds.push(m.id);
        if (w.me && m.id === w.me.id) resumeFailed('you left the arena');
        return render();
      case 'status':
        return onStatus(m);
      case 'pong': {
        const t0 = pingSent.get(m.id);
        if (t0 !== undefined) w.rtt = Math.round(performance.now() - t0);
        pingSent.delete(m.id);
        return render();
      }
      case 'error': return onError(m);
      default: log('unknown message', data);
    }
  }

  function onWelcome(m) {
    clearTimer('welcome');
    const wasResume = resuming;
    resuming = false;
    joinName = null;
    w.me = { id: m.id, name: m.name, x: m.x, y: m.y, seq: m.seq };
    w.node = m.node;
    if (m.leader != null) w.leader = m.leader;
    w.width = m.width;
    w.height = m.height;
    // Keep showing the players we knew until the full list that follows
    // the welcome arrives (protocol.md), so nobody blinks out meanwhile.
    fullListNext = true;
    upsert({ id: m.id, name: m.name, x: m.x, y: m.y, seq: m.seq, node: m.node, connected: true });
    if (m.token) token.set(m.token);
    sessionStorage.setItem('warren.name', m.name);
    if (wasResume) {
      // Moves sent on the old connection and not applied (seq above the
      // welcome's) were lost with it: report them.
      const lost = inflight.filter((s) => s > m.seq).length;
      if (lost) drop(lost, 'lost in the disconnect');
    }
    inflight = [];
    seq = Math.max(seq, m.seq);  // fresh seqs above the welcome's
    w.attempt = 0;
    log('welcome: player', m.id, 'on node', m.node, wasResume ? '(resumed)' : '(joined)', 'seq', m.seq);
    showJoin(false);
    timers.poll = setInterval(poll, POLL_MS);
    poll();
    while (queue.length) sendMove(queue.shift());
    resize();
    refreshState();
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

  function onStatus(m) {
    w.leader = m.leader ?? null;  // null: no leader known (degraded)
    if (m.node != null) w.node = m.node;
    w.degraded = !!m.degraded;
    if (w.degraded && !timers.degraded) {
      timers.degraded = setTimeout(() => abandon('degraded too long'), DEGRADED_FAILOVER_MS);
    } else if (!w.degraded) {
      clearTimer('degraded');
    }
    refreshState();
  }

  function onError(m) {
    log('error', m.code, m.msg);
    if (resuming) {
      // unavailable: this node cannot serve us now; try another one.
      if (m.code === 'unavailable') return abandon('resume unavailable');
      return resumeFailed(`could not resume (${m.code})`);
    }
    if (joinName) {
      if (m.code === 'unavailable') return abandon('join unavailable');  // joins again on the next node
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
    clearTimer('welcome');
    resuming = false;
    token.set(null);
    drop(queue.length + inflight.length, why);
    queue.length = 0;
    inflight = [];
    w.me = null;
    w.attempt = 0;
    showJoin(true);
    refreshState();
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
    if (isOpen() && !resuming) {
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
    send({ t: 'join', name });  // if not open, onOpen sends it
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
    $('status').dataset.state = w.state;
    $('state-text').textContent = w.state;
    $('node').textContent = w.node ?? '-';
    $('leader').textContent = w.leader ?? '-';
    $('rtt').textContent = w.rtt ?? '-';
    $('pending').textContent = w.pending;
    $('dropped').textContent = w.dropped;
    $('degraded-flag').hidden = !w.degraded;
    let att = '';
    if (w.state === 'reconnecting') {
      const left = Math.max(0, w.nextTryAt - performance.now()) / 1000;
      att = ws ? `reconnecting: attempt ${w.attempt}, trying ${w.server}`
               : `reconnecting: attempt ${w.attempt}, next try in ${left.toFixed(1)} s`;
    }
    $('attempt').textContent = att;
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

  if (!token.get()) showJoin(true);
  connect();
})();
