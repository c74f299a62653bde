import { afterAll, describe, expect, it } from 'vitest';
import { addressOf, type AddressKind, decodeAddress, encodeAddress, sha256, systemAddress, toHex, utf8 } from '../src/crypto/index.ts';
import { signTx, TxKind, ZNC, ZNC_UNIT } from '../src/ledger/index.ts';
import { signUnchecked } from '../src/ledger/testing.ts';
import { readConfig, writeConfig } from '../src/node/index.ts';
import type {
  AccountAnswer,
  AppAnswer,
  ConsensusAnswer,
  ErrorAnswer,
  HaltAnswer,
  HealthAnswer,
  ReadyAnswer,
  StatusAnswer,
  SubmitAnswer,
  TxStatusAnswer,
} from '../src/sdk/wire.ts';
import {
  api,
  cleanup,
  freePort,
  initDevHome,
  jsonOrUndefined,
  loadDevKeys,
  nextNonce,
  signTransfer,
  startNode,
  status,
  waitFor,
  type DevHome,
  type NamedKey,
  type ZeusProcess,
} from './helpers/processes.ts';

// Real node processes: one zero-fee transaction once stopped every bookkeeper for good (a
// PublishApp whose developer was 20 bytes, admitted and then unencodable when the block was
// built). It is now refused at admission and the chain goes on; and a node whose block production
// stops for any remaining reason says so in /status, /health, its metrics and an error log line.

afterAll(cleanup);

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const octets = { 'content-type': 'application/octet-stream' };

/** What POST /txs answers: the submission (202) or the refusal (4xx). */
type TxsAnswer = Partial<SubmitAnswer & ErrorAnswer>;

