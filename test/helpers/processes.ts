import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/cli/devnet.ts';
import { addressFromPublicKey, decodeAddress, encodeAddress, Keystore, toHex, type KeyPair } from '../../src/crypto/index.ts';
import { decodeTx, signTx, TxKind, ZNC } from '../../src/ledger/index.ts';

// Shared helpers for tests that drive real `zeus node start` processes over loopback:
// prepare a dev home, start/kill/stop its node, talk to its HTTP API and WebSocket, load
// the dev keys and sign transfers. Everything a test creates is removed by `cleanup()`.

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LOCAL_NODE = join(ROOT, 'node_modules', '.bin', 'node');
/** The Node 24 binary the repository pins (what `npx` puts first on PATH). */
export const NODE_BIN = existsSync(LOCAL_NODE) ? LOCAL_NODE : process.execPath;
const ZEUS = join(ROOT, 'bin', 'zeus.js');

export const nodeEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ZEUS_KEYSTORE_FAST_KDF: '1' };
  delete env.ZEUS_PASSPHRASE;
  delete env.ZEUS_HOME;
  delete env.ZEUS_NODE;
  return env;
};

const dirs: string[] = [];
const running = new Set<ZeusProcess>();

/** A free TCP port on loopback, outside the kernel's ephemeral range (the devnet's own choice). */
export { freePort };

/** What a `zeus` process ended with. */
export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs the `zeus` CLI to completion. */
export function zeus(home: string, ...args: string[]): CliResult {
  const r = spawnSync(NODE_BIN, [ZEUS, '--home', home, ...args], { env: nodeEnv(), encoding: 'utf8', timeout: 120_000, cwd: ROOT });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/**
 * Runs the `zeus` CLI (bin/zeus.js, with `env` as given) as a child process without blocking this
 * process's event loop: a blocked loop would leave its idle HTTP connections to the nodes stale.
 */
export function zeusAsync(args: string[], env: NodeJS.ProcessEnv, timeout = 300_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ZEUS, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], timeout });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

export interface DevHome {
  dir: string;
  home: string;
  port: number;
  url: string;
  chainId: string;
}

/** `zeus init --dev` in a fresh temp dir on a free loopback port. */
export async function initDevHome(o: { blockTimeMs?: number; accounts?: string[]; prefix?: string } = {}): Promise<DevHome> {
  const dir = mkdtempSync(join(tmpdir(), o.prefix ?? 'zeus-test-'));
  dirs.push(dir);
  const home = join(dir, 'home');
  const port = await freePort();
  const args = ['init', '--dev', '--api', `127.0.0.1:${port}`, '--block-time', String(o.blockTimeMs ?? 150)];
  if (o.accounts) args.push('--accounts', o.accounts.join(','));
  const r = zeus(home, '--json', ...args);
  if (r.code !== 0) throw new Error(`zeus init failed (${r.code}): ${r.err}${r.out}`);
  const chainId = (JSON.parse(r.out) as { chainId: string }).chainId;
  return { dir, home, port, url: `http://127.0.0.1:${port}`, chainId };
}

export interface StartOptions {
  args?: string[];
  nodeOptions?: string[];
  /** Variables added to the node's environment (e.g. ZEUS_PASSPHRASE for a home that is not a dev home). */
  env?: NodeJS.ProcessEnv;
}

/** A running `zeus node start --json` process. */
export class ZeusProcess {
  readonly proc: ChildProcess;
  readonly home: string;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  /** `o.args` go to `node start`; `o.nodeOptions` to the Node binary (e.g. `--import` a preload). */
  constructor(home: string, o: StartOptions = {}) {
    this.home = home;
    this.proc = spawn(NODE_BIN, [...(o.nodeOptions ?? []), ZEUS, '--home', home, '--json', 'node', 'start', ...(o.args ?? [])], {
      env: { ...nodeEnv(), ...o.env },
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout!.on('data', (d: Buffer) => (this.stdout += String(d)));
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += String(d)));
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        running.delete(this);
        resolve(this.exit);
      }),
    );
    running.add(this);
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** Resolves with the API URL once the node prints its `started` event. */
  async started(timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /"event":\s*"started"[\s\S]*?"api":\s*"([^"]+)"/.exec(this.stdout);
      if (m) return m[1];
      if (!this.alive) throw new Error(`node exited (${JSON.stringify(this.exit)}) before starting:\n${this.stderr}${this.stdout}`);
      if (Date.now() > deadline) throw new Error(`node did not start within ${timeoutMs} ms:\n${this.stderr}${this.stdout}`);
      await sleep(20);
    }
  }

  /** SIGKILL: no shutdown code runs, exactly like a crash or power cut of the process. */
  async kill(): Promise<void> {
    if (this.alive) this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait for the graceful shutdown (the store is closed when this resolves). */
  async stop(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.alive && this.proc.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }
}

