import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHosts, type Hosts, hostsSupported, listNamespaces, PREFIX, sweepStaleHosts, withHosts } from './helpers/hosts.ts';

// The harness for tests on separate network hosts (issue 15): hosts reach each other over the
// switch, the machine's own namespace reaches none of them, and no namespace outlives a run —
// after destroy(), after a test that throws, after the process dies (exit handler, SIGTERM), and
// after SIGKILL (sweepStaleHosts).

const HOSTS = fileURLToPath(new URL('./helpers/hosts.ts', import.meta.url));
const PORT = 7000;

/** A TCP server bound to one address: answers every connection with who it is and who called. */
const serverScript = (ip: string): string => `
const net = require('node:net');
const s = net.createServer((c) => {
  console.log('conn ' + c.remoteAddress);
  c.end('hello from ' + c.localAddress + ' to ' + c.remoteAddress + '\\n');
});
s.listen(${PORT}, ${JSON.stringify(ip)}, () => console.log('listening'));
`;

/** Connects, prints what the server said, exits 0; exits 2 on error or after 1 s. */
const clientScript = (ip: string): string => `
const net = require('node:net');
const c = net.connect({ host: ${JSON.stringify(ip)}, port: ${PORT} });
let got = '';
c.on('data', (d) => (got += d));
c.on('end', () => { process.stdout.write(got); process.exit(0); });
c.on('error', (e) => { console.error(e.code || e.message); process.exit(2); });
setTimeout(() => { console.error('timeout'); process.exit(2); }, 1000);
`;

/**
 * Connects from this (root-namespace) process and waits up to `timeout` ms for an answer: the error
 * code, 'ETIMEDOUT', or what was received. Some machines (sandboxes behind a catch-all proxy) accept
 * a TCP connection to any address through their default route, so connecting alone proves nothing;
 * what counts is that our server never answers.
 */
const rootConnect = (ip: string, timeout = 1500): Promise<{ result: string; got: string }> =>
  new Promise((resolve) => {
    const c = connect({ host: ip, port: PORT });
    let got = '';
    let result = 'ETIMEDOUT';
    const done = (): void => {
      clearTimeout(timer);
      c.destroy();
      resolve({ result, got });
    };
    const timer = setTimeout(done, timeout);
    c.on('connect', () => (result = 'connected'));
    c.on('data', (d: Buffer) => (got += String(d)));
    c.on('end', done);
    c.on('error', (e: NodeJS.ErrnoException) => {
      result = e.code ?? e.message;
      done();
    });
  });

const runNamespaces = (run: string): string[] => listNamespaces().filter((n) => n.startsWith(`${PREFIX}${run}-`));
/**
 * The root namespace's links, less Docker's container veths (`veth` and 7 hex digits): the suite's
 * Docker tests start and stop containers meanwhile, so those come and go (seen once beside them).
 */
const rootLinks = (): string[] =>
  spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l)
    .map((l) => l.split(':')[1].trim())
    .filter((name) => !/^veth[0-9a-f]{7}(@|$)/.test(name));

/** Starts a child Node process that makes hosts with the harness, prints the run id, then does `then`. */
function childWithHosts(then: string): Promise<{ run: string; exit: Promise<number | string | null>; kill: (sig: NodeJS.Signals) => void }> {
  const script = `
import { createHosts } from ${JSON.stringify(HOSTS)};
const net = await createHosts(2, { name: 'c' });
console.log('run ' + net.run);
${then}
`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += String(d)));
  const exit = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += String(d);
      const m = /run (\S+)/.exec(out);
      if (m) resolve({ run: m[1], exit, kill: (sig) => child.kill(sig) });
    });
    exit.then((code) => reject(new Error(`child exited (${code}) before making hosts: ${err}`)));
  });
}

