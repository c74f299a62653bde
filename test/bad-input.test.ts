import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../src/codec/index.ts';
import { decodeAddress, fromHex, signBytes, toHex } from '../src/crypto/index.ts';
import { decodeTx, MAX_TX_BYTES, PayloadSchemas, SignedTxSchema, signingBytes, signTx, TxKind } from '../src/ledger/index.ts';
import type { AccountAnswer, BlockAnswer, ErrorAnswer, SubmitAnswer, TxStatusAnswer } from '../src/sdk/wire.ts';
import {
  api,
  cleanup,
  initDevHome,
  loadDevKeys,
  signTransfer,
  sleep,
  startNode,
  status,
  waitFor,
  waitSettled,
  type ApiAnswer,
  postOversized,
  type DevHome,
  type NamedKey,
  type ZeusProcess,
} from './helpers/processes.ts';

// One real node process gets every kind of bad input a client can send. Each must be refused
// with a 4xx JSON answer {error:{code,message}} whose message names the problem; the node
// must keep running and its state must not move.

const BLOCK_MS = 150;
let h: DevHome;
let node: ZeusProcess;
let url: string;
let k: Record<string, NamedKey>;

beforeAll(async () => {
  h = await initDevHome({ blockTimeMs: BLOCK_MS, prefix: 'zeus-bad-' });
  ({ node, url } = await startNode(h.home));
  k = loadDevKeys(h.home, ['alice', 'bob', 'carol', 'dave', 'cornerstone']);
});

afterAll(cleanup);

