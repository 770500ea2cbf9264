// Linux network namespaces for cluster tests: a private bridge with one
// namespace per node, so that a test can cut a node's cluster traffic (a real
// network partition, packets silently dropped) while its clients still reach
// it, and heal it again.
//
//   const net = new NetnsTopology({ n: 3 });   // prefix wrp<pid>
//   await net.create();                        // bridge 10.X.Y.1/24, nodes .11 .12 .13
//   startCluster({ hosts: (id) => net.ip(id), commandPrefix: (id) => net.execPrefix(id), ... })
//   await net.isolate(2, [1, 3]);              // nftables in node 2's namespace
//   await net.heal(2);
//   await net.destroy();                       // also done on process exit
//
// Nothing here routes anywhere but the private bridge: the namespaces have no
// default route and the bridge has no uplink. Needs root, iproute2 and nft.

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';

const TABLE = 'wrp_partition';
const LOSS_TABLE = 'wrp_loss';

/* Does this kernel have the netem qdisc? Probed once, on a real link of the topology. */
let netemProbe = null;
function netemSupported(dev) {
    if (!netemProbe) {
        netemProbe = run('tc', ['qdisc', 'replace', 'dev', dev, 'root', 'netem', 'delay', '1ms'])
            .then(() => run('tc', ['qdisc', 'del', 'dev', dev, 'root']).then(() => true, () => true))
            .catch(() => false);
    }
    return netemProbe;
}

/* ip and nft live in /usr/sbin, which a non-login PATH may lack. */
const bins = new Map();
function bin(name) {
    if (!bins.has(name)) bins.set(name, which(name) || name);
    return bins.get(name);
}