describe.skipIf(!hostsSupported())('separate network hosts (network namespaces on a switch)', () => {
  let net: Hosts;
  let linksBefore: string[];

  beforeAll(async () => {
    sweepStaleHosts();
    linksBefore = rootLinks();
    net = await createHosts(3, { name: 't' });
  });
  afterAll(() => net?.destroy());

  it('gives every host its own address and adds nothing to the root namespace', async () => {
    expect(net.hosts.map((h) => h.ip)).toEqual([1, 2, 3].map((i) => net.subnet.replace(/0\/24$/, String(i))));
    expect(runNamespaces(net.run).sort()).toEqual([net.switchNs, ...net.hosts.map((h) => h.ns)].sort());
    expect(rootLinks()).toEqual(linksBefore);
    const rootAddrs = spawnSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' }).stdout;
    expect(rootAddrs).not.toContain(net.subnet.replace(/0\/24$/, ''));
    for (const h of net.hosts) {
      const r = await net.exec(h, 'ip', ['-o', '-4', 'addr', 'show', 'dev', 'eth0']);
      expect(r.out).toContain(`${h.ip}/24`);
    }
  });

  it('a server on host 1 answers a client on host 2 over the switch; the root namespace cannot reach it', async () => {
    const [h1, h2, h3] = net.hosts;
    const server = net.spawn(h1, process.execPath, ['-e', serverScript(h1.ip)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let serverLog = '';
    await new Promise<void>((resolve, reject) => {
      server.stdout?.on('data', (d: Buffer) => {
        serverLog += String(d);
        if (serverLog.includes('listening')) resolve();
      });
      server.on('exit', (code) => reject(new Error(`server exited ${code}`)));
    });

    const r = await net.exec(h2, process.execPath, ['-e', clientScript(h1.ip)]);
    expect(r.err).toBe('');
    // The server saw the client's own address: the connection crossed the switch, not a loopback.
    expect(r.out.trim()).toBe(`hello from ${h1.ip} to ${h2.ip}`);
    expect((await net.exec(h3, process.execPath, ['-e', clientScript(h1.ip)])).out.trim()).toBe(`hello from ${h1.ip} to ${h3.ip}`);

    // The root namespace has no route of its own to the hosts (at most a default route elsewhere)…
    const route = spawnSync('ip', ['route', 'get', h1.ip], { encoding: 'utf8' });
    expect(route.status !== 0 || / via /.test(route.stdout)).toBe(true);
    expect(spawnSync('ip', ['route', 'show'], { encoding: 'utf8' }).stdout).not.toContain(net.subnet.replace(/0\/24$/, ''));
    // …and a connection from this process never reaches the server, within 2 s.
    const t0 = Date.now();
    const fromRoot = await rootConnect(h1.ip);
    expect(Date.now() - t0).toBeLessThanOrEqual(2000);
    expect(fromRoot.got).not.toContain('hello from');
    expect(serverLog.trim().split('\n')).toEqual(['listening', `conn ${h2.ip}`, `conn ${h3.ip}`]);

    // cut/heal: nftables inside host 1 drops host 3 only.
    await net.cut(h1, h3);
    const cutOff = await net.exec(h3, process.execPath, ['-e', clientScript(h1.ip)]);
    expect(cutOff.code).toBe(2);
    expect((await net.exec(h2, process.execPath, ['-e', clientScript(h1.ip)])).code).toBe(0);
    await net.heal();
    expect((await net.exec(h3, process.execPath, ['-e', clientScript(h1.ip)])).code).toBe(0);
  });

  it('destroy() removes every namespace of the run, kills what ran in them, and may be called again', async () => {
    const other = await createHosts(2, { name: 'd' });
    const sleeper = other.spawn(0, 'sleep', ['60']);
    const exited = new Promise((resolve) => sleeper.on('exit', resolve));
    expect(runNamespaces(other.run)).toHaveLength(3);
    other.destroy();
    other.destroy();
    expect(runNamespaces(other.run)).toEqual([]);
    await exited;
    await expect(other.exec(0, 'true')).rejects.toThrow(/destroyed/);
  });

  it('a test that throws after making hosts leaves no namespace (withHosts / finally)', async () => {
    let run = '';
    await expect(
      withHosts(2, async (n) => {
        run = n.run;
        expect(runNamespaces(run)).toHaveLength(3);
        throw new Error('the test failed');
      }),
    ).rejects.toThrow('the test failed');
    expect(runNamespaces(run)).toEqual([]);
  });

  it('a process that dies after making hosts leaves none: uncaught error, SIGTERM, and SIGKILL then sweepStaleHosts()', async () => {
    const thrown = await childWithHosts(`throw new Error('boom');`);
    expect(await thrown.exit).toBe(1);
    expect(runNamespaces(thrown.run)).toEqual([]);

    const termed = await childWithHosts('setInterval(() => {}, 1000);');
    expect(runNamespaces(termed.run)).toHaveLength(3);
    termed.kill('SIGTERM');
    expect(await termed.exit).toBe('SIGTERM');
    expect(runNamespaces(termed.run)).toEqual([]);

    const killed = await childWithHosts('setInterval(() => {}, 1000);');
    // A live owner's namespaces are not swept (a parallel test file's hosts survive).
    expect(sweepStaleHosts({ before: Date.now() + 1000 })).not.toContain(`${PREFIX}${killed.run}-sw`);
    killed.kill('SIGKILL');
    expect(await killed.exit).toBe('SIGKILL');
    expect(runNamespaces(killed.run)).toHaveLength(3);
    expect(sweepStaleHosts({ before: Date.now() + 1000 }).sort()).toEqual(
      [`${PREFIX}${killed.run}-h0`, `${PREFIX}${killed.run}-h1`, `${PREFIX}${killed.run}-sw`].sort(),
    );
    expect(runNamespaces(killed.run)).toEqual([]);
    // This run's own namespaces were not swept either.
    expect(runNamespaces(net.run)).toHaveLength(4);
  });
});
