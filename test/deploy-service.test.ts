import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadyAnswer, StatusAnswer } from '../src/sdk/wire.ts';
import { workerMetrics } from '../src/worker/index.ts';
import { mustZeus, oneBookkeeperGenesis } from './helpers/genesis.ts';
import { createHosts, type Hosts, hostsSupported } from './helpers/hosts.ts';
import { freePort, NODE_BIN, ROOT, sleep, waitFor } from './helpers/processes.ts';
import { EXIT_STORE_DAMAGED } from '../src/cli/context.ts';
import { tableOfOwnKeys, truncateTable } from './helpers/leveldb.ts';
import { parseUnit, serviceSpec, splitWords, Supervisor, unitValue, type Unit } from './helpers/systemd.ts';

// Must show 5 (issue 15): `zeus node start` on a fresh machine's non-dev home, run as a service
// from deploy/, restarts after SIGKILL and rejoins. The home is made as an operator makes it —
// `zeus genesis …` for a one-bookkeeper network, then `zeus init --genesis FILE` — and
// deploy/systemd/zeus-node.service is parsed: its ExecStart (the binary and home paths replaced by
// this checkout's and the test's), Environment= and EnvironmentFile= (ZEUS_PASSPHRASE) are what
// runs, under a supervisor that does what its Restart= and RestartSec= say. When the machine
// allows (root, `ip netns`), the node runs on a host of its own (test/helpers/hosts.ts) bound to
// that host's address, and is reached only from inside it. The same node's /metrics is the
// reference for deploy/grafana/zeusnet.json: every metric a panel queries must be exported.

const PASS = 'service passphrase';
const dir = mkdtempSync(join(tmpdir(), 'zeus-deploy-'));
const home = join(dir, 'var-lib-zeus');
const etc = join(dir, 'etc-zeus');
const unitText = readFileSync(join(ROOT, 'deploy', 'systemd', 'zeus-node.service'), 'utf8');
let net: Hosts | undefined;
let ip = '127.0.0.1';
let apiPort = 26_657;
let p2pPort = 26_656;
const supervisors: Supervisor[] = [];

/** GET from where the node's clients are: inside its host when it has one (the root namespace reaches none). */
async function get(path: string): Promise<{ status: number; text: string }> {
  const url = `http://${ip}:${apiPort}${path}`;
  if (!net) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(3_000) });
      return { status: r.status, text: await r.text() };
    } catch {
      return { status: 0, text: '' };
    }
  }
  const r = await net.exec(0, 'curl', ['-s', '-m', '3', '-w', '\n%{http_code}', url], { timeout: 5_000 });
  const nl = r.out.lastIndexOf('\n');
  return { status: Number(r.out.slice(nl + 1)) || 0, text: r.out.slice(0, Math.max(0, nl)) };
}

const json = <T>(text: string): T => JSON.parse(text) as T;

async function height(): Promise<number> {
  const r = await get('/status');
  return r.status === 200 ? json<StatusAnswer>(r.text).height : -1;
}

beforeAll(async () => {
  if (hostsSupported()) {
    net = await createHosts(1, { name: 'svc' });
    ip = net.hosts[0].ip;
  } else {
    // Loopback: the default ports may be taken on this machine.
    apiPort = await freePort();
    p2pPort = await freePort();
  }
}, 60_000);