function run(cmd, args, { timeout = 10000, input } = {}) {
    if (cmd === 'ip' || cmd === 'nft' || cmd === 'tc') cmd = bin(cmd);
    return new Promise((resolve, reject) => {
        const child = execFile(cmd, args, { timeout }, (err, stdout, stderr) => {
            if (err) {
                const e = new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`);
                e.stderr = String(stderr);
                return reject(e);
            }
            resolve(String(stdout));
        });
        if (input !== undefined) child.stdin.end(input);
    });
}

function runSyncQuiet(cmd, args) {
    if (cmd === 'ip' || cmd === 'nft') cmd = bin(cmd);
    try {
        execFileSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
        return true;
    } catch {
        return false;
    }
}

function which(bin) {
    for (const d of (process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
        try {
            fs.accessSync(`${d}/${bin}`, fs.constants.X_OK);
            return `${d}/${bin}`;
        } catch {
            /* next */
        }
    }
    return null;
}

/** Does process @pid exist (EPERM: it does, owned by someone else)? */
export function pidAlive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return e.code === 'EPERM';
    }
}

/**
 * Can this process build namespaces? Resolves {ok: true} or {ok: false,
 * reason} (for t.skip). Tries a throwaway namespace, not just the uid.
 */
export async function netnsSupport() {
    if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
    if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'network namespaces need root (uid is not 0)' };
    if (!which('ip')) return { ok: false, reason: 'the ip command (iproute2) is not installed' };
    if (!which('nft')) return { ok: false, reason: 'the nft command (nftables) is not installed: apt-get install -y nftables (scripts/install-deps.sh)' };
    const probe = `wrp${process.pid}-probe`;
    try {
        await run('ip', ['netns', 'add', probe]);
        await run('ip', ['netns', 'exec', probe, bin('nft'), 'list', 'tables']);
    } catch (e) {
        return { ok: false, reason: `cannot create a network namespace or use nftables in it: ${e.message}` };
    } finally {
        await run('ip', ['netns', 'del', probe]).catch(() => {});
    }
    return { ok: true };
}

/* Every topology not yet destroyed, torn down synchronously on exit. */
const live = new Set();
process.on('exit', () => {
    for (const t of live) t.destroySync();
});

async function listNetns() {
    const out = await run('ip', ['netns', 'list']).catch(() => '');
    return out
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[0])
        .filter(Boolean);
}

async function listLinks() {
    const out = await run('ip', ['-o', 'link', 'show']).catch(() => '');
    // "7: wrp123b: <...>" or "8: wrp123h1@if2: <...>"
    return out
        .split('\n')
        .map((l) => (l.match(/^\d+:\s+([^:@\s]+)/) || [])[1])
        .filter(Boolean);
}

/**
 * Remove namespaces and links left behind by an earlier run: those named with
 * `prefix`, and those of any wrp<pid> run whose process is gone.
 */
export async function removeLeftovers(prefix) {
    const stale = (name) => {
        if (name === prefix || name.startsWith(`${prefix}-`) || name.startsWith(`${prefix}b`) || name.startsWith(`${prefix}h`)) return true;
        const m = name.match(/^wrp(\d+)(?:-|b|h)/);
        return !!m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]));
    };
    const removed = [];
    for (const ns of await listNetns()) {
        if (!stale(ns)) continue;
        await run('ip', ['netns', 'del', ns]).catch(() => {});
        removed.push(ns);
    }
    for (const l of await listLinks()) {
        if (!stale(l)) continue;
        await run('ip', ['link', 'del', l]).catch(() => {});
        removed.push(l);
    }
    return removed;
}

export class NetnsTopology {
    /**
     * @param n number of nodes (namespaces), ids 1..n, addresses .11, .12, ...
     * @param prefix name prefix of every object (default wrp<pid>); at most 10
     *        characters, interface names are limited to 15
     */
    constructor({ n = 3, prefix = `wrp${process.pid}` } = {}) {
        if (prefix.length > 10 || !/^[a-z][a-z0-9]*$/.test(prefix)) throw new Error(`bad netns prefix ${prefix}`);
        this.n = n;
        this.prefix = prefix;
        this.bridge = `${prefix}b`;
        this.subnet = null; // '10.X.Y'
        this.created = false;
        this.isolated = new Map(); // id -> peer ids
    }

    ns(id) {
        return `${this.prefix}-${id}`;
    }
    hostVeth(id) {
        return `${this.prefix}h${id}`;
    }
    nsVeth(id) {
        return `${this.prefix}n${id}`;
    }
    ip(id) {
        return `${this.subnet}.${10 + id}`;
    }
    get gateway() {
        return `${this.subnet}.1`;
    }
    /** argv to put before a command to run it in node `id`'s namespace. */
    execPrefix(id) {
        return [bin('ip'), 'netns', 'exec', this.ns(id)];
    }

    /** A 10.X.Y.0/24 derived from the pid that no route in this namespace covers. */
    async _pickSubnet() {
        const routes = (await run('ip', ['-4', '-o', 'addr', 'show']).catch(() => '')) + (await run('ip', ['-4', 'route', 'show', 'table', 'all']).catch(() => ''));
        const used = (a, b) => routes.includes(`10.${a}.${b}.`) || new RegExp(`\\b10\\.${a}\\.0\\.0/(8|9|1[0-6])\\b`).test(routes) || /\b10\.0\.0\.0\/8\b/.test(routes);
        for (let i = 0; i < 64; i++) {
            const v = (process.pid + i * 7919) & 0x7fff;
            const a = 100 + ((v >> 8) % 100);
            const b = v & 0xff;
            if (!used(a, b)) return `10.${a}.${b}`;
        }
        throw new Error('no free 10.X.Y.0/24 for the test bridge');
    }

    async create() {
        await removeLeftovers(this.prefix);
        this.subnet = await this._pickSubnet();
        live.add(this);
        this.created = true;
        const ip = (...a) => run('ip', a);
        await ip('link', 'add', this.bridge, 'type', 'bridge');
        await ip('addr', 'add', `${this.gateway}/24`, 'dev', this.bridge);
        await ip('link', 'set', this.bridge, 'up');
        for (let id = 1; id <= this.n; id++) {
            const ns = this.ns(id);
            await ip('netns', 'add', ns);
            await ip('link', 'add', this.hostVeth(id), 'type', 'veth', 'peer', 'name', this.nsVeth(id));
            await ip('link', 'set', this.nsVeth(id), 'netns', ns);
            await ip('link', 'set', this.hostVeth(id), 'master', this.bridge);
            await ip('link', 'set', this.hostVeth(id), 'up');
            await ip('-n', ns, 'link', 'set', 'lo', 'up');
            await ip('-n', ns, 'addr', 'add', `${this.ip(id)}/24`, 'dev', this.nsVeth(id));
            await ip('-n', ns, 'link', 'set', this.nsVeth(id), 'up');
        }
        return this;
    }

    /**
     * Can a TCP connection be opened from node `fromId`'s namespace (0: this
     * process's namespace) to host:port within `timeout` ms? Resolves true or
     * false (refused, dropped, unreachable). There is no ping here: it runs a
     * one-line node script in the namespace.
     */
    async tcpReach(fromId, host, port, { timeout = 500 } = {}) {
        const script =
            `const s=require('net').connect(${Number(port)},${JSON.stringify(host)});` +
            `const t=setTimeout(()=>{console.log('timeout');process.exit(0)},${Number(timeout)});` +
            `s.on('connect',()=>{console.log('ok');s.destroy();clearTimeout(t)});` +
            `s.on('error',(e)=>{console.log(e.code);clearTimeout(t)});`;
        const argv = [process.execPath, '-e', script];
        const out = fromId === 0 ? await run(argv[0], argv.slice(1)) : await run('ip', ['netns', 'exec', this.ns(fromId), ...argv]);
        return out.trim() === 'ok';
    }

    /**
     * Cut node `id` off from `peers` (ids): nftables rules in its namespace drop
     * every IPv4 packet from and to their addresses (or, with `ports`, only TCP
     * on those ports in either direction). The gateway (the test process) is
     * not affected, so clients keep their connections. With `direction`
     * 'in' (or 'out') only packets arriving from (or sent to) the peers are
     * dropped: a one-way cut (default 'both').
     */
    async isolate(id, peers, { ports, direction = 'both' } = {}) {
        if (!['both', 'in', 'out'].includes(direction)) throw new Error(`isolate: bad direction ${direction}`);
        const addrs = peers.map((p) => this.ip(p)).join(', ');
        const match = (dir) => {
            const a = dir === 'in' ? 'saddr' : 'daddr';
            if (!ports || !ports.length) return `ip ${a} { ${addrs} } drop`;
            const set = ports.join(', ');
            return `ip ${a} { ${addrs} } tcp dport { ${set} } drop\n    ip ${a} { ${addrs} } tcp sport { ${set} } drop`;
        };
        const rules = `table inet ${TABLE} {
  chain input {
    type filter hook input priority -10; policy accept;
    ${direction === 'out' ? '' : match('in')}
  }
  chain output {
    type filter hook output priority -10; policy accept;
    ${direction === 'in' ? '' : match('out')}
  }
}
`;
        await run('ip', ['netns', 'exec', this.ns(id), bin('nft'), '-f', '-'], { input: rules });
        this.isolated.set(id, peers);
    }

    /** Delete node `id`'s partition rules. */
    async heal(id) {
        await run('ip', ['netns', 'exec', this.ns(id), bin('nft'), 'delete', 'table', 'inet', TABLE]);
        this.isolated.delete(id);
    }

    /**
     * Slow node `id`'s link: `delayMs` (with `jitterMs`) each way and
     * `lossPct` percent of packets lost each way, on both ends of its veth
     * (the bridge side shapes what the node receives, the namespace side
     * what it sends), so clients on the bridge are slowed too, as on a real
     * network. With `tc netem` when the kernel has it; otherwise (no
     * sch_netem, as in some VMs) a `tbf` queue of `rateKbit` whose latency
     * bound is `delayMs` (delay only under load) and an nftables rule in the
     * namespace that drops `lossPct` percent at random. Replaces an earlier
     * slowing of the node. Resolves the method used: 'netem' or 'tbf+nft'.
     */
    async netem(id, { delayMs = 0, jitterMs = 0, lossPct = 0, rateKbit = 512 } = {}) {
        if (await netemSupported(this.hostVeth(id))) {
            const spec = ['netem', 'delay', `${delayMs}ms`, `${jitterMs}ms`, 'loss', `${lossPct}%`];
            await run('tc', ['qdisc', 'replace', 'dev', this.hostVeth(id), 'root', ...spec]);
            await run('ip', ['netns', 'exec', this.ns(id), bin('tc'), 'qdisc', 'replace', 'dev', this.nsVeth(id), 'root', ...spec]);
            return 'netem';
        }
        const spec = ['tbf', 'rate', `${rateKbit}kbit`, 'burst', '16kb', 'latency', `${Math.max(1, delayMs + jitterMs)}ms`];
        await run('tc', ['qdisc', 'replace', 'dev', this.hostVeth(id), 'root', ...spec]);
        await run('ip', ['netns', 'exec', this.ns(id), bin('tc'), 'qdisc', 'replace', 'dev', this.nsVeth(id), 'root', ...spec]);
        await run('ip', ['netns', 'exec', this.ns(id), bin('nft'), 'delete', 'table', 'inet', LOSS_TABLE]).catch(() => {});
        if (lossPct > 0) {
            const drop = (dir) => `${dir === 'in' ? 'iifname' : 'oifname'} != "lo" numgen random mod 100 < ${Number(lossPct)} drop`;
            const rules = `table inet ${LOSS_TABLE} {
  chain input {
    type filter hook input priority -5; policy accept;
    ${drop('in')}
  }
  chain output {
    type filter hook output priority -5; policy accept;
    ${drop('out')}
  }
}
`;
            await run('ip', ['netns', 'exec', this.ns(id), bin('nft'), '-f', '-'], { input: rules });
        }
        return 'tbf+nft';
    }

    /** Undo netem() on node `id` (both ends, either method); no error when there is nothing. */
    async clearNetem(id) {
        await run('tc', ['qdisc', 'del', 'dev', this.hostVeth(id), 'root']).catch(() => {});
        await run('ip', ['netns', 'exec', this.ns(id), bin('tc'), 'qdisc', 'del', 'dev', this.nsVeth(id), 'root']).catch(() => {});
        await run('ip', ['netns', 'exec', this.ns(id), bin('nft'), 'delete', 'table', 'inet', LOSS_TABLE]).catch(() => {});
    }

    /** The partition rules in node `id`'s namespace ('' when none). */
    async rules(id) {
        return run('ip', ['netns', 'exec', this.ns(id), bin('nft'), 'list', 'table', 'inet', TABLE]).catch(() => '');
    }

    /** Remove namespaces, veths and bridge. Processes inside must be gone first. Idempotent. */
    async destroy() {
        if (!this.created) return;
        this.created = false;
        live.delete(this);
        for (let id = 1; id <= this.n; id++) {
            await run('ip', ['link', 'del', this.hostVeth(id)]).catch(() => {});
            await run('ip', ['netns', 'del', this.ns(id)]).catch(() => {});
        }
        await run('ip', ['link', 'del', this.bridge]).catch(() => {});
        const left = (await listNetns()).filter((x) => x.startsWith(`${this.prefix}-`));
        const links = (await listLinks()).filter((x) => x.startsWith(this.prefix));
        if (left.length || links.length) throw new Error(`netns teardown left ${[...left, ...links].join(', ')}`);
    }

    destroySync() {
        if (!this.created) return;
        this.created = false;
        live.delete(this);
        for (let id = 1; id <= this.n; id++) {
            runSyncQuiet('ip', ['link', 'del', this.hostVeth(id)]);
            runSyncQuiet('ip', ['netns', 'del', this.ns(id)]);
        }
        runSyncQuiet('ip', ['link', 'del', this.bridge]);
    }
}