/** Starts the node of a home and waits until its API answers. */
export async function startNode(home: string, o: StartOptions = {}): Promise<{ node: ZeusProcess; url: string }> {
  const node = new ZeusProcess(home, o);
  const url = await node.started();
  await waitFor(async () => (await api(url, 'GET', '/status')).status === 200, 10_000, 'API /status');
  return { node, url };
}

/** Kills every node still running and removes every temp dir the helpers created. */
export async function cleanup(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** An HTTP answer; T is the body the caller expects (api<T>() states it, nothing checks it). */
export interface ApiAnswer<T = unknown> {
  status: number;
  contentType: string;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: T;
}

/** The parsed JSON of a body, or undefined when it is not JSON. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * One HTTP request; a JSON body is serialized unless it is already a string or bytes. T is the
 * answer's body as the test reads it (e.g. StatusAnswer, ErrorAnswer from src/sdk/wire.ts).
 */
export async function api<T = unknown>(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
  let payload: string | Uint8Array | undefined;
  const h: Record<string, string> = { ...headers };
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Uint8Array) payload = body;
    else {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
  }
  const res = await fetch(`${url}${path}`, { method, headers: h, body: payload as RequestInit['body'] });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json: jsonOrUndefined(text) as T };
}

export interface StatusJson {
  chainId: string;
  height: number;
  /** Block time of the last block (ms). */
  time: number;
  mempool: number;
  receiptsInFlight: number;
  chains: { chain: number; stateRoot: string }[];
}

export async function status(url: string): Promise<StatusJson> {
  const r = await api(url, 'GET', '/status');
  if (r.status !== 200) throw new Error(`GET /status answered ${r.status}: ${r.text}`);
  return r.json as StatusJson;
}

export const stateRoots = (s: StatusJson): string[] => s.chains.map((c) => c.stateRoot);

/**
 * Waits until nothing is pending and the receipts of every committed transaction have landed:
 * the mempool is empty at height H and the node has committed H + 1 (cross-chain credits land
 * one height after their transaction), or nothing at all is in flight.
 *
 * A solo dev node goes quiet once nothing is pending, except that the last height of each
 * election epoch pays the epoch's block rewards by cross-chain credit, which the next height
 * delivers. So "settled" cannot mean "no more blocks"; compare roots per height instead.
 */
export async function waitSettled(url: string, timeoutMs = 30_000): Promise<StatusJson> {
  const deadline = Date.now() + timeoutMs;
  let emptyAt: number | undefined;
  for (;;) {
    const s = await status(url);
    if (s.mempool > 0) emptyAt = undefined;
    else if (emptyAt === undefined) emptyAt = s.height;
    if (emptyAt !== undefined && (s.height >= emptyAt + 1 || s.receiptsInFlight === 0)) return s;
    if (Date.now() > deadline)
      throw new Error(`node not settled after ${timeoutMs} ms: ${JSON.stringify({ height: s.height, mempool: s.mempool, inFlight: s.receiptsInFlight })}`);
    await sleep(50);
  }
}

export interface DevConfig {
  chainId: string;
  devPassphrase: string;
}

export function readDevConfig(home: string): DevConfig {
  return JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as DevConfig;
}

export interface NamedKey extends KeyPair {
  name: string;
  address: string;
}

/** Opens dev keys of a home with its dev passphrase. */
export function loadDevKeys(home: string, names: string[]): Record<string, NamedKey> {
  const ks = new Keystore(join(home, 'keys'));
  const pass = readDevConfig(home).devPassphrase;
  const out: Record<string, NamedKey> = {};
  for (const name of names) {
    const k = ks.load(name, pass);
    out[name] = { ...k, name, address: encodeAddress(addressFromPublicKey(k.publicKey)) };
  }
  return out;
}

