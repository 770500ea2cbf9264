// Shared harness of the browser tests: a cluster from `warren cluster up`
// (3 nodes behind nginx), Debian's Chromium through playwright-core, and
// helpers that read the client's state (window.warren) and canvas. Every wait
// is bounded; diagnostics() prints what is needed to understand a failure.
//
// Environment: WARREN_BIN (default build/warren), CHROMIUM (default
// /usr/bin/chromium), WARREN_KEEP=1 keeps the cluster directory.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { test, before, after } from 'node:test';
import { chromium } from 'playwright-core';

export { delay };
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(REPO, 'tests', 'artifacts', 'browser');
const BIN = path.resolve(REPO, process.env.WARREN_BIN || 'build/warren');

// Colours the client uses: own player #e02020, others #2060e0.
export const RED = ([r, g, b]) => r > 180 && g < 90 && b < 90;
export const BLUE = ([r, g, b]) => b > 180 && r < 90;

/** Run `warren ARGS` to completion: {code, stdout, stderr}. */
export function warren(args, timeout = 60000) {
    return new Promise((resolve) => {
        execFile(BIN, args, { timeout, cwd: REPO }, (err, stdout, stderr) => {
            resolve({ code: err ? (err.code ?? err.signal) : 0, stdout: String(stdout), stderr: String(stderr) });
        });
    });
}

export async function mustWarren(args, timeout) {
    const r = await warren(args, timeout);
    if (r.code !== 0) throw new Error(`warren ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r;
}

function bindable(port) {
    return new Promise((resolve) => {
        const s = net.createServer();
        s.once('error', () => resolve(false));
        s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
}

// A port P such that P..P+span-1 are all free right now (cluster up may use
// the given ports as bases for its nodes' ports). The ports are taken below
// the kernel's ephemeral range, not from bind(:0): a node restarted on an
// ephemeral port can find it taken by an outgoing connection, or by a peer's
// connection retries to the dead port that ended in a TCP self-connect.
function ephemeralLow() {
    try {
        return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
    } catch {
        return 32768;
    }
}

async function freeRange(span, avoid = []) {
    const lo = 10000;
    const hi = Math.max(lo + 1000, ephemeralLow()) - span;
    for (let i = 0; i < 200; i++) {
        const p = lo + Math.floor(Math.random() * (hi - lo));
        if (avoid.some((a) => Math.abs(a - p) <= span)) continue;
        let ok = true;
        for (let q = p; q < p + span && ok; q++) ok = await bindable(q);
        if (ok) return p;
    }
    throw new Error('no free port range');
}

/** Poll fn until it returns something truthy, for at most `timeout` ms. */
export async function waitFor(fn, { timeout = 10000, interval = 100, what = 'condition' } = {}) {
    const end = Date.now() + timeout;
    let last;
    for (;;) {
        try {
            last = await fn();
            if (last) return last;
        } catch (e) {
            last = e.message;
        }
        if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
        await delay(interval);
    }
}

export async function getJson(url) {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.json();
}

/**
 * `warren cluster up -n 3` on free ports in a fresh directory; resolves once
 * nginx answers /api/cluster with a leader. {dir, lb, down(), kill(id),
 * restart(id)}; restart waits until the node is ready again.
 * opts.telnet: give the nodes telnet listeners (and nginx a telnet port) on
 * free ports, read back with telnetPort(id) (node id's) and lbTelnet;
 * opts.nodeArgs: flags for every node (`cluster up -- FLAGS`).
 */
export async function clusterUp(tag, opts = {}) {
    const help = await warren(['cluster', '--help'], 10000);
    if (!/kill-node/.test(help.stdout + help.stderr)) {
        throw new Error(`${BIN} has no usable "cluster" command yet:\n${help.stdout}${help.stderr}`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `warren-browser-${tag}-`));
    const c = {
        dir,
        lb: null,
        async down() {
            const r = await warren(['cluster', 'down', '--dir', dir], 30000);
            if (r.code !== 0) console.log(`cluster down failed (${r.code}): ${r.stdout}${r.stderr}`);
            if (process.env.WARREN_KEEP === '1') console.log(`kept ${dir}`);
            else fs.rmSync(dir, { recursive: true, force: true });
        },
        telnetBase: 0,
        lbTelnet: 0,
        telnetPort(id) {
            if (!c.telnetBase) throw new Error('this cluster has no telnet listeners (clusterUp with telnet: true)');
            return c.telnetBase + id - 1;
        },
        kill: (id) => mustWarren(['cluster', 'kill-node', String(id), '--dir', dir], 15000),
        async restart(id) {
            await mustWarren(['cluster', 'restart-node', String(id), '--dir', dir], 30000);
            const addr = await waitFor(async () => (await getJson(`${c.lb}api/cluster`)).nodes.find((n) => n.id === id)?.http,
                { timeout: 15000, what: `node ${id}'s http address` });
            await waitFor(async () => (await fetch(`http://${addr}/readyz`, { signal: AbortSignal.timeout(2000) })).ok,
                { timeout: 30000, what: `node ${id} ready after restart` });
        },
    };
    const http = await freeRange(8);
    const clusterPort = await freeRange(8, [http]);
    const lbPort = await freeRange(2, [http, clusterPort]);
    const args = ['cluster', 'up', '-n', '3', '--dir', dir, '--http-port', String(http),
        '--cluster-port', String(clusterPort), '--lb-port', String(lbPort)];
    if (opts.telnet) {
        c.telnetBase = await freeRange(8, [http, clusterPort, lbPort]);
        c.lbTelnet = await freeRange(2, [http, clusterPort, lbPort, c.telnetBase]);
        args.push('--telnet-port', String(c.telnetBase), '--lb-telnet-port', String(c.lbTelnet));
    } else {
        // No telnet: `cluster up` would otherwise take the fixed default
        // ports (5001.., 5555), which a running `make run` may hold.
        args.push('--telnet-port', '0');
    }
    if (opts.nodeArgs?.length) args.push('--', ...opts.nodeArgs);
    const up = await warren(args, 60000);
    if (up.code !== 0) {
        await c.down();
        throw new Error(`warren cluster up failed (${up.code}):\n${up.stdout}\n${up.stderr}`);
    }
    console.log(`cluster up (${dir}):\n${up.stdout.trim()}`);
    c.lb = `http://127.0.0.1:${lbPort}/`;
    try {
        await waitFor(async () => (await getJson(`${c.lb}api/cluster`)).leader != null,
            { timeout: 30000, what: 'a leader through nginx' });
    } catch (e) {
        await c.down();
        throw e;
    }
    return c;
}

