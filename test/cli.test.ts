import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SentTx } from '../src/cli/tx.ts';
import type { StoredKey } from '../src/crypto/index.ts';
import type { AccountAnswer, ErrorAnswer, StatusAnswer } from '../src/sdk/wire.ts';

// The `zeus` command line against a real node process, as a user would drive it.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env, ZEUS_KEYSTORE_FAST_KDF: '1', ZEUS_PASSPHRASE: '' };
delete (env as Record<string, string | undefined>).ZEUS_PASSPHRASE;
const dir = mkdtempSync(join(tmpdir(), 'zeus-cli-'));
const home = join(dir, 'home');
let node: ChildProcess | undefined;
let port = 0;

/** Runs `zeus`; json<T>() parses what it printed, T being what the command prints with --json. */
function zeus(...args: string[]): { code: number; out: string; err: string; json: <T>() => T } {
  const r = spawnSync(process.execPath, ['bin/zeus.js', '--home', home, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr, json: <T>() => JSON.parse(r.stdout) as T };
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

beforeAll(async () => {
  port = await freePort();
  const init = zeus('init', '--dev', '--api', `127.0.0.1:${port}`, '--block-time', '150');
  expect(init.code, init.err).toBe(0);
  node = spawn(process.execPath, ['bin/zeus.js', '--home', home, '--json', 'node', 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    node!.stdout!.on('data', (d: Buffer) => {
      if (String(d).includes('"started"')) resolve();
    });
    node!.once('exit', (c) => reject(new Error(`node exited with ${c}`)));
  });
});

afterAll(() => {
  node?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('zeus CLI', () => {
  it('explains itself', () => {
    const r = zeus('--help');
    expect(r.code).toBe(0);
    for (const c of ['keys', 'init', 'genesis', 'node', 'balance', 'transfer', 'token', 'multisig', 'stake', 'unstake', 'chain', 'devnet']) {
      expect(r.out).toContain(c);
    }
    expect(zeus('transfer', '--help').out).toContain('--wait');
  });

  it('says its version, and in --help that JSON amounts are base units', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(zeus('--version').out).toBe(`${version}\n`);
    expect(zeus('-V').out).toBe(`${version}\n`);
    expect(zeus('--json', '--version').json<{ version: string }>()).toEqual({ version });
    const help = zeus('--help').out;
    expect(help).toContain(`zeus ${version}`);
    expect(help).toContain('-V, --version');
    // A subcommand's own --version is its own: app publish's is the app's version.
    expect(zeus('app', 'publish', '--help').out).toMatch(/--version <version> +version, e\.g\. 1\.0\.0/);
    for (const c of [['balance'], ['transfer'], ['task', 'post'], ['task', 'status'], ['app', 'show'], ['lease', 'show'], ['worker', 'list']])
      expect(zeus(...c, '--help').out.replace(/\s+/g, ' '), c.join(' ')).toContain('With --json, amounts are strings of base units: 1 ZNC = 10^8 base units');
    for (const c of [
      ['keys', 'list'],
      ['app', 'init'],
    ])
      expect(zeus(...c, '--help').out, c.join(' ')).not.toContain('base units');
  });

  it('manages keys: new, list, show, export, import', () => {
    const created = zeus('--json', 'keys', 'new', 'erin');
    expect(created.code, created.err).toBe(0);
    const k = created.json<StoredKey>();
    expect(k.address).toMatch(/^znc1/);
    expect(
      zeus('--json', 'keys', 'list')
        .json<StoredKey[]>()
        .map((x) => x.name),
    ).toContain('erin');
    const secret = zeus('--json', 'keys', 'export', 'erin').json<{ name: string; secretKey: string }>().secretKey;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const imported = zeus('--json', 'keys', 'import', 'erin2', '--secret', secret).json<StoredKey>();
    expect(imported.address).toBe(k.address);
    const dup = zeus('keys', 'new', 'erin');
    expect(dup.code).not.toBe(0);
    expect(dup.err).toMatch(/exists/);
  });

  it('transfers with --wait and shows balances', () => {
    const before = BigInt(zeus('--json', 'balance', 'erin').json<AccountAnswer>().balances.ZNC ?? '0');
    const t = zeus('--json', 'transfer', '--from', 'alice', '--to', 'erin', '--amount', '12.5', '--wait');
    expect(t.code, t.err).toBe(0);
    const r = t.json<SentTx>();
    expect(r.status).toBe('committed');
    expect(r.height).toBeGreaterThan(0);
    expect(typeof r.chain).toBe('number');
    // A cross-chain credit lands one height later.
    let after = 0n;
    for (let i = 0; i < 50 && after === before; i++) {
      after = BigInt(zeus('--json', 'balance', 'erin').json<AccountAnswer>().balances.ZNC ?? '0');
      if (after === before) spawnSync('sleep', ['0.1']);
    }
    expect(after - before).toBe(1_250_000_000n);
    expect(zeus('balance', 'erin').out).toContain('12.5');
  });

  it('refuses bad input with a reason and a non-zero exit', () => {
    const tooMuch = zeus('transfer', '--from', 'alice', '--to', 'bob', '--amount', '99999999999', '--wait');
    expect(tooMuch.code).not.toBe(0);
    expect(tooMuch.err).toMatch(/INSUFFICIENT_FUNDS/);
    const vesting = zeus('--json', 'transfer', '--from', 'cornerstone', '--to', 'bob', '--amount', '1');
    expect(vesting.code).not.toBe(0);
    expect(vesting.json<ErrorAnswer>().error.code).toBe('FUNDS_VESTING');
    const badAddr = zeus('transfer', '--from', 'alice', '--to', 'znc1notanaddress', '--amount', '1');
    expect(badAddr.err).toMatch(/invalid address/);
    expect(zeus('transfer', '--from', 'alice', '--to', 'bob', '--amount', '1.123456789').err).toMatch(/more than 8 decimals/);
    expect(zeus('transfer', '--from', 'nobody', '--to', 'bob', '--amount', '1').err).toMatch(/no key named "nobody"/);
    expect(zeus('--json', 'token', 'redeem', '--from', 'alice', '--symbol', 'NOPE', '--amount', '1').json<ErrorAnswer>().error.message).toMatch(
      /unknown token/,
    );
  });

  it('creates, lists, converts and redeems sub-tokens', () => {
    expect(zeus('token', 'create', '--from', 'alice', '--symbol', 'GPU', '--name', 'GPU credit', '--deposit', '100', '--rate', '10', '--wait').code).toBe(0);
    expect(zeus('token', 'create', '--from', 'bob', '--symbol', 'CPU', '--name', 'CPU credit', '--deposit', '10', '--rate', '100', '--wait').code).toBe(0);
    let tokens: { symbol: string; supply: string }[] = [];
    for (let i = 0; i < 50 && tokens.length < 2; i++) {
      tokens = zeus('--json', 'token', 'list').json();
      if (tokens.length < 2) spawnSync('sleep', ['0.1']);
    }
    expect(tokens.find((t) => t.symbol === 'GPU')!.supply).toBe(String(100n * 10n * 100_000_000n));
    let gpu = '0';
    for (let i = 0; i < 50 && gpu === '0'; i++) {
      gpu = zeus('--json', 'balance', 'alice').json<AccountAnswer>().balances.GPU ?? '0';
      if (gpu === '0') spawnSync('sleep', ['0.1']);
    }
    expect(gpu).toBe('100000000000');
    const conv = zeus('token', 'convert', '--from', 'alice', '--source', 'GPU', '--target', 'CPU', '--amount', '5', '--wait');
    expect(conv.code, conv.err).toBe(0);
    const odd = zeus('token', 'redeem', '--from', 'alice', '--symbol', 'GPU', '--amount', '0.00000001', '--wait');
    expect(odd.err).toMatch(/multiple of 10/);
  });

  it('runs the multisig flow and staking', () => {
    const created = zeus('multisig', 'create', '--from', 'alice', '--members', 'alice,bob,carol', '--threshold', '2', '--wait');
    expect(created.code, created.err).toBe(0);
    const ms = /multisig address (znc1\S+)/.exec(created.out)![1];
    expect(zeus('transfer', '--from', 'alice', '--to', ms, '--amount', '100', '--wait').code).toBe(0);
    spawnSync('sleep', ['0.5']);
    const prop = zeus('multisig', 'propose', '--from', 'bob', '--account', ms, '--to', 'dave', '--amount', '40', '--wait');
    expect(prop.code, prop.err).toBe(0);
    expect(prop.out).toContain('proposal id 1');
    const early = zeus('multisig', 'execute', '--from', 'bob', '--account', ms, '--proposal', '1', '--wait');
    expect(early.err).toMatch(/1 of 2 approvals/);
    expect(zeus('multisig', 'approve', '--from', 'carol', '--account', ms, '--proposal', '1', '--wait').code).toBe(0);
    expect(zeus('multisig', 'execute', '--from', 'carol', '--account', ms, '--proposal', '1', '--wait').code).toBe(0);
    const shown = zeus('--json', 'multisig', 'show', ms).json<Pick<AccountAnswer, 'address' | 'balances'> & NonNullable<AccountAnswer['multisig']>>();
    expect(shown.balances.ZNC).toBe(String(60n * 100_000_000n));
    expect(shown.proposals[0].executed).toBe(true);

    expect(zeus('stake', '--from', 'dave', '--amount', '200000', '--wait').code).toBe(0);
    let acc = zeus('--json', 'balance', 'dave').json<AccountAnswer>();
    for (let i = 0; i < 50 && acc.staked === '0'; i++) {
      spawnSync('sleep', ['0.1']);
      acc = zeus('--json', 'balance', 'dave').json<AccountAnswer>();
    }
    expect(acc.staked).toBe(String(200_000n * 100_000_000n));
    expect(acc.quota.limit).toBe(300);
    expect(zeus('unstake', '--from', 'dave', '--amount', '50000', '--wait').code).toBe(0);
    acc = zeus('--json', 'balance', 'dave').json<AccountAnswer>();
    expect(acc.staked).toBe(String(150_000n * 100_000_000n));
    expect(acc.unbonding[0].amount).toBe(String(50_000n * 100_000_000n));
    expect(zeus('unstake', '--from', 'dave', '--amount', '999999999', '--wait').err).toMatch(/INSUFFICIENT_STAKE/);
  }, 150_000); // about 40 s alone: a dozen CLI processes, each waiting for a commit; 60 s was too tight beside other process tests

  it('reports chain status with every chain and the conserved supply', () => {
    const s = zeus('--json', 'chain', 'status').json<StatusAnswer>();
    expect(s.chains).toHaveLength(10);
    expect(s.supply.total).toBe(String(10_000_000_000n * 100_000_000n));
    expect(zeus('chain', 'status').out).toMatch(/inner 9 state [0-9a-f]{64}/);
  });

  it('serves an OpenAPI document describing the API', async () => {
    const doc = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ['/status', '/accounts/{address}', '/txs', '/txs/{hash}', '/blocks/{height}', '/blocks/{height}/chains/{chain}', '/tokens', '/ws']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
  });

  it('says so clearly when no node answers', () => {
    const r = spawnSync(process.execPath, ['bin/zeus.js', '--node', 'http://127.0.0.1:1', 'chain', 'status'], { env, encoding: 'utf8' });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/cannot reach a node/);
  });
});
