// The status bar shared by the arena and the MUD terminal: it shows a
// Conn's state (lib/conn.js) in elements with these ids (any may be absent):
//
//   #status         data-state = connecting | connected | reconnecting | degraded
//   #state-text     the same, as text
//   #node #leader   ids, "-" when unknown
//   #rtt            last ping round trip in ms, "-" before the first pong
//   #attempt        "reconnecting: attempt N, next try in X.X s" while waiting,
//                   "reconnecting: attempt N, trying URL" while a socket opens
//   #degraded-flag  shown while the node reports degraded

/** The reconnect line (empty unless reconnecting). */
export function attemptText(conn) {
    const s = conn.s;
    if (s.state !== 'reconnecting') return '';
    const left = Math.max(0, s.nextTryAt - performance.now()) / 1000;
    return conn.trying() ? `reconnecting: attempt ${s.attempt}, trying ${s.server}`
        : `reconnecting: attempt ${s.attempt}, next try in ${left.toFixed(1)} s`;
}

export function renderStatus(conn, root = document) {
    const s = conn.s;
    const el = (id) => root.querySelector(`#${id}`);
    const text = (id, v) => {
        const e = el(id);
        if (e) e.textContent = v;
    };
    const bar = el('status');
    if (bar) bar.dataset.state = s.state;
    text('state-text', s.state);
    text('node', s.node ?? '-');
    text('leader', s.leader ?? '-');
    text('rtt', s.rtt ?? '-');
    text('attempt', attemptText(conn));
    const flag = el('degraded-flag');
    if (flag) flag.hidden = !s.degraded;
}
