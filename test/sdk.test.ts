import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addressOf,
  decodeTx,
  keyFromSeed,
  newKey,
  sealKeyPairOfSigningSeed,
  signTx,
  Tx,
  TxKind,
  TxRejectedError,
  ZeusClient,
  ZNC_UNIT,
  type EventSource,
  type NodeEvent,
  type QuoteRequest,
  type TxIntent,
} from '../src/sdk/index.ts';
import { sealKeyPairFromSeed } from '../src/crypto/index.ts';
import { cleanup, initDevHome, loadDevKeys, startNode, waitFor, type ZeusProcess, type DevHome, type NamedKey } from './helpers/processes.ts';

// The SDK against a real node: typed builders for every transaction kind, every query, the event
// stream (with a reconnect across a node restart), waiting for finality and the quotes.

const hexTask = '01'.padEnd(64, 'ab');
const someKey = newKey();
const worker = {
  cpuMillis: 4000,
  memoryMiB: 8192,
  diskMiB: 10_000,
  bandwidthMbps: 100,
  gpus: [{ model: 'A100', memoryMiB: 40_960, count: 1 }],
  runtimes: ['docker'],
  region: 'eu',
  endpoint: 'http://127.0.0.1:1',
  sealKey: new Uint8Array(32).fill(9),
  priceCpuCoreHour: 10n,
  priceMemoryGiBHour: 2n,
  priceGpuHour: 100n,
};
const usage = { cpuSeconds: 1n, memoryGiBSeconds: 2n, gpuSeconds: 0n, networkBytes: 3n, wallMs: 4n };
const ALL_INTENTS: TxIntent[] = [
  Tx.transfer({ to: addressOf(someKey), amount: 1n }),
  Tx.tokenCreate({ symbol: 'GPU', name: 'GPU hours', decimals: 2, anchorRate: 100n, deposit: 10n }),
  Tx.tokenRedeem({ symbol: 'GPU', amount: 1n }),
  Tx.tokenConvert({ from: 'GPU', to: 'ZNC', amount: 1n }),
  Tx.multisigCreate({ members: [addressOf(someKey), addressOf(newKey())], threshold: 2 }),
  Tx.multisigPropose({ account: addressOf(someKey), to: addressOf(someKey), amount: 5n }),
  Tx.multisigApprove({ account: addressOf(someKey), proposal: 1n }),
  Tx.multisigExecute({ account: addressOf(someKey), proposal: 1n }),
  Tx.stake(1n),
  Tx.unstake(1n),
  Tx.registerCandidate('bk'),
  Tx.voteBookkeepers([addressOf(someKey)]),
  Tx.delegate(addressOf(someKey)),
  Tx.unjail(),
  Tx.submitEvidence(new Uint8Array([1]), new Uint8Array([2])),
  Tx.registerWorker({ ...worker, bond: 1n, benchmark: 500 }),
  Tx.updateWorker({ ...worker, sealKey: '09'.repeat(32) }),
  Tx.leaveWorker(),
  Tx.publishApp({ name: 'app', version: '1.0', digest: `sha256:${'0'.repeat(64)}` }),
  Tx.deprecateApp({ name: 'app', version: '1.0' }),
  Tx.acquireLicense('app'),
  Tx.postTask({ image: `sha256:${'0'.repeat(64)}`, cpuMillis: 1000, memoryMiB: 512, runtime: 'docker', maxPricePerHour: 100n }),
  Tx.cancelTask(hexTask),
  Tx.topUpTask({ task: hexTask, amount: 1n }),
  Tx.bid({ task: hexTask, price: 1n }),
  Tx.acceptBid({ task: hexTask, worker: addressOf(someKey) }),
  Tx.startLease({ task: hexTask, lease: 0, endpoint: 'http://w' }),
  Tx.reportUsage({ task: hexTask, lease: 0, seq: 1, ...usage }),
  Tx.submitResult({ task: hexTask, lease: 0, digest: `sha256:${'1'.repeat(64)}`, ...usage }),
  Tx.dispute({ task: hexTask, lease: 0 }),
  Tx.withdrawBid({ task: hexTask }),
  Tx.submitAppOutcome({ task: hexTask, lease: 0, exitCode: 3, oomKilled: false, cause: '', logDigest: `sha256:${'2'.repeat(64)}`, ...usage }),
  Tx.releaseLease({ task: hexTask, lease: 0, reason: 'MANIFEST_UNAVAILABLE' }),
  Tx.commitResult({ task: hexTask, lease: 0, commitment: new Uint8Array(32).fill(3), ...usage }),
  Tx.revealResult({ task: hexTask, lease: 0, salt: new Uint8Array(32).fill(4), digest: `sha256:${'5'.repeat(64)}` }),
  Tx.proposeParamChange({ title: 'bond', changes: { 'market.minWorkerBond': 200n }, deposit: 10n }),
  Tx.govDeposit({ proposal: 1n, amount: 5n }),
  Tx.govVote({ proposal: 1n, option: 'no' }),
];