export function launch() {
    return chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--no-first-run', '--disable-quic'],
        timeout: 30000,
    });
}

/**
 * A page in a context of its own (its own sessionStorage) at `url`, with its
 * console recorded and an observer of #status's data-state in
 * window.seenStates (independent of the client's own bookkeeping).
 * `setup(context)`, if given, runs before the page loads.
 */
export async function openPage(browser, url, name, registry, setup) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
    if (setup) await setup(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    const entry = { name, page, console: [] };
    registry.push(entry);
    page.on('console', (m) => entry.console.push(`${new Date().toISOString().slice(11, 23)} ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => entry.console.push(`pageerror: ${e.message}`));
    await page.goto(url, { timeout: 15000 });
    await page.evaluate(() => {
        const el = document.querySelector('#status');
        window.seenStates = [el.dataset.state];
        new MutationObserver(() => window.seenStates.push(el.dataset.state))
            .observe(el, { attributes: true, attributeFilter: ['data-state'] });
    });
    return page;
}

/** Join as `name` through the form; resolves with window.warren.me. */
export async function join(page, name) {
    await page.waitForSelector('#join:not([hidden])', { timeout: 10000 });
    await page.fill('#name', name);
    await page.click('#join-btn');
    await page.waitForFunction(() => window.warren.me && window.warren.state === 'connected', null, { timeout: 15000 });
    return (await snapshot(page)).me;
}

/** The client's state as plain JSON (Maps do not serialise). */
export function snapshot(page) {
    return page.evaluate(() => {
        const w = window.warren;
        return {
            state: w.state, node: w.node, leader: w.leader, me: w.me && { ...w.me },
            dropped: w.dropped, pending: w.pending, servers: w.servers, attempt: w.attempt,
            width: w.width, height: w.height,
            players: Object.fromEntries([...w.players].map(([id, p]) => [id, { ...p }])),
            leftIds: [...w.leftIds], status: document.querySelector('#status').dataset.state,
            nodeText: document.querySelector('#node').textContent,
        };
    });
}

/** [r, g, b, a] of the canvas pixel at the centre of cell (x, y). */
export function pixelAt(page, x, y) {
    return page.evaluate(([x, y]) => {
        const c = window.warren.view.cell;
        const ctx = document.querySelector('#canvas').getContext('2d');
        return [...ctx.getImageData(Math.floor(x * c + c / 2), Math.floor(y * c + c / 2), 1, 1).data];
    }, [x, y]);
}

/** Press `key` n times, spaced well under every rate limit. */
export async function press(page, key, n) {
    for (let i = 0; i < n; i++) {
        await page.keyboard.press(key);
        await delay(120);
    }
}

/** Wait until every move is acknowledged while connected; returns me. */
export async function settled(page, timeout = 15000) {
    await page.waitForFunction(() => window.warren.pending === 0 && window.warren.state === 'connected', null, { timeout });
    return (await snapshot(page)).me;
}

/** The key that moves away from the nearer side wall (spawns are random). */
// The key that moves `me` along its row away from the nearer edge, unless
// another player stands within `n` cells that way (a move into a player is
// acknowledged but leaves the position): then the other way.
export function keyFor(me, width, players = {}, n = 2) {
    const blocked = (dx) => Object.values(players).some((p) => p.id !== me.id && p.y === me.y
        && Math.sign(p.x - me.x) === dx && Math.abs(p.x - me.x) <= n);
    let dx = me.x < width / 2 ? 1 : -1;
    if (blocked(dx) && !blocked(-dx) && me.x + -dx * n >= 0 && me.x + -dx * n < width) dx = -dx;
    return dx > 0 ? 'ArrowRight' : 'a';
}

export async function shot(page, file) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${file}.png`), timeout: 10000 });
}

