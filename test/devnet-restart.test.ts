import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive as alive } from '../src/cli/devnet.ts';
import { zeusAsync } from './helpers/processes.ts';

// `zeus devnet start` as a new user runs it: in a shell where ZEUS_PASSPHRASE is exported (for
// their real keys), with --workers 0, stopped and started again, and when a node cannot come up.

const root = mkdtempSync(join(tmpdir(), 'zeus-devnet-restart-'));
const dir = join(root, 'net');
const env: NodeJS.ProcessEnv = { ...process.env, ZEUS_KEYSTORE_FAST_KDF: '1', ZEUS_PASSPHRASE: 'my own passphrase, not the devnet one' };
delete env.ZEUS_HOME;
delete env.ZEUS_NODE;

const zeus = (args: string[]): Promise<{ code: number; out: string; err: string }> => zeusAsync(args, env, 240_000);

interface Devnet {
  nodes: { name: string; api: string; pid: number; home: string }[];
  workers?: unknown[];
  options?: { validators: number; workers: number; sampleApps: boolean };
}
const devnetJson = (): Devnet => JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8')) as Devnet;

/** A transfer signed with a dev key by the CLI, with ZEUS_PASSPHRASE still exported. */
async function transferCommits(): Promise<void> {
  const home = devnetJson().nodes[0].home;
  const t = await zeus(['--home', home, '--json', 'transfer', '--from', 'alice', '--to', 'bob', '--amount', '1.5', '--wait']);
  expect(t.code, t.err + t.out).toBe(0);
  expect(JSON.parse(t.out)).toMatchObject({ status: 'committed' });
}

afterAll(async () => {
  await zeus(['devnet', 'stop', '--dir', dir]);
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('zeus devnet start, stop and start again', () => {
  it('comes up with ZEUS_PASSPHRASE exported: dev homes open with their dev passphrase', async () => {
    const r = await zeus(['devnet', 'start', '--dir', dir, '--validators', '2', '--workers', '0', '--block-time', '250']);
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toMatch(/ZeusNet devnet \S+ is up/);
    const net = devnetJson();
    expect(net.nodes).toHaveLength(2);
    expect(net.nodes.every((n) => alive(n.pid))).toBe(true);
    await transferCommits();
  }, 300_000);

  it('started again after a stop, a devnet made with --workers 0 runs as it was made and commits', async () => {
    const stop = await zeus(['devnet', 'stop', '--dir', dir]);
    expect(stop.code, stop.err).toBe(0);
    expect(devnetJson().nodes.some((n) => alive(n.pid))).toBe(false);
    // No flags: not the defaults (4 nodes, 2 workers) but what it was made with.
    const r = await zeus(['--json', 'devnet', 'start', '--dir', dir]);
    expect(r.code, r.err + r.out).toBe(0);
    const net = devnetJson();
    expect(net.nodes).toHaveLength(2);
    expect(net.workers ?? []).toEqual([]);
    expect(net.options).toMatchObject({ validators: 2, workers: 0, sampleApps: false });
    expect(net.nodes.every((n) => alive(n.pid))).toBe(true);
    await transferCommits();
  }, 300_000);

  it('a start that fails midway says so and leaves no process of it running', async () => {
    expect((await zeus(['devnet', 'stop', '--dir', dir])).code).toBe(0);
    // node1's API port is taken: node1 cannot come up, after node0 already did.
    const port = Number(new URL(devnetJson().nodes[1].api).port);
    const blocker: Server = createServer();
    const accepted = new Set<Socket>();
    // It accepts connections and never answers, like any other program that took the port.
    blocker.on('connection', (s) => accepted.add(s));
    await new Promise<void>((res) => blocker.listen(port, '127.0.0.1', () => res()));
    try {
      const r = await zeus(['devnet', 'start', '--dir', dir]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/the devnet in \S+ did not come up: node1 exited while waiting for API/);
      expect(r.err).toMatch(/stopped the \d+ process\(es\) this start had begun; none of it runs now/);
      // Why node1 ended is in the message, not only in its log.
      expect(r.err).toMatch(/EADDRINUSE|address already in use/i);
      const net = devnetJson();
      expect(net.nodes.filter((n) => alive(n.pid)).map((n) => n.name)).toEqual([]);
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise((res) => blocker.close(res));
    }
    const again = await zeus(['devnet', 'start', '--dir', dir]);
    expect(again.code, again.err + again.out).toBe(0);
    await transferCommits();
  }, 300_000);
});