afterAll(async () => {
  for (const s of supervisors) await s.stop(5_000);
  net?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('deploy/systemd/zeus-node.service', () => {
  let unit: Unit;

  it('is a service a supervisor keeps running: restart policy, user, limits, passphrase from a file', () => {
    unit = parseUnit(unitText);
    expect(unitValue(unit, 'Service', 'User')).toBe('zeus');
    expect(unitValue(unit, 'Service', 'Restart')).toBe('always');
    expect(Number(unitValue(unit, 'Service', 'LimitNOFILE'))).toBeGreaterThanOrEqual(65_536);
    expect(unitValue(unit, 'Service', 'EnvironmentFile')).toMatch(/\/etc\/zeus\/node\.env$/);
    expect(unitValue(unit, 'Service', 'NoNewPrivileges')).toBe('true');
    expect(splitWords(unitValue(unit, 'Service', 'ExecStart')!).slice(0, 5)).toEqual(['/usr/local/bin/zeus', 'node', 'start', '--home', '/var/lib/zeus']);
    expect(unitValue(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
  });

  it('and deploy/systemd/zeus-worker.service starts the worker agent with options it has', () => {
    const worker = parseUnit(readFileSync(join(ROOT, 'deploy', 'systemd', 'zeus-worker.service'), 'utf8'));
    expect(unitValue(worker, 'Service', 'User')).toBe('zeus');
    expect(unitValue(worker, 'Service', 'Restart')).toBe('always');
    expect(Number(unitValue(worker, 'Service', 'RestartSec'))).toBeGreaterThan(0);
    expect(Number(unitValue(worker, 'Service', 'LimitNOFILE'))).toBeGreaterThanOrEqual(65_536);
    const words = splitWords(unitValue(worker, 'Service', 'ExecStart')!);
    expect(words.slice(0, 3)).toEqual(['/usr/local/bin/zeus', 'worker', 'start']);
    const help = mustZeus(undefined, home, 'worker', 'start', '--help');
    const global = ['--home', '--node', '--json'];
    for (const flag of words.filter((w) => w.startsWith('--'))) expect(global.includes(flag) || help.includes(`${flag} `), flag).toBe(true);
  });

  it('runs a fresh non-dev home made with `zeus genesis` and `zeus init --genesis`, restarts it after SIGKILL, and it rejoins', async () => {
    // The operator's machine: a key, the one-bookkeeper genesis, then the home.
    const g = oneBookkeeperGenesis({ home, passphrase: PASS, file: join(dir, 'genesis.json'), chainId: 'zeus-svc-1', p2p: `/ip4/${ip}/tcp/${p2pPort}` });
    const init = json<{ genesisHash: string; bookkeeperKey: { genesisBookkeeper: boolean } }>(
      mustZeus(
        PASS,
        home,
        '--json',
        'init',
        '--genesis',
        g.file,
        '--expect-hash',
        g.hash,
        '--moniker',
        'svc-0',
        '--bookkeeper-key',
        g.key,
        '--p2p-listen',
        `/ip4/${ip}/tcp/${p2pPort}`,
        '--api',
        `${ip}:${apiPort}`,
      ),
    );
    expect(init.genesisHash).toBe(g.hash);
    expect(init.bookkeeperKey.genesisBookkeeper).toBe(true);
    expect(readFileSync(join(home, 'config.json'), 'utf8')).not.toMatch(/devPassphrase/);
    // /etc/zeus/node.env, as the operator writes it.
    mkdirSync(etc, { mode: 0o700 });
    writeFileSync(join(etc, 'node.env'), `# the bookkeeper key's passphrase\nZEUS_PASSPHRASE="${PASS}"\n`, { mode: 0o600 });

    const spec = serviceSpec(
      unit,
      { '/usr/local/bin/zeus': [NODE_BIN, join(ROOT, 'bin', 'zeus.js')], '/var/lib/zeus': [home], '/etc/zeus': [etc] },
      // What systemd gives a service besides the unit's own variables.
      { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' },
    );
    expect(spec.env.ZEUS_PASSPHRASE).toBe(PASS);
    expect(spec.restart).toBe('always');
    expect(spec.argv.slice(0, 6)).toEqual([NODE_BIN, join(ROOT, 'bin', 'zeus.js'), 'node', 'start', '--home', home]);
    const run = (argv: string[], env: Record<string, string>): ChildProcess =>
      net
        ? net.spawn(0, argv[0], argv.slice(1), { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(argv[0], argv.slice(1), { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    const service = new Supervisor(spec, run);
    supervisors.push(service);
    service.start();
    const logs = (): string => service.runs.map((r, i) => `--- run ${i} (${JSON.stringify(r.exit)})\n${r.stderr}${r.stdout.slice(-3000)}`).join('\n');

    const ready = async (): Promise<boolean> => (await get('/health/ready')).status === 200;
    await waitFor(ready, 60_000, `/health/ready 200 of the service\n${logs()}`, 250);
    await waitFor(async () => (await height()) >= 3, 30_000, 'three committed heights', 250);
    const before = await height();
    const first = service.current!;
    expect(first.exit).toBeUndefined();

    // The crash: SIGKILL, no shutdown code runs.
    first.child.kill('SIGKILL');
    await waitFor(() => first.exit !== undefined, 10_000, 'the killed node to exit');
    expect(first.exit!.signal).toBe('SIGKILL');
    expect((await get('/health/live')).status).toBe(0); // nothing answers while it is down
    await waitFor(() => service.runs.length === 2, 30_000, 'the supervisor to restart the node');
    const second = service.current!;
    // It waited RestartSec before starting again.
    expect(second.startedAt - first.exit!.at).toBeGreaterThanOrEqual(spec.restartSec * 1000 - 50);

    // Rejoined: it answers, it is ready, and it commits past where it was killed.
    await waitFor(ready, 60_000, `/health/ready 200 after the restart\n${logs()}`, 250);
    await waitFor(async () => (await height()) > before + 2, 30_000, `the height to pass ${before + 2} after the restart\n${logs()}`, 250);
    const live = await get('/health/live');
    expect(live.status).toBe(200);
    const r = json<ReadyAnswer>((await get('/health/ready')).text);
    expect(r).toMatchObject({ ready: true, maxBehind: 5 });
    expect(second.exit).toBeUndefined();
    expect(service.runs).toHaveLength(2);

    // deploy/grafana/zeusnet.json queries only metrics that exist: the node's as this node exports
    // them, the worker's as the worker agent's exporter (src/worker/metrics.ts) does.
    const exported = exportedNames((await get('/metrics')).text);
    const agent = {
      snapshot: () => ({ address: '', leases: [], bids: [], notLeased: null }),
      counts: { bids: 0, leasesStarted: 0, reports: 0, results: 0, workloadsFailed: 0, workloadsStopped: 0 },
    };
    const workerExported = exportedNames(await workerMetrics(agent).metrics());
    const dashboard = json<{ panels: { title: string; targets: { expr: string }[] }[] }>(readFileSync(join(ROOT, 'deploy', 'grafana', 'zeusnet.json'), 'utf8'));
    const queried = dashboard.panels.flatMap((p) =>
      p.targets.flatMap((t) => [...t.expr.matchAll(/\b(zeus_[a-z0-9_]+)/g)].map((m) => ({ panel: p.title, name: m[1] }))),
    );
    expect(queried.length).toBeGreaterThan(20);
    const missing = queried.filter((q) => !(q.name.startsWith('zeus_worker_') ? workerExported : exported).has(q.name));
    expect(missing, 'dashboard metrics no exporter has').toEqual([]);
    for (const must of [
      'zeus_height',
      'zeus_commit_latency_seconds_bucket',
      'zeus_rounds_beyond_first_total',
      'zeus_peers',
      'zeus_mempool_transactions',
      'zeus_transactions_committed_total',
      'zeus_worker_leases_running',
      'zeus_ddn_served_bytes',
    ]) {
      expect(queried.map((q) => q.name)).toContain(must);
    }
    // The alert rules too.
    const alerts = readFileSync(join(ROOT, 'deploy', 'prometheus', 'zeusnet-alerts.yml'), 'utf8');
    for (const [, name] of alerts.matchAll(/\b(zeus_[a-z0-9_]+)/g))
      expect((name.startsWith('zeus_worker_') ? workerExported : exported).has(name), name).toBe(true);

    // `systemctl stop`: SIGTERM, a clean exit, and no restart.
    const stopped = await service.stop();
    expect(stopped).toMatchObject({ code: 0 });
    await sleep(spec.restartSec * 1000 + 500);
    expect(service.runs).toHaveLength(2);

    // A damaged chain store: the node exits 4 with the remedy, and RestartPreventExitStatus=4 keeps
    // Restart=always from starting it into the same damage every RestartSec.
    expect(spec.preventExit).toContain(EXIT_STORE_DAMAGED);
    truncateTable(await tableOfOwnKeys(join(home, 'data')));
    const damaged = new Supervisor(spec, run);
    supervisors.push(damaged);
    damaged.start();
    await waitFor(() => damaged.current?.exit !== undefined, 60_000, 'the node on a damaged store to exit', 100);
    expect(damaged.current!.exit!.code, `${damaged.current!.stderr}${damaged.current!.stdout}`).toBe(EXIT_STORE_DAMAGED);
    expect(damaged.current!.stderr).toContain(`the chain store in ${join(home, 'data')} is damaged`);
    await sleep(spec.restartSec * 1000 + 500);
    expect(damaged.runs).toHaveLength(1);
  }, 400_000);
});

/** Sample names a Prometheus text exposition declares (a histogram's _bucket, _sum and _count). */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(name + s);
    else names.add(name);
  }
  return names;
}
