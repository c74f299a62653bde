import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealKeyPairFromSeed } from '../src/crypto/index.ts';
import { addressOf, Tx, ZeusClient, ZNC_UNIT } from '../src/sdk/index.ts';
import { loadDevKeys, NODE_BIN, nodeEnv, ROOT, waitFor, zeus as zeusIn, type NamedKey } from './helpers/processes.ts';

// The SDK's examples run as tests: each examples/sdk/*.ts runs as its own process (`node
// examples/sdk/X.ts`) against a real devnet, and the test checks what it did on the chain. The
// README's example blocks must be those files, word for word.

const EXAMPLES = join(ROOT, 'examples', 'sdk');
const dir = mkdtempSync(join(tmpdir(), 'zeus-sdk-examples-'));
const devnet = join(dir, 'net');
const home = join(devnet, 'node0');
let url: string;
let client: ZeusClient;
let keys: Record<string, NamedKey>;

/** Runs an example to its end; its environment names the devnet and a dev key. */
function run(file: string, args: string[] = [], key = 'alice'): { code: number; out: string; err: string } {
  const r = spawnSync(NODE_BIN, [join(EXAMPLES, file), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...nodeEnv(), ZEUS_NODE: url, ZEUS_HOME: home, ZEUS_KEY: key },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const balance = async (a: string, token = 'ZNC'): Promise<bigint> => BigInt((await client.account(a)).balances[token] ?? '0');

beforeAll(() => {
  const r = zeusIn(join(dir, 'unused'), 'devnet', 'start', '--dir', devnet, '--validators', '1', '--block-time', '250');
  expect(r.code, `${r.err}\n${r.out}`).toBe(0);
  url = (JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8')) as { nodes: { api: string }[] }).nodes[0].api;
  client = new ZeusClient(url);
  keys = loadDevKeys(home, ['alice', 'bob', 'carol', 'dave']);
}, 120_000);

afterAll(() => {
  zeusIn(join(dir, 'unused'), 'devnet', 'stop', '--dir', devnet);
  rmSync(dir, { recursive: true, force: true });
});

describe('README', () => {
  it('every example block is an example file word for word, and every example is in the README', () => {
    const readme = readFileSync(join(ROOT, 'src', 'sdk', 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/<!-- example: (examples\/sdk\/[\w.-]+\.ts) -->\n```ts\n([\s\S]*?)\n```/g)];
    expect(blocks.length).toBeGreaterThan(0);
    for (const [, file, code] of blocks) expect(code, file).toBe(readFileSync(join(ROOT, file), 'utf8').trimEnd());
    const listed = blocks.map((b) => b[1]).sort();
    const files = readdirSync(EXAMPLES)
      .filter((f) => f.endsWith('.ts') && f !== 'env.ts')
      .map((f) => `examples/sdk/${f}`)
      .sort();
    expect(listed).toEqual(files);
  });
});

describe('examples/sdk against a devnet', () => {
  it('keys.ts: a key, its seed, a signature that verifies and a tampered one that does not', () => {
    const r = run('keys.ts');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/from seed\s+znc1\w+ \(same: true\)/);
    expect(r.out).toMatch(/signature\s+64 bytes, verifies: true/);
    expect(r.out).toMatch(/tampered\s+verifies: false/);
  });

  it('transfer.ts: exactly the amount leaves alice and reaches bob', async () => {
    const before = { alice: await balance(keys.alice.address), bob: await balance(keys.bob.address) };
    const r = run('transfer.ts', [keys.bob.address, '2.25']);
    expect(r.code, r.err).toBe(0);
    const hash = /final: hash ([0-9a-f]{64})/.exec(r.out)?.[1];
    expect(hash, r.out).toBeDefined();
    expect((await client.tx(hash!)).status).toBe('committed');
    expect(before.alice - (await balance(keys.alice.address))).toBe(225_000_000n);
    expect((await balance(keys.bob.address)) - before.bob).toBe(225_000_000n);
    expect(r.out).toContain('recipient balance');
  });

  it('subscribe.ts: prints the tx and block events of transfers made while it listens', async () => {
    // A transfer makes three or four events (pending, committed, its block, and the next block if a
    // receipt crosses chains): transfers go on until the example has printed its 4 and exited.
    const child = spawn(NODE_BIN, [join(EXAMPLES, 'subscribe.ts'), '4'], {
      cwd: ROOT,
      env: { ...nodeEnv(), ZEUS_NODE: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let code: number | null | undefined;
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (out += String(d)));
    child.once('exit', (c) => (code = c));
    try {
      await waitFor(() => out.includes('[connection open]'), 20_000, 'the example to connect');
      const tx = await client.execute(keys.dave, Tx.transfer({ to: keys.carol.address, amount: 1n }));
      for (let i = 0; i < 5 && code === undefined; i++) {
        await client.execute(keys.dave, Tx.transfer({ to: keys.carol.address, amount: 1n }));
        await new Promise((r) => setTimeout(r, 500));
      }
      await waitFor(() => code !== undefined, 20_000, 'the example to exit');
      expect(code, out).toBe(0);
      expect(out).toContain(`tx     ${tx.hash} pending`);
      expect(out).toContain(`tx     ${tx.hash} committed`);
      expect(out).toMatch(new RegExp(`block  height ${tx.height}, [1-9]\\d* tx`));
      expect(out).toContain('[connection closed]');
    } finally {
      if (code === undefined) child.kill();
    }
  }, 60_000);

  it('token-stake.ts: the sub-token supply, the deposit and the stake move exactly', async () => {
    const before = await client.account(keys.carol.address);
    const r = run('token-stake.ts', ['GPU'], 'carol');
    expect(r.code, r.err).toBe(0);
    const token = await client.token('GPU');
    expect(token.deposit).toBe(String(10n * ZNC_UNIT));
    expect(token.supply).toBe(String(1000n * ZNC_UNIT));
    expect(await balance(keys.carol.address, 'GPU')).toBe(1000n * ZNC_UNIT);
    const after = await client.account(keys.carol.address);
    expect(BigInt(after.staked) - BigInt(before.staked)).toBe(1000n * ZNC_UNIT);
    expect(BigInt(before.znc.balance) - BigInt(after.znc.balance)).toBe(1010n * ZNC_UNIT);
    const vote = (await client.bookkeepers()).votes.find((v) => v.voter === keys.carol.address);
    expect(vote?.candidates.length).toBeGreaterThan(0);
    expect(r.out).toMatch(/voted for [1-9]\d* candidate/);
  }, 90_000);

  it("quote.ts: the node's candidates and every reason of the refused, and the local matcher agrees", async () => {
    // One worker (dave's): 4 cores, docker only, in eu.
    const bond = BigInt((await client.marketParams()).minWorkerBond);
    await client.execute(keys.dave, Tx.stake(bond));
    await client.execute(
      keys.dave,
      Tx.registerWorker({
        cpuMillis: 4000,
        memoryMiB: 8192,
        diskMiB: 10_000,
        bandwidthMbps: 100,
        gpus: [],
        runtimes: ['docker'],
        region: 'eu',
        endpoint: 'http://127.0.0.1:1',
        sealKey: sealKeyPairFromSeed(keys.dave.secretKey).publicKey,
        priceCpuCoreHour: ZNC_UNIT / 10n,
        priceMemoryGiBHour: ZNC_UNIT / 100n,
        priceGpuHour: 0n,
        bond,
        benchmark: 600,
      }),
    );
    const fits = run('quote.ts', ['docker', '2', '1024', '1']);
    expect(fits.code, fits.err).toBe(0);
    // 2 cores × 0.1 + 1 GiB × 0.01 per hour
    expect(fits.out).toContain(`candidate ${keys.dave.address} asks 0.21 ZNC/h`);
    expect(fits.out).toContain('local matcher agrees: true');
    const refused = run('quote.ts', ['wasm', '8', '1024', '0.1']);
    expect(refused.code, refused.err).toBe(0);
    for (const code of ['RUNTIME', 'CPU', 'PRICE']) expect(refused.out).toMatch(new RegExp(`refused   ${keys.dave.address} ${code}: `));
    expect(refused.out).not.toContain('candidate ');
    expect(refused.out).toContain('local matcher agrees: true');
  }, 60_000);

  it('post-task.ts: the quote reasons, the escrow, the events until the window closes, and why nobody bid', async () => {
    const before = await balance(keys.bob.address);
    const r = run('post-task.ts', ['wasm'], 'bob');
    expect(r.code, r.err).toBe(0);
    // dave's worker offers docker only: the quote says so before posting, the closed window after.
    expect(r.out).toContain(`${keys.dave.address}: RUNTIME (runtime: offers docker, task needs wasm)`);
    const id = /posted task ([0-9a-f]{64})/.exec(r.out)?.[1];
    expect(id, r.out).toBeDefined();
    expect(r.out).toContain('escrow 2 ZNC');
    expect(r.out).toContain('event task-posted');
    expect(r.out).toContain('event window-closed');
    expect(r.out).toMatch(/why nobody bid: .*RUNTIME×1/);
    const t = await client.task(id!);
    expect(t.owner).toBe(keys.bob.address);
    expect(t.noBidReasons).toMatchObject({ RUNTIME: 1 });
    // The escrow (2 ZNC × 1 h × 1 replica) left bob; an expired task returns it.
    await waitFor(async () => (await client.task(id!)).state !== 'open', 20_000, 'the task to leave open');
    const ended = await client.task(id!);
    if (ended.state === 'expired') expect(await client.waitForBalance(keys.bob.address, (b) => b === before)).toBe(before);
    else expect(before - (await balance(keys.bob.address))).toBe(2n * ZNC_UNIT);
    expect(addressOf(keys.bob)).toBe(keys.bob.address);
  }, 90_000);
});
