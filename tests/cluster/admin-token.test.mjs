// The admin token: a request that changes something (here a MUD world load
// and a role change, over HTTP as any client would send them, and through
// `warren ctl`) is refused with 401 and a log line without the token or
// with a wrong one, and accepted with it (the control: the same request,
// only the token differs). Read-only endpoints are open by default and
// closed by --admin-reads token; a node without a token file refuses every
// change.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withCluster, stopAllClusters, waitFor, runWarren, adminToken, adminTokenFile, REPO } from './lib/cluster.mjs';
import { waitWorld } from './lib/mud.mjs';

after(stopAllClusters);

const WORLD = path.join(REPO, 'world');
const ET = 300;

async function post(c, id, p, body, token) {
    const headers = { 'content-type': 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const r = await fetch(`http://${c.node(id).http}${p}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
    return { status: r.status, body: await r.text() };
}

async function get(c, id, p, token) {
    const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const r = await fetch(`http://${c.node(id).http}${p}`, { headers, signal: AbortSignal.timeout(5000) });
    return { status: r.status, body: await r.text() };
}

const refusals = (c, id) => c.logText(id).split('\n').filter((l) => /admin: .* refused from 127\.0\.0\.1/.test(l));

test(
    'changes need the admin token (401 and a log line without it, accepted with it); reads stay open',
    { timeout: 90000 },
    withCluster({ n: 3, name: 'admin-token', electionTimeout: ET, heartbeat: 50, telnet: true }, async (c) => {
        await c.leader();
        // The control below needs the MUD to answer past the token check.
        await waitWorld(c, 1);
        const token = adminToken();
        const role = JSON.stringify({ name: 'Nobody', role: 'builder' });

        // No token, a wrong token, a token of the right length but one
        // character off: 401 each, a log line each.
        const before = refusals(c, 1).length;
        for (const t of [undefined, 'not-the-token-at-all', token.slice(0, -1) + (token.endsWith('a') ? 'b' : 'a')]) {
            const r = await post(c, 1, '/api/mud/role', role, t);
            assert.equal(r.status, 401, `POST /api/mud/role with ${t === undefined ? 'no token' : 'a wrong token'}: ${r.body}`);
            assert.match(JSON.parse(r.body).error, t === undefined ? /no admin token/ : /wrong admin token/);
        }
        await waitFor(() => refusals(c, 1).length >= before + 3, { timeout: 3000, what: 'three refusal log lines' });
        const lines = refusals(c, 1).slice(before);
        assert.ok(lines.some((l) => /POST \/api\/mud\/role refused from 127\.0\.0\.1:\d+: no token/.test(l)), lines.join('\n'));
        assert.ok(lines.some((l) => /wrong token/.test(l)), lines.join('\n'));

        // The control: the same request with the token gets past the check
        // (404: there is no character Nobody; the role code answered).
        const ok = await post(c, 1, '/api/mud/role', role, token);
        assert.equal(ok.status, 404, `with the token: ${ok.body}`);

        // A world export (a read, but the whole world) needs it too.
        assert.equal((await get(c, 2, '/api/mud/world/export')).status, 401);
        assert.equal((await get(c, 2, '/api/mud/world/export', token)).status, 200);

        // Through ctl: without a token file (an empty environment and no
        // ./run/cluster/admin-token) world load is refused with a clear
        // message; with WARREN_ADMIN_TOKEN_FILE (what runWarren sets) it loads.
        const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-ctl-'));
        const bare = await new Promise((resolve) => {
            import('node:child_process').then(({ execFile }) =>
                execFile(process.env.WARREN_BIN || path.join(REPO, 'build', 'warren'), ['ctl', '--node', c.node(3).http, 'world', 'load', WORLD], { cwd, env: { PATH: process.env.PATH }, timeout: 15000 }, (err, stdout, stderr) =>
                    resolve({ code: err ? err.code : 0, stdout: String(stdout), stderr: String(stderr) }),
                ),
            );
        });
        fs.rmSync(cwd, { recursive: true, force: true });
        assert.notEqual(bare.code, 0, `ctl world load without a token: ${bare.stdout}`);
        assert.match(bare.stderr + bare.stdout, /no admin token/);
        const good = await runWarren(['ctl', '--node', c.node(3).http, 'world', 'load', WORLD]);
        assert.equal(good.code, 0, `ctl world load with the token: ${good.stderr}`);
        const wrongFile = path.join(os.tmpdir(), `warren-wrong-token-${process.pid}`);
        fs.writeFileSync(wrongFile, 'x'.repeat(32) + '\n');
        const wrong = await runWarren(['ctl', '--node', c.node(3).http, '--admin-token-file', wrongFile, 'world', 'load', WORLD]);
        fs.rmSync(wrongFile);
        assert.notEqual(wrong.code, 0);
        assert.match(wrong.stderr + wrong.stdout, /wrong admin token/);

        // Reads are open by default.
        for (const p of ['/api/cluster', '/api/state', '/metrics']) assert.equal((await get(c, 1, p)).status, 200, p);
    }),
);

test(
    '--admin-reads token closes the read-only API too; a node without a token file refuses every change',
    { timeout: 60000 },
    withCluster({ n: 1, name: 'admin-reads', electionTimeout: ET, heartbeat: 50, extraArgs: ['--admin-reads', 'token'] }, async (c) => {
        const token = adminToken();
        await waitFor(async () => (await get(c, 1, '/api/cluster', token)).status === 200, { timeout: 10000, what: 'the node serving' });
        for (const p of ['/api/cluster', '/api/state', '/api/registry', '/metrics']) {
            assert.equal((await get(c, 1, p)).status, 401, `${p} without the token`);
            assert.equal((await get(c, 1, p, token)).status, 200, `${p} with the token`);
        }
        // The game and health checks stay open.
        assert.equal((await get(c, 1, '/healthz')).status, 200);
        assert.equal((await get(c, 1, '/')).status, 200);
        // ctl sends the token on reads as well.
        const st = await runWarren(['ctl', '--node', c.node(1).http, 'status']);
        assert.equal(st.code, 0, st.stderr);
        assert.ok(fs.existsSync(adminTokenFile()));
    }),
);

test(
    'a node without --admin-token-file refuses every change',
    { timeout: 60000 },
    withCluster({ n: 1, name: 'admin-none', electionTimeout: ET, heartbeat: 50, adminTokenFile: null }, async (c) => {
        await waitFor(async () => (await get(c, 1, '/api/cluster')).status === 200, { timeout: 10000, what: 'the node serving' });
        const r = await post(c, 1, '/api/mud/role', JSON.stringify({ name: 'Nobody', role: 'admin' }), adminToken());
        assert.equal(r.status, 401);
        assert.match(JSON.parse(r.body).error, /no admin token \(start it with --admin-token-file/);
        assert.equal((await get(c, 1, '/api/cluster')).status, 200, 'reads are open');
        assert.ok(c.logText(1).includes('no --admin-token-file: the admin API refuses every change'));
    }),
);