/* ---- the MUD terminal (web/play.html, window.__mud) ------------------ */

/**
 * openPage() at `${base}play` (base ends with "/": nginx or a node), then
 * wait until the terminal is up (window.__mud). `setup` as for openPage.
 */
export async function openPlay(browser, base, name, registry, setup) {
    const page = await openPage(browser, `${base}play`, name, registry, setup);
    await page.waitForFunction(() => window.__mud, null, { timeout: 15000 });
    return page;
}

/** The terminal's text so far (ANSI stripped). */
export function mudText(page) {
    return page.evaluate(() => window.__mud.lines());
}

/** A mark in the terminal's text: waitText(page, re, {from: mark}) looks only after it. */
export async function mudMark(page) {
    return (await mudText(page)).length;
}

/**
 * Wait until the terminal's text after `from` (a mudMark) matches `what` (a
 * RegExp or a string); returns that text.
 */
export async function waitText(page, what, { from = 0, timeout = 15000 } = {}) {
    const re = what instanceof RegExp ? what : new RegExp(what.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    try {
        const h = await page.waitForFunction(([src, flags, from]) => {
            const t = window.__mud.lines().slice(from);
            return new RegExp(src, flags).test(t) && t;
        }, [re.source, re.flags, from], { timeout, polling: 100 });
        return h.jsonValue();
    } catch (e) {
        const tail = (await mudText(page).catch(() => '')).slice(-1500);
        throw new Error(`terminal never showed ${re} after offset ${from} within ${timeout} ms; its last text:\n${tail}`);
    }
}

/**
 * Type `text` into the input line and press Enter, like a user. Returns the
 * mark before it, for waitText(page, re, {from}).
 */
export async function command(page, text) {
    const from = await mudMark(page);
    await page.fill('#line', text);
    await page.press('#line', 'Enter');
    return from;
}

/** command() then waitText() for its answer; returns the answer's text. */
export async function ask(page, text, what, timeout = 15000) {
    const from = await command(page, text);
    return waitText(page, what, { from, timeout });
}

/**
 * After a new character's second password (typed at mark `from`): answer
 * the race and class questions with the first choice if the world asks
 * them (a world with one race and one class asks nothing). Resolves once
 * the page is in the game, with the answers typed (they are in the
 * input history).
 */
export async function answerChoices(page, from, timeout = 15000) {
    const typed = [];
    for (;;) {
        const h = await page.waitForFunction((mark) => {
            if (window.__mud.status().inGame) return 'in';
            const m = /Your (race|class) \(number or name\): $/.exec(window.__mud.lines().slice(mark));
            return m ? m[1] : false;
        }, from, { timeout, polling: 100 });
        if ((await h.jsonValue()) === 'in') return typed;
        from = await command(page, '1');
        typed.push('1');
    }
}

/** window.__mud.status(): state, node, leader, rtt, attempt, inGame, name, hidden, ... */
export function mudStatus(page) {
    return page.evaluate(() => window.__mud.status());
}

/** Print the pages' consoles, status bars, client logs and the cluster's logs. */
export async function diagnostics(registry, dir) {
    for (const { name, page, console: lines } of registry) {
        console.log(`\n==== page ${name}: console (last 80)\n${lines.slice(-80).join('\n')}`);
        try {
            console.log(`==== page ${name}: #status: ${(await page.innerText('#status', { timeout: 2000 })).replace(/\s+/g, ' ')}`);
            if (await page.evaluate(() => !!window.__mud)) {
                console.log(`==== page ${name}: MUD status ${JSON.stringify(await mudStatus(page))}`);
                console.log(`==== page ${name}: seen states ${JSON.stringify(await page.evaluate(() => window.seenStates))}`);
                console.log(`==== page ${name}: client log\n${(await page.evaluate(() => window.__mud.log().slice(-60))).join('\n')}`);
                console.log(`==== page ${name}: terminal (last 2000 chars)\n${(await mudText(page)).slice(-2000)}`);
                continue;
            }
            console.log(`==== page ${name}: state ${JSON.stringify(await snapshot(page))}`);
            console.log(`==== page ${name}: seen states ${JSON.stringify(await page.evaluate(() => window.seenStates))}`);
            console.log(`==== page ${name}: client log\n${(await page.evaluate(() => window.warren.log.slice(-60))).join('\n')}`);
        } catch (e) {
            console.log(`(page ${name} unreadable: ${e.message})`);
        }
    }
    if (dir && fs.existsSync(dir)) {
        for (const f of fs.readdirSync(dir)) {
            if (!/\.(log|err)$/.test(f)) continue;
            const lines = fs.readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n');
            console.log(`\n==== ${f} (last 25)\n${lines.slice(-25).join('\n')}`);
        }
    }
}

/**
 * One browser test against its own `warren cluster up` behind nginx: starts
 * the cluster and Chromium before, stops both after (even on failure), and
 * on failure prints every page's diagnostics and the cluster's log tails.
 * `body({cluster, browser, pages})` opens its pages with openPage(..., pages).
 * `opts.skip` (a reason): the test is reported as skipped and neither the
 * cluster nor the browser is started. `opts.cluster`: clusterUp's options.
 */
export function browserTest(tag, title, timeout, body, opts = {}) {
    if (opts.skip) {
        test(title, { skip: opts.skip }, () => {});
        return;
    }
    const ctx = { cluster: null, browser: null, pages: [] };
    before(async () => {
        ctx.cluster = await clusterUp(tag, opts.cluster);
        ctx.browser = await launch();
    });
    after(async () => {
        if (ctx.browser) await ctx.browser.close().catch(() => {});
        if (ctx.cluster) await ctx.cluster.down();
    });
    test(title, { timeout }, async () => {
        try {
            await body(ctx);
        } catch (e) {
            await diagnostics(ctx.pages, ctx.cluster?.dir);
            throw e;
        }
    });
}