async function post(url: string, bytes: Uint8Array) {
  return api<TxsAnswer>(url, 'POST', '/txs', bytes, octets);
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const text = (await api(url, 'GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** The node's JSON log lines (pino) at error level. */
const errorLines = (node: ZeusProcess): { level: number; msg: string; height?: number; tx?: string }[] =>
  node.stdout
    .split('\n')
    .map((l) => jsonOrUndefined(l) as { level?: number; msg: string } | undefined)
    .filter((l): l is { level: number; msg: string } => l?.level !== undefined && l.level >= 50);

async function transfer(url: string, dev: DevHome, from: NamedKey, to: string): Promise<string> {
  const t = signTransfer(from, { chainId: dev.chainId, to, amount: 1n, nonce: await nextNonce(url, from.address, (await chainOf(url, from)).chain) });
  const r = await post(url, t.bytes);
  expect(r.status, r.text).toBe(202);
  return t.hash;
}

async function chainOf(url: string, k: NamedKey): Promise<{ chain: number }> {
  const r = await api<AccountAnswer>(url, 'GET', `/accounts/${k.address}`);
  return { chain: r.json.homeChain };
}

async function committed(url: string, hash: string): Promise<void> {
  await waitFor(async () => (await api<TxStatusAnswer>(url, 'GET', `/txs/${hash}`)).json?.status === 'committed', 15_000, `transaction ${hash} to commit`);
}

describe('one transaction cannot stop the chain', () => {
  it('a PublishApp with a 20-byte developer is refused at admission with a clear code, and the chain keeps committing', async () => {
    const dev = await initDevHome({ prefix: 'zeus-halt-' });
    const { node, url } = await startNode(dev.home);
    const keys = loadDevKeys(dev.home, ['alice', 'bob', 'carol']);
    const before = (await status(url)).height;
    const payload = {
      name: 'web',
      version: '1.0',
      digest: DIGEST,
      developer: decodeAddress(keys.carol.address).slice(1),
      feeToken: ZNC,
      licenseFeePerHour: 1n,
      requiresLicense: false,
    };
    const bad = await post(url, signUnchecked(keys.bob, { chainId: dev.chainId, kind: TxKind.PublishApp, nonce: 0n, payload }));
    expect(bad.status, bad.text).toBe(422);
    expect(bad.json.error!.code).toBe('INVALID_RECIPIENT');
    expect(bad.json.error!.message).toMatch(/PublishApp\.developer/);
    // The same app with carol's real (21-byte) address publishes, and transfers keep committing.
    const good = await post(
      url,
      signTx(keys.bob, { chainId: dev.chainId, kind: TxKind.PublishApp, nonce: 0n, payload: { ...payload, developer: decodeAddress(keys.carol.address) } }),
    );
    expect(good.status, good.text).toBe(202);
    await committed(url, good.json.hash as string);
    await committed(url, await transfer(url, dev, keys.alice, keys.bob.address));
    expect((await status(url)).height).toBeGreaterThan(before + 1);
    expect((await api<AppAnswer>(url, 'GET', '/apps/web')).json.versions[0].developer).toBe(keys.carol.address);
    expect((await api(url, 'GET', '/health')).status).toBe(200);
    expect(errorLines(node)).toEqual([]);
  });

  it('transfers to an address of no kind or to a made-up system account are refused at admission; nothing leaves the sender', async () => {
    const dev = await initDevHome({ prefix: 'zeus-recipient-' });
    const { url } = await startNode(dev.home);
    const keys = loadDevKeys(dev.home, ['alice', 'bob']);
    const balance = async (): Promise<string> => (await api<AccountAnswer>(url, 'GET', `/accounts/${keys.alice.address}`)).json.balances.ZNC;
    const chain = (await chainOf(url, keys.alice)).chain;
    const start = await balance();
    const nowhere = addressOf(0xee as AddressKind, sha256(utf8('nowhere')));
    const r1 = await post(
      url,
      signUnchecked(keys.alice, { chainId: dev.chainId, kind: TxKind.Transfer, nonce: 0n, payload: { to: nowhere, token: ZNC, amount: ZNC_UNIT, memo: '' } }),
    );
    expect(r1.status, r1.text).toBe(422);
    expect(r1.json.error!.code).toBe('INVALID_RECIPIENT');
    expect(r1.json.error!.message).toMatch(/kind byte 0xee/);
    const madeUp = systemAddress('my-savings');
    const r2 = await post(url, signTransfer(keys.alice, { chainId: dev.chainId, to: madeUp, amount: ZNC_UNIT, nonce: 0n }).bytes);
    expect(r2.status, r2.text).toBe(422);
    expect(r2.json.error!.code).toBe('INVALID_RECIPIENT');
    expect(r2.json.error!.message).toContain(encodeAddress(madeUp));
    // The made-up system address is a valid address: the API shows it, empty.
    const shown = await api<AccountAnswer>(url, 'GET', `/accounts/${encodeAddress(madeUp)}`);
    expect(shown.status).toBe(200);
    expect(shown.json.balances.ZNC ?? '0').toBe('0');
    // Nothing moved; alice's nonce is unused and her next transfer commits.
    await committed(url, await transfer(url, dev, keys.alice, keys.bob.address));
    expect(BigInt(await balance())).toBe(BigInt(start) - 1n);
    expect(await nextNonce(url, keys.alice.address, chain)).toBe(1n);
    expect(toHex(nowhere)).toMatch(/^ee/);
  });
});

describe('the liveness alarm', () => {
  async function expectAlarm(node: ZeusProcess, url: string, haltAt: number): Promise<void> {
    await waitFor(async () => (await api(url, 'GET', '/health')).status === 503, 20_000, '/health to answer 503');
    // A halted node's answers: 503 from /health with the error, and the halt in both.
    const health = await api<HealthAnswer & ErrorAnswer & { halted: HaltAnswer }>(url, 'GET', '/health');
    expect(health.json.ok).toBe(false);
    expect(health.json.error.code).toBe('CONSENSUS_STOPPED');
    expect(health.json.halted.reason).toMatch(/stopped: Error: test fault/);
    expect(health.json.halted.height).toBe(haltAt - 1);
    // The probes a supervisor or load balancer uses: both say so.
    const live = await api<HealthAnswer & ErrorAnswer>(url, 'GET', '/health/live');
    expect(live.status).toBe(503);
    expect(live.json.error.code).toBe('CONSENSUS_STOPPED');
    const ready = await api<ReadyAnswer>(url, 'GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.json.ready).toBe(false);
    expect(ready.json.reason).toMatch(/block production stopped: .*test fault/);
    const s = await api<StatusAnswer & { halted: HaltAnswer }>(url, 'GET', '/status');
    expect(s.json.halted.reason).toBe(health.json.halted.reason);
    expect(s.json.height).toBe(haltAt - 1);
    expect(await metric(url, 'zeus_consensus_halted')).toBe(1);
    const errors = errorLines(node);
    expect(errors.length, node.stdout).toBe(1);
    expect(errors[0].msg).toMatch(new RegExp(`stopped after height ${haltAt - 1}: Error: test fault.*no longer commits blocks`));
    expect(errors[0].height).toBe(haltAt - 1);
    // The API still answers; the process is alive.
    expect(node.alive).toBe(true);
  }

  it('a solo node whose block production stopped says so in /status, /health, its metrics and an error log line', async () => {
    const dev = await initDevHome({ prefix: 'zeus-alarm-' });
    const { node, url } = await startNode(dev.home, { args: ['--test-halt-at', '3'] });
    const keys = loadDevKeys(dev.home, ['alice', 'bob']);
    // Healthy first: the alarm is not stuck on.
    expect((await api(url, 'GET', '/health')).json).toEqual({ ok: true, height: 0 });
    expect(await metric(url, 'zeus_consensus_halted')).toBe(0);
    expect((await api(url, 'GET', '/health/live')).status).toBe(200);
    // A solo dev node is ready while it produces: it has no peers to be behind.
    const ready = await api<ReadyAnswer>(url, 'GET', '/health/ready');
    expect(ready.status, ready.text).toBe(200);
    expect(ready.json).toMatchObject({ ready: true, peersHeight: null, peers: 0, maxBehind: 5 });
    expect((await api<StatusAnswer>(url, 'GET', '/status')).json.halted).toBeNull();
    for (let i = 0; i < 2; i++) await committed(url, await transfer(url, dev, keys.alice, keys.bob.address));
    expect((await api(url, 'GET', '/health')).status).toBe(200);
    await transfer(url, dev, keys.alice, keys.bob.address);
    await expectAlarm(node, url, 3);
  });

  it('a bookkeeper whose BFT consensus stopped raises the same alarm', async () => {
    const dev = await initDevHome({ prefix: 'zeus-alarm-bft-', blockTimeMs: 200 });
    const config = readConfig(dev.home);
    // One bookkeeper on the peer-to-peer network: it decides every height alone, in BFT rounds.
    writeConfig(dev.home, { ...config, p2p: { listen: `/ip4/127.0.0.1/tcp/${await freePort()}`, bootstrap: [] } });
    const { node, url } = await startNode(dev.home, { args: ['--test-halt-at', '4'] });
    expect((await api<{ consensus: ConsensusAnswer }>(url, 'GET', '/status')).json.consensus.validators).toBe(1);
    // Alone in the bookkeeper set, it commits without peers: ready with none.
    await waitFor(async () => (await api(url, 'GET', '/health/ready')).status === 200, 10_000, '/health/ready to answer 200');
    await expectAlarm(node, url, 4);
  });
});
