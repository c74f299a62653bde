import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initDevHome } from '../node/index.ts';
import { ZeusClient } from '../sdk/index.ts';

// A local development network of separate node processes on 127.0.0.1. With the solo
// bookkeeper of the ledger issue it is one node; the consensus issue grows it to N.

export interface DevnetInfo {
  dir: string;
  chainId: string;
  nodes: { name: string; home: string; api: string; pid: number; log: string }[];
}

const ZEUS_BIN = fileURLToPath(new URL('../../bin/zeus.js', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export function readDevnet(dir: string): DevnetInfo {
  const p = join(dir, 'devnet.json');
  if (!existsSync(p)) throw new Error(`no devnet in ${dir} (no devnet.json); start one with \`zeus devnet start --dir ${dir}\``);
  return JSON.parse(readFileSync(p, 'utf8')) as DevnetInfo;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface StartDevnetOptions {
  dir: string;
  blockTimeMs: number;
  monthMs?: number;
  onProgress?: (msg: string) => void;
}

/** Initializes (first time) and starts the devnet's node processes; returns once blocks can be made. */
export async function startDevnet(o: StartDevnetOptions): Promise<DevnetInfo> {
  const dir = resolve(o.dir);
  mkdirSync(dir, { recursive: true });
  if (existsSync(join(dir, 'devnet.json'))) {
    const running = readDevnet(dir).nodes.filter((n) => isAlive(n.pid));
    if (running.length) throw new Error(`devnet in ${dir} is already running (pids ${running.map((n) => n.pid).join(', ')}); stop it with \`zeus devnet stop --dir ${dir}\``);
  }
  const home = join(dir, 'node0');
  let chainId = 'zeus-dev-1';
  const port = await freePort();
  if (!existsSync(join(home, 'config.json'))) {
    o.onProgress?.(`creating keys and a dev genesis in ${home}`);
    chainId = initDevHome(home, { apiPort: port, blockIntervalMs: o.blockTimeMs, monthMs: o.monthMs }).genesis.chainId;
  }
  const log = join(dir, 'node0.log');
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, [ZEUS_BIN, '--home', home, 'node', 'start', '--api', `127.0.0.1:${port}`, '--block-time', String(o.blockTimeMs)], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env },
  });
  child.unref();
  const api = `http://127.0.0.1:${port}`;
  o.onProgress?.(`node0 started (pid ${child.pid}), waiting for its API at ${api}`);
  const c = new ZeusClient(api);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      chainId = (await c.status()).chainId;
      break;
    } catch {
      if (!isAlive(child.pid!)) throw new Error(`node0 exited during start-up; see ${log}`);
      if (Date.now() > deadline) throw new Error(`node0 did not answer within 30 s; see ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const info: DevnetInfo = { dir, chainId, nodes: [{ name: 'node0', home, api, pid: child.pid!, log }] };
  writeFileSync(join(dir, 'devnet.json'), `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

export async function stopDevnet(dir: string): Promise<number> {
  const info = readDevnet(dir);
  let stopped = 0;
  for (const n of info.nodes) {
    if (!isAlive(n.pid)) continue;
    process.kill(n.pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (isAlive(n.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(n.pid)) process.kill(n.pid, 'SIGKILL');
    stopped++;
  }
  return stopped;
}