export interface SignedTransfer {
  hex: string;
  bytes: Uint8Array;
  hash: string;
  chain: number;
  from: string;
  to: string;
  nonce: bigint;
  amount: bigint;
}

/** Signs a ZNC transfer (or of another token) with an explicit nonce. */
export function signTransfer(
  key: NamedKey,
  o: { chainId: string; to: Uint8Array | string; amount: bigint; nonce: bigint; token?: string; memo?: string },
): SignedTransfer {
  const to = typeof o.to === 'string' ? decodeAddress(o.to) : o.to;
  const bytes = signTx(key, {
    chainId: o.chainId,
    kind: TxKind.Transfer,
    nonce: o.nonce,
    payload: { to, token: o.token ?? ZNC, amount: o.amount, memo: o.memo ?? '' },
  });
  const tx = decodeTx(bytes);
  return { hex: toHex(bytes), bytes, hash: tx.hashHex, chain: tx.chain, from: key.address, to: encodeAddress(to), nonce: o.nonce, amount: o.amount };
}

/** The next nonce of an address on a chain, as the node reports it. */
export async function nextNonce(url: string, address: string, chain: number): Promise<bigint> {
  const r = await api(url, 'GET', `/accounts/${address}`);
  if (r.status !== 200) throw new Error(`GET /accounts/${address} answered ${r.status}: ${r.text}`);
  return BigInt((r.json as { nonces: Record<string, string> }).nonces[chain] ?? '0');
}

/**
 * Transfers from `from` to `to` with consecutive nonces starting at the node's next one (amounts
 * 1,000, 1,001, …, so that each is new bytes).
 */
export async function nextTransfers(url: string, chainId: string, from: NamedKey, to: NamedKey, n: number): Promise<SignedTransfer[]> {
  const probe = signTransfer(from, { chainId, to: to.address, amount: 1n, nonce: 0n });
  const first = await nextNonce(url, from.address, probe.chain);
  return Array.from({ length: n }, (_, i) => signTransfer(from, { chainId, to: to.address, amount: 1_000n + BigInt(i), nonce: first + BigInt(i) }));
}

/** A copy of a signed transaction with one signature bit flipped. */
export function withBadSignature(t: SignedTransfer): Uint8Array {
  const b = t.bytes.slice();
  b[b.length - 1] ^= 1;
  return b;
}

/** Each result of a batch as the status it reports or the code of its refusal. */
export function batchOutcomes(results: readonly ({ status: string } | { error: { code: string } })[]): string[] {
  return results.map((r) => ('error' in r ? r.error.code : r.status));
}

export interface TxEventJson {
  type: 'tx';
  hash: string;
  status: 'pending' | 'committed' | 'rejected';
  chain: number;
  height?: number;
  error?: { code: string; message: string };
}

/** Subscribes to a node's `tx` events over WS /ws; resolves once the socket is open. */
export async function watchTxs(url: string, onEvent: (e: TxEventJson) => void): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?events=tx`);
  ws.addEventListener('message', (m) => onEvent(JSON.parse(String(m.data)) as TxEventJson));
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot open ${url}/ws`)), { once: true });
  });
  return ws;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Posts a body larger than the server accepts and returns the server's answer to it. */
/** T: the refusal's body as the caller reads it. */
export function postOversized<T = unknown>(
  url: string,
  path: string,
  body: string | Uint8Array,
  contentType: string,
  o: { method?: string; headers?: Record<string, string> } = {},
): Promise<ApiAnswer<T>> {
  // The server refuses on the declared content-length alone and closes the connection; if we were
  // still writing the body, the kernel's reset can discard its answer before we read it (EPIPE or
  // ECONNRESET with no response). So: send the headers, wait for the answer, and write the body
  // only if the server does not answer from the headers (then it must read the body to refuse it).
  return new Promise((resolve, reject) => {
    const headers = { ...o.headers, 'content-type': contentType, 'content-length': Buffer.byteLength(body) };
    let settled = false;
    const req = httpRequest(`${url}${path}`, { method: o.method ?? 'POST', headers }, (res) => {
      clearTimeout(bodyTimer);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        settled = true;
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text, json: jsonOrUndefined(text) as T });
        req.destroy();
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(bodyTimer);
      if (!settled) reject(e);
    });
    req.flushHeaders();
    const bodyTimer = setTimeout(() => req.end(body), 3000);
  });
}