describe('Tx builders', () => {
  it('cover every transaction kind, and each signs and decodes to the same payload', () => {
    expect(new Set(ALL_INTENTS.map((i) => i.kind))).toEqual(new Set(Object.values(TxKind)));
    for (const intent of ALL_INTENTS) {
      const tx = decodeTx(signTx(someKey, { chainId: 'zeus-dev-1', kind: intent.kind, nonce: 7n, payload: intent.payload }));
      expect(tx.kind).toBe(intent.kind);
      expect(tx.body.payload).toEqual(intent.payload);
    }
  });

  it('keys: a seed gives the same key as hex or bytes; addresses are znc1…', () => {
    const k = newKey();
    expect(keyFromSeed(Buffer.from(k.secretKey).toString('hex')).publicKey).toEqual(k.publicKey);
    expect(addressOf(k)).toMatch(/^znc1/);
    expect(addressOf(k.publicKey)).toBe(addressOf(k));
  });
});

describe('ZeusClient against a real node', () => {
  let dev: DevHome;
  let node: ZeusProcess;
  let client: ZeusClient;
  let keys: Record<string, NamedKey>;
  const subs: EventSource[] = [];

  beforeAll(async () => {
    dev = await initDevHome({ blockTimeMs: 200, prefix: 'zeus-sdk-' });
    const started = await startNode(dev.home);
    node = started.node;
    client = new ZeusClient(started.url);
    keys = loadDevKeys(dev.home, ['alice', 'bob', 'carol']);
  }, 60_000);

  afterAll(async () => {
    for (const s of subs) s.close();
    await cleanup();
  });

  it('answers every query', async () => {
    const s = await client.status();
    expect(await client.chainId()).toBe(s.chainId);
    // A node makes blocks as transactions come: two transfers, two blocks at least.
    for (const to of [keys.bob.address, keys.carol.address]) await client.execute(keys.alice, Tx.transfer({ to, amount: 1n }));
    const blocks = await client.blocks({ limit: 2 });
    expect(blocks.blocks).toHaveLength(2);
    expect(blocks.blocks[0].height).toBeGreaterThan(blocks.blocks[1].height);
    const b = await client.block(blocks.blocks[1].height);
    expect(b.hash).toBe(blocks.blocks[1].hash);
    expect((await client.segment(b.height, 0)).chain).toBe(0);
    expect(BigInt((await client.supply()).total)).toBe(10_000_000_000n * ZNC_UNIT);
    expect(await client.metrics()).toMatch(/^# HELP/m);
    expect((await client.openapi()).openapi).toBeDefined();
    expect((await client.bookkeepers()).set.length).toBeGreaterThan(0);
    expect((await client.marketParams()).minWorkerBond).toMatch(/^\d+$/);
    expect((await client.workers()).workers).toEqual([]);
    expect((await client.apps()).apps).toEqual([]);
    expect((await client.tasks({ state: 'open' })).tasks).toEqual([]);
    expect((await client.leases({})).leases).toEqual([]);
    expect((await client.tokens()).tokens).toEqual([]);
    await expect(client.token('NOPE')).rejects.toMatchObject({ code: 'UNKNOWN_TOKEN' });
    expect((await client.account(keys.alice.address)).znc.balance).toMatch(/^\d+$/);
  });

  it('executes a transfer, sees it final through the event stream, and its tx events arrive in order', async () => {
    const events: NodeEvent[] = [];
    const sub = client.subscribe({ events: ['tx', 'block'], onEvent: (e) => events.push(e) });
    subs.push(sub);
    await sub.ready;
    const fresh = newKey();
    const final = await client.execute(keys.alice, Tx.transfer({ to: addressOf(fresh), amount: 3n * ZNC_UNIT, memo: 'sdk test' }), { events: sub });
    expect(final.status).toBe('committed');
    expect(final.inclusion?.proof.leaf).toBe(final.hash);
    expect(final.tx?.kind).toBe('Transfer');
    const mine = events.filter((e) => e.type === 'tx' && e.hash === final.hash);
    expect(mine.map((e) => e.type === 'tx' && e.status)).toEqual(['pending', 'committed']);
    expect(events.some((e) => e.type === 'block')).toBe(true);
    expect(await client.waitForBalance(addressOf(fresh), (x) => x > 0n)).toBe(3n * ZNC_UNIT);
  });

  it('waitForFinality works by polling alone, and a rejected transaction throws its code', async () => {
    const sent = await client.submitIntent(keys.bob, Tx.transfer({ to: keys.carol.address, amount: 1n }));
    expect((await client.waitForFinality(sent.hash, { pollOnly: true })).status).toBe('committed');
    const broke = newKey();
    const err = await client.execute(broke, Tx.transfer({ to: keys.carol.address, amount: 1n })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxRejectedError);
    expect((err as TxRejectedError).code).toMatch(/INSUFFICIENT|BALANCE|FUNDS/);
  });

  it('iterates events with for await, reconnects after the node restarts, and ends on close()', async () => {
    const states: string[] = [];
    const sub = client.subscribe({ events: ['tx'], reconnect: { initialMs: 100, maxMs: 500 }, onState: (s) => states.push(s) });
    subs.push(sub);
    const committed: string[] = [];
    const reader = (async () => {
      for await (const e of sub) {
        if (e.type === 'tx' && e.status === 'committed') committed.push(e.hash);
        if (committed.length === 2) break;
      }
    })();
    await sub.ready;
    const before = await client.execute(keys.bob, Tx.transfer({ to: keys.carol.address, amount: 1n }), { pollOnly: true });
    await waitFor(() => committed.length === 1, 10_000, 'the first commit event');
    await node.stop();
    await waitFor(() => states.includes('reconnecting'), 10_000, 'the drop noticed');
    node = (await startNode(dev.home)).node;
    await waitFor(() => sub.connection === 'open', 15_000, 'the reconnect');
    const after = await client.execute(keys.bob, Tx.transfer({ to: keys.carol.address, amount: 1n }), { pollOnly: true });
    await reader;
    expect(committed).toEqual([before.hash, after.hash]);
    expect(sub.reconnects).toBeGreaterThan(0);
    expect(sub.connection).toBe('open'); // leaving the loop does not end the subscription
    sub.close();
    expect(sub.connection).toBe('closed');
    expect(await sub[Symbol.asyncIterator]().next()).toEqual({ value: undefined, done: true });
    expect(states).toEqual(expect.arrayContaining(['open', 'reconnecting', 'closed']));
  }, 60_000);

  it('quotes through the node and locally with the same matcher: the same candidates and reasons', async () => {
    const params = await client.marketParams();
    const bond = BigInt(params.minWorkerBond);
    await client.execute(keys.carol, Tx.stake(bond));
    await client.execute(keys.carol, Tx.registerWorker({ ...worker, sealKey: sealKeyPairFromSeed(keys.carol.secretKey).publicKey, bond, benchmark: 700 }));
    const fits: QuoteRequest = { cpuMillis: 2000, memoryMiB: 4096, runtime: 'docker', maxPricePerHour: String(ZNC_UNIT) };
    const node1 = await client.quote(fits);
    expect(node1.candidates.map((c) => c.worker)).toEqual([keys.carol.address]);
    // 2 cores × 10 + 4 GiB × 2 per hour
    expect(node1.candidates[0].ask).toBe('28');
    expect(await client.quoteLocally(fits)).toEqual(node1);
    const misfit: QuoteRequest = { cpuMillis: 8000, memoryMiB: 512, runtime: 'wasm', region: 'us', maxPricePerHour: '1' };
    const node2 = await client.quote(misfit);
    expect(node2.refused[0].reasons.map((r) => r.code).sort()).toEqual(['CPU', 'PRICE', 'REGION', 'RUNTIME']);
    expect(await client.quoteLocally(misfit)).toEqual(node2);
    // Sealing for a task goes to the candidates' seal keys: carol's worker key opens it.
    const { sealed, candidates } = await client.sealForTask(fits, { secrets: { TOKEN: 's3cret' } });
    expect(candidates).toEqual([keys.carol.address]);
    const { openSealed } = await import('../src/sdk/index.ts');
    expect(new TextDecoder().decode(openSealed(sealKeyPairFromSeed(keys.carol.secretKey), sealed))).toContain('s3cret');
    expect(() => openSealed(sealKeyPairOfSigningSeed(keys.carol.secretKey), sealed)).toThrow();
  });

  it('posts a task and follows its market events until its bid window closes', async () => {
    const spec = {
      image: `sha256:${'a'.repeat(64)}`,
      cpuMillis: 1000,
      memoryMiB: 512,
      runtime: 'wasm' as const,
      maxPricePerHour: 5n * ZNC_UNIT,
      bidWindowBlocks: 3,
    };
    const sub = client.subscribe({ events: ['market'] });
    subs.push(sub);
    await sub.ready;
    const { id, tx } = await client.postTask(keys.alice, spec, { events: sub });
    expect(tx.status).toBe('committed');
    const kinds: string[] = [];
    for await (const e of client.taskEvents(id, { events: sub })) {
      kinds.push(e.kind);
      if (e.kind === 'window-closed') break;
    }
    expect(kinds).toContain('window-closed');
    const t = await client.task(id);
    expect(t.owner).toBe(keys.alice.address);
    // Nobody offers wasm: the closed window says why.
    expect(t.noBidReasons).toMatchObject({ RUNTIME: 1 });
  }, 60_000);
});