/** Deterministic bytes (mulberry32), so a failing case replays. */
function prng(seed: number): (n: number) => Uint8Array {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

/** What POST /txs answers for one transaction, as these tests read it: its submission or its refusal. */
type TxsAnswer = Partial<SubmitAnswer & ErrorAnswer>;

function expectError(r: ApiAnswer, httpStatus: number, code: string, message?: RegExp): void {
  const what = `${httpStatus} ${code} expected, got ${r.status}: ${r.text.slice(0, 300)}`;
  expect(r.status, what).toBe(httpStatus);
  expect(r.contentType, what).toMatch(/^application\/json/);
  expect((r.json as Partial<ErrorAnswer> | undefined)?.error?.code, what).toBe(code);
  const { error } = r.json as ErrorAnswer;
  expect(typeof error.message, what).toBe('string');
  expect(error.message.length, what).toBeGreaterThan(0);
  if (message) expect(error.message, what).toMatch(message);
}

const postTx = (hex: unknown): Promise<ApiAnswer<TxsAnswer>> => api(url, 'POST', '/txs', { tx: hex });
const postRaw = (bytes: Uint8Array): Promise<ApiAnswer<TxsAnswer>> => api(url, 'POST', '/txs', bytes, { 'content-type': 'application/octet-stream' });

async function account(name: string): Promise<AccountAnswer> {
  const r = await api<AccountAnswer>(url, 'GET', `/accounts/${k[name].address}`);
  expect(r.status).toBe(200);
  return r.json;
}

async function snapshot(): Promise<{ roots: string[]; height: number; mempool: number; accounts: unknown[] }> {
  const s = await status(url);
  return {
    roots: s.chains.map((c) => c.stateRoot),
    height: s.height,
    mempool: s.mempool,
    accounts: await Promise.all(Object.keys(k).map(account)),
  };
}

/** A valid transfer from `from` with the node's next nonce (never submitted unless a test does). */
async function validTransfer(from: string, o: { amount?: bigint; nonceOffset?: bigint; to?: string; token?: string } = {}) {
  const probe = decodeTx(
    signTx(k[from], { chainId: h.chainId, kind: TxKind.Transfer, nonce: 0n, payload: { to: fromHex('00'.repeat(21)), token: 'ZNC', amount: 1n, memo: '' } }),
  );
  const acc = await account(from);
  const nonce = BigInt(acc.nonces[probe.chain] ?? '0') + (o.nonceOffset ?? 0n);
  return signTransfer(k[from], { chainId: h.chainId, to: k[o.to ?? 'bob'].address, amount: o.amount ?? 1_000n, nonce, token: o.token });
}

/** Signs arbitrary SignedTx fields the way a wallet would (for kinds and chains the SDK refuses). */
function signRaw(key: NamedKey, f: { chainId: string; kind: number; nonce: bigint; payload: Uint8Array }): Uint8Array {
  const unsigned = { chainId: f.chainId, kind: f.kind, sender: key.publicKey, nonce: f.nonce, payload: f.payload };
  return encode(SignedTxSchema, { ...unsigned, signature: signBytes(key.secretKey, signingBytes(unsigned)) });
}

/** Every block committed in (from, to] holds no transaction. */
async function expectEmptyBlocks(from: number, to: number): Promise<void> {
  for (let height = from + 1; height <= to; height++) {
    const b = await api<BlockAnswer>(url, 'GET', `/blocks/${height}`);
    expect(b.status).toBe(200);
    expect(b.json.txCount, `block ${height} carries transactions`).toBe(0);
  }
}

describe('bad input against a running node', () => {
  it('refuses malformed, oversized, unauthentic and inadmissible transactions with a 4xx that says why, and nothing changes', async () => {
    const before = await snapshot();
    expect(before.height).toBe(0); // no block yet: a dev node makes blocks only when there is work
    expect(before.mempool).toBe(0);
    const rnd = prng(0x5eed);
    const good = await validTransfer('alice');
    const refusedHashes: string[] = [];
    // Refused transactions that decode: afterwards none of them may be known to the node.
    const decodable = (bytes: Uint8Array): Uint8Array => {
      refusedHashes.push(decodeTx(bytes).hashHex);
      return bytes;
    };
    const refused = (t: { bytes: Uint8Array; hex: string }): string => {
      decodable(t.bytes);
      return t.hex;
    };

    // Malformed encodings.
    for (const n of [1, 7, 64, 200, 1000]) {
      expectError(await postTx(toHex(rnd(n))), 400, 'BAD_ENCODING', /malformed/);
      expectError(await postRaw(rnd(n)), 400, 'BAD_ENCODING', /malformed/);
    }
    expectError(await postTx(toHex(good.bytes.subarray(0, good.bytes.length - 1))), 400, 'BAD_ENCODING', /malformed transaction/);
    expectError(await postTx(toHex(good.bytes.subarray(0, 40))), 400, 'BAD_ENCODING', /malformed transaction/);
    expectError(await postTx(`${good.hex}00`), 400, 'BAD_ENCODING', /malformed transaction/);
    expectError(await postRaw(Uint8Array.from([...good.bytes, 0])), 400, 'BAD_ENCODING', /malformed transaction/);
    expectError(await postTx(`zz${good.hex.slice(2)}`), 400, 'BAD_ENCODING', /hex/);
    expectError(await postTx('not hex at all'), 400, 'BAD_ENCODING', /hex/);
    expectError(await postTx(good.hex.slice(1)), 400, 'BAD_ENCODING', /even-length hex/);
    expectError(await postTx(''), 400, 'BAD_ENCODING', /malformed transaction/);
    expectError(await postTx(12345), 400, 'BAD_ENCODING', /hex/);
    expectError(await api(url, 'POST', '/txs', {}), 400, 'BAD_ENCODING', /hex/);
    expectError(await api(url, 'POST', '/txs', '"just a string"', { 'content-type': 'application/json' }), 400, 'INVALID_REQUEST', /body must be/);
    expectError(await api(url, 'POST', '/txs', '{"tx": "ab', { 'content-type': 'application/json' }), 400, 'INVALID_JSON', /not valid JSON/);
    expectError(await api(url, 'POST', '/txs', '<tx/>', { 'content-type': 'application/xml' }), 415, 'UNSUPPORTED_MEDIA_TYPE');

    // Sizes: a transaction over 8 KiB, a body over the 16 MiB limit, a batch over 10,000.
    const huge = Uint8Array.from([...good.bytes, ...new Uint8Array(MAX_TX_BYTES + 1 - good.bytes.length + 100)]);
    expectError(await postTx(toHex(huge)), 413, 'TX_TOO_LARGE', new RegExp(`limit is ${MAX_TX_BYTES}`));
    expectError(await postRaw(huge), 413, 'TX_TOO_LARGE', /bytes/);
    expectError(
      await postOversized(url, '/txs', JSON.stringify({ tx: 'ab'.repeat(8.5 * 1024 * 1024) }), 'application/json'),
      413,
      'BODY_TOO_LARGE',
      /too large/,
    );
    expectError(await api(url, 'POST', '/txs', { txs: Array(10_001).fill(good.hex) }), 413, 'BATCH_TOO_LARGE', /10000/);

    // Authenticity: a flipped signature bit, someone else's key claimed as sender.
    const flipped = Uint8Array.from(good.bytes);
    flipped[flipped.length - 1] ^= 0x01;
    expectError(await postTx(toHex(decodable(flipped))), 401, 'BAD_SIGNATURE', /signature/);
    const t = decodeTx(good.bytes);
    const impostor = encode(SignedTxSchema, {
      chainId: t.chainId,
      kind: t.kind,
      sender: k.bob.publicKey,
      nonce: t.nonce,
      payload: encode(PayloadSchemas[TxKind.Transfer], t.body.payload as never),
      signature: t.signature,
    });
    expectError(await postTx(toHex(decodable(impostor))), 401, 'BAD_SIGNATURE', /signature/);

    // Wrong network, unknown kind.
    const otherChain = signTx(k.alice, {
      chainId: 'zeus-other-7',
      kind: TxKind.Transfer,
      nonce: 0n,
      payload: { to: fromHex('00'.repeat(21)), token: 'ZNC', amount: 1n, memo: '' },
    });
    expectError(await postTx(toHex(decodable(otherChain))), 400, 'WRONG_CHAIN_ID', /chain "zeus-other-7".*zeus-dev-1/);
    expectError(
      await postTx(toHex(signRaw(k.alice, { chainId: h.chainId, kind: 99, nonce: 0n, payload: new Uint8Array() }))),
      400,
      'UNKNOWN_TX_KIND',
      /kind 99/,
    );

    // Admission against state: nonce ahead, more than the balance, still vesting, unknown token, zero.
    expectError(await postTx(refused(await validTransfer('alice', { nonceOffset: 3n }))), 409, 'NONCE_GAP', /nonce 3 is ahead.*expects 0/);
    const aliceZnc = BigInt((await account('alice')).balances.ZNC);
    const tooMuch = await validTransfer('alice', { amount: aliceZnc + 1n });
    expectError(await postTx(refused(tooMuch)), 422, 'INSUFFICIENT_FUNDS', /requested/);
    const vesting = await validTransfer('cornerstone', { amount: 100_000_000n });
    expectError(await postTx(refused(vesting)), 422, 'FUNDS_VESTING', /vested/);
    const noToken = await validTransfer('alice', { token: 'NOPE' });
    expectError(await postTx(refused(noToken)), 422, 'UNKNOWN_TOKEN', /unknown token "NOPE"/);
    const zero = await validTransfer('alice', { amount: 0n });
    expectError(await postTx(refused(zero)), 422, 'INVALID_AMOUNT', /greater than zero/);

    // Queries and routes.
    expectError(await api(url, 'GET', '/accounts/znc1notanaddress'), 400, 'INVALID_ADDRESS', /not a valid znc1… address/);
    expectError(await api(url, 'GET', '/accounts/hello'), 400, 'INVALID_ADDRESS', /address/);
    const a = k.alice.address;
    const badChecksum = a.slice(0, -1) + (a.endsWith('q') ? 'p' : 'q');
    expectError(await api(url, 'GET', `/accounts/${badChecksum}`), 400, 'INVALID_ADDRESS', /address/);
    const r414 = await api<Partial<ErrorAnswer>>(url, 'GET', `/accounts/${'x'.repeat(500)}`);
    expect(r414.status).toBeGreaterThanOrEqual(400);
    expect(r414.status).toBeLessThan(500);
    expect(r414.json?.error?.code).toBeTypeOf('string');
    expectError(await api(url, 'GET', '/accounts/%ff%fe'), 400, 'BAD_URL', /'\/accounts\/%ff%fe' has a malformed %-escape/);
    expectError(await api(url, 'GET', `/txs/${'0'.repeat(64)}`), 404, 'UNKNOWN_TX', /no transaction/);
    expectError(await api(url, 'GET', '/txs/not-a-hash'), 400, 'INVALID_REQUEST', /hash/);
    expectError(await api(url, 'GET', '/blocks/99999'), 404, 'UNKNOWN_BLOCK', /no block at height 99999/);
    expectError(await api(url, 'GET', '/blocks/-3'), 400, 'INVALID_REQUEST', /height/);
    expectError(await api(url, 'GET', '/blocks/1/chains/10'), 400, 'INVALID_REQUEST', /chain/);
    expectError(await api(url, 'GET', '/no/such/route'), 404, 'NOT_FOUND', /no route GET \/no\/such\/route/);
    expectError(await api(url, 'DELETE', '/txs'), 404, 'NOT_FOUND', /no route DELETE/);
    expectError(await api(url, 'GET', '/ws'), 426, 'UPGRADE_REQUIRED', /WebSocket/);

    // Nothing of it reached the chain: no block was made, no root moved, no account changed,
    // and no refused transaction is known to the node (not pending, not rejected later).
    await sleep(3 * BLOCK_MS);
    expect(node.alive).toBe(true);
    expect(await snapshot()).toEqual(before);
    for (const hash of refusedHashes) expectError(await api(url, 'GET', `/txs/${hash}`), 404, 'UNKNOWN_TX');
  });

  it('refuses a replayed nonce and a duplicate without touching the sender', async () => {
    const tx = await validTransfer('alice', { to: 'carol', amount: 5_000n });
    const ok = await postTx(tx.hex);
    expect(ok.status, ok.text).toBe(202);
    expect(ok.json).toMatchObject({ hash: tx.hash, chain: tx.chain, status: 'pending' });
    const dup = await postTx(tx.hex);
    // Still pending: DUPLICATE_TX; if a block took it in between: NONCE_REPLAYED.
    expect(['DUPLICATE_TX', 'NONCE_REPLAYED']).toContain(dup.json?.error?.code);
    expect(dup.status).toBe(409);
    await waitFor(async () => (await api<TxStatusAnswer>(url, 'GET', `/txs/${tx.hash}`)).json?.status === 'committed', 10_000, 'the transfer to commit');
    const settled = await waitSettled(url);
    const aliceBefore = await account('alice');
    expect(aliceBefore.nonces[tx.chain]).toBe('1');

    const replay = signTransfer(k.alice, { chainId: h.chainId, to: k.dave.address, amount: 9_999n, nonce: 0n });
    expectError(await postTx(replay.hex), 409, 'NONCE_REPLAYED', /nonce 0 was already used on chain \d; next is 1/);
    expectError(await postTx(tx.hex), 409, 'NONCE_REPLAYED', /nonce/);

    await sleep(3 * BLOCK_MS);
    const after = await status(url);
    expect(node.alive).toBe(true);
    expect(after.mempool).toBe(0);
    expect(await account('alice')).toEqual(aliceBefore);
    // (A dev node keeps making blocks to pay its own rewards; none of them carries a transaction.)
    await expectEmptyBlocks(settled.height, after.height);
    expectError(await api(url, 'GET', `/txs/${replay.hash}`), 404, 'UNKNOWN_TX');
  });

  it('answers a batch mixing good and bad transactions item by item', async () => {
    const good = await validTransfer('bob', { to: 'carol', amount: 777n });
    const badSig = Uint8Array.from((await validTransfer('carol')).bytes);
    badSig[badSig.length - 10] ^= 0x80;
    const wrongChain = signTx(k.dave, {
      chainId: 'zeus-other-7',
      kind: TxKind.Transfer,
      nonce: 0n,
      payload: { to: decodeAddress(k.bob.address), token: 'ZNC', amount: 1n, memo: '' },
    });
    const gap = await validTransfer('dave', { nonceOffset: 5n });
    const replayed = signTransfer(k.alice, { chainId: h.chainId, to: k.bob.address, amount: 1n, nonce: 0n });
    const r = await api<{ results: TxsAnswer[] }>(url, 'POST', '/txs', {
      txs: [good.hex, toHex(badSig), 'xyz', toHex(wrongChain), gap.hex, replayed.hex, 42, '00'],
    });
    expect(r.status, r.text).toBe(202);
    const results = r.json.results;
    expect(results).toHaveLength(8);
    expect(results[0]).toEqual({ hash: good.hash, chain: good.chain, status: 'pending' });
    const codes = results.slice(1).map((x) => x.error?.code);
    expect(codes).toEqual(['BAD_SIGNATURE', 'BAD_ENCODING', 'WRONG_CHAIN_ID', 'NONCE_GAP', 'NONCE_REPLAYED', 'BAD_ENCODING', 'BAD_ENCODING']);
    for (const x of results.slice(1)) expect(x.error!.message.length).toBeGreaterThan(0);
    expect(results[1].error!.message).toMatch(/signature/);
    expect(results[3].error!.message).toMatch(/chain/);
    expect(results[4].error!.message).toMatch(/nonce/);
    expect(results[5].error!.message).toMatch(/nonce/);

    await waitFor(async () => (await api<TxStatusAnswer>(url, 'GET', `/txs/${good.hash}`)).json?.status === 'committed', 10_000, 'the good transfer to commit');
    await waitSettled(url);
    expect((await account('bob')).nonces[good.chain]).toBe('1');
    expect((await account('dave')).nonces).toEqual({});
    expect(Object.keys((await account('carol')).nonces)).toEqual([]);
    expect(node.alive).toBe(true);
  });

  it('accepts a sender’s 100 free transactions in a window and refuses the 101st with 429', async () => {
    const s = await status(url);
    const window = 60_000;
    // Stay clear of a quota-window boundary (block time follows the wall clock).
    // Just after a boundary only the rest of those 2 s is waited (a whole window would outlast the
    // test's 60 s timeout: it did once in a full-suite run).
    const into = Date.now() % window;
    if (into < 2_000) await sleep(2_000 - into);
    else if (into > window - 8_000) await sleep(window - into + 2_000);
    const first = await validTransfer('dave', { to: 'alice', amount: 1n });
    const hundred = Array.from({ length: 100 }, (_, i) =>
      signTransfer(k.dave, { chainId: s.chainId, to: k.alice.address, amount: 1n + BigInt(i), nonce: first.nonce + BigInt(i) }),
    );
    const r = await api<{ results: TxsAnswer[] }>(url, 'POST', '/txs', { txs: hundred.map((t) => t.hex) });
    expect(r.status).toBe(202);
    for (const x of r.json.results) expect(x.error, JSON.stringify(x.error)).toBeUndefined();
    const over = signTransfer(k.dave, { chainId: s.chainId, to: k.alice.address, amount: 1n, nonce: first.nonce + 100n });
    expectError(await postTx(over.hex), 429, 'OVER_QUOTA', /100 transactions for this 60 s window.*quota/);
    await waitFor(
      async () => (await api<TxStatusAnswer>(url, 'GET', `/txs/${hundred[99].hash}`)).json?.status === 'committed',
      15_000,
      'the 100 transfers to commit',
    );
    // Refused also once the hundred are committed, and it never lands.
    expectError(await postTx(over.hex), 429, 'OVER_QUOTA', /quota/);
    await sleep(3 * BLOCK_MS);
    const dave = await account('dave');
    expect(dave.nonces[first.chain]).toBe('100');
    expect(dave.quota).toMatchObject({ limit: 100, usedThisWindow: 100 });
    expectError(await api(url, 'GET', `/txs/${over.hash}`), 404, 'UNKNOWN_TX');
    expect(node.alive).toBe(true);
    expect((await status(url)).mempool).toBe(0);
  });
});
