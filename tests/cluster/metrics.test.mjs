// /metrics in the Prometheus text format, checked by the real tools:
// `promtool check metrics` (Debian's prometheus package) passes on every
// node's output, and fails on a sample that breaks its rules (the control:
// the check can fail); the counters and histograms move under load; and a
// real Prometheus server, started here with a config that scrapes the three
// nodes, answers a query for the cluster's commit rate.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withCluster, stopAllClusters, waitFor, freePort, Mover, ARTIFACTS, REPO } from './lib/cluster.mjs';

after(stopAllClusters);

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';

function promtool(text) {
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20000 });
    return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

/* name{labels} -> value, for the samples whose labels include every pair of @want. */
function sample(text, name, want = {}) {
    let sum = null;
    for (const line of text.split('\n')) {
        const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/);
        if (!m || m[1] !== name) continue;
        const labels = Object.fromEntries([...(m[2] || '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(want).every(([k, v]) => labels[k] === v)) sum = (sum ?? 0) + Number(m[3]);
    }
    return sum;
}

test(
    '/metrics passes promtool on every node, moves under load, and a real Prometheus scrapes it',
    { timeout: 120000, skip: !fs.existsSync(PROMETHEUS) && 'prometheus is not installed (scripts/install-deps.sh installs it)' },
    withCluster({ n: 3, name: 'metrics', electionTimeout: 300, heartbeat: 50 }, async (c) => {
        const leader = await c.leader();

        // The control: promtool rejects a counter without _total, so a
        // pass below means something.
        const bad = promtool('# HELP warren_x a counter\n# TYPE warren_x counter\nwarren_x{node="1"} 1\n');
        assert.notEqual(bad.status, 0, `promtool accepted a counter without _total: ${bad.out}`);

        const before = {};
        for (const id of [1, 2, 3]) {
            const r = await c.http(id, '/metrics');
            assert.equal(r.status, 200);
            assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
            const lint = promtool(r.text);
            assert.equal(lint.status, 0, `promtool check metrics on node ${id}: ${lint.out}`);
            assert.equal(sample(r.text, 'warren_raft_leader', { node: String(id) }), id === leader ? 1 : 0);
            assert.ok(sample(r.text, 'warren_arena_players', { node: String(id), game: 'arena' }) !== null);
            before[id] = r.text;
        }

        // Load: three clients, one per node, 40 acknowledged moves each.
        const movers = [];
        for (const id of [1, 2, 3]) {
            const cl = await c.client(id, `m${id}`);
            await cl.join(`metrics${id}`);
            movers.push(new Mover(cl, { minInterval: 20, maxMoves: 40, maxMs: 30000 }).start());
        }
        await Promise.all(movers.map((m) => m.done));
        for (const m of movers) assert.ok(m.records.filter((r) => r.ok).length >= 30, 'moves acknowledged');

        for (const id of [1, 2, 3]) {
            const text = (await c.http(id, '/metrics')).text;
            assert.equal(promtool(text).status, 0, `promtool after load on node ${id}`);
            const grew = (name, want = {}) => sample(text, name, want) - sample(before[id], name, want);
            assert.ok(grew('warren_commands_applied_total') >= 120, `node ${id} applied the 120 moves`);
            assert.ok(grew('warren_apply_seconds_count') > 0, `node ${id} timed its applies`);
            assert.ok(grew('warren_client_command_latency_seconds_count') >= 40, `node ${id} timed its clients' commands`);
            assert.ok(grew('warren_event_fanout_seconds_count') > 0, `node ${id} timed its fan-out`);
            if (id === leader) assert.ok(grew('warren_commit_latency_seconds_count') > 0, 'the leader timed its commits');
        }

        // A real Prometheus scraping all three nodes every second.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-prom-'));
        const port = await freePort();
        const targets = c.nodes.map((n) => `'${n.http}'`).join(', ');
        fs.writeFileSync(
            path.join(dir, 'prometheus.yml'),
            `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: warren\n    static_configs:\n      - targets: [${targets}]\n`,
        );
        const log = fs.openSync(path.join(ARTIFACTS, 'metrics', 'prometheus.log'), 'w');
        const prom = spawn(
            PROMETHEUS,
            [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`],
            { stdio: ['ignore', log, log] },
        );
        try {
            const query = async (q) => {
                const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(2000) });
                const body = await r.json();
                return body.status === 'success' ? body.data.result : [];
            };
            await waitFor(async () => (await query('up == 1').catch(() => [])).length === 3, { timeout: 30000, what: 'Prometheus scraping all three nodes' });
            // Keep moving while Prometheus gathers samples for a rate.
            const cl = await c.client(leader, 'rate');
            await cl.join('metricsrate');
            const mover = new Mover(cl, { minInterval: 20, maxMoves: 2500, maxMs: 45000 }).start();
            // Every node's rate, not just their sum: a node Prometheus could
            // not scrape twice within the window has no rate yet, so wait
            // for all three (on a busy machine the first scrapes straggle).
            let rates = [];
            await waitFor(
                async () => {
                    const r = await query('rate(warren_entries_applied_total[5s])').catch(() => []);
                    rates = r.map((x) => ({ node: x.metric.node, rate: Number(x.value[1]) }));
                    return new Set(rates.filter((x) => x.rate > 0).map((x) => x.node)).size === 3;
                },
                { timeout: 30000, interval: 500, what: 'a commit rate from Prometheus for each of the three nodes' },
            );
            await mover.stop();
            const total = (await query('sum(rate(warren_entries_applied_total[5s]))'))[0];
            console.log(`metrics_prometheus_commit_rate ${rates.map((x) => `node${x.node}=${x.rate.toFixed(1)}`).join(' ')} sum=${total ? Number(total.value[1]).toFixed(1) : '?'}`);

            // The Grafana dashboard in deploy/ asks only for what exists:
            // every query parses, and every warren_ name it uses is served.
            const dash = JSON.parse(fs.readFileSync(path.join(REPO, 'deploy', 'grafana', 'warren-dashboard.json'), 'utf8'));
            const served = (await c.http(leader, '/metrics')).text;
            for (const panel of dash.panels) {
                for (const t of panel.targets) {
                    const expr = t.expr.replaceAll('$job', '.*').replaceAll('$__range', '5m');
                    const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(2000) });
                    const body = await r.json();
                    assert.equal(body.status, 'success', `dashboard panel "${panel.title}": ${expr}: ${body.error}`);
                    for (const name of expr.match(/warren_[a-z_]+/g) || []) {
                        const base = name.replace(/_(bucket|sum|count)$/, '');
                        assert.ok(served.includes(`\n${base}`) || served.includes(`# TYPE ${base} `), `dashboard panel "${panel.title}" uses ${name}, which /metrics does not serve`);
                    }
                }
            }
        } finally {
            prom.kill('SIGTERM');
            await new Promise((r) => (prom.exitCode !== null ? r() : prom.once('exit', r)));
            fs.closeSync(log);
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }),
);
