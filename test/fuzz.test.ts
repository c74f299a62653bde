import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodecError, encode, type ObjectSchema } from '../src/codec/index.ts';
import { addressFromPublicKey, bytesEqual, toHex, verifySignature } from '../src/crypto/index.ts';
import {
  decodeBlock,
  decodeCommittedBlock,
  decodeTx,
  encodeBlock,
  encodeCommittedBlock,
  LedgerError,
  PayloadSchemas,
  SignedTxSchema,
  TxKind,
  txSigningBytes,
  signTx,
  ZNC,
  type Tx,
  type TxRequest,
} from '../src/ledger/index.ts';
import { commitExecuted, makeTx, testChain, testKey } from '../src/ledger/testing.ts';
import { api, cleanup, initDevHome, loadDevKeys, signTransfer, startNode, status, type ApiAnswer, type ZeusProcess } from './helpers/processes.ts';

// Fuzzing the two ways bytes enter a node: the decoders (in process) and the HTTP API (a real
// node process). Decoders may refuse input only with their own typed errors, and whatever
// they accept must be the one canonical encoding; the API must answer every request with a
// 2xx/4xx JSON body and never let junk move the chain.

const isTypedRefusal = (e: unknown): boolean => e instanceof LedgerError || e instanceof CodecError;

/** Canonical re-encoding of a decoded transaction: payload by its kind's schema, then the envelope. */
function reencodeTx(tx: Tx): Uint8Array {
  const payload = encode((PayloadSchemas as Record<number, ObjectSchema>)[tx.kind], tx.body.payload as never);
  return encode(SignedTxSchema, { chainId: tx.chainId, kind: tx.kind, sender: tx.sender, nonce: tx.nonce, payload, signature: tx.signature });
}

/** One valid signed transaction of every kind. */
function sampleTxs(): Uint8Array[] {
  const a = testKey('fuzz-a');
  const b = testKey('fuzz-b');
  const addrA = addressFromPublicKey(a.publicKey);
  const addrB = addressFromPublicKey(b.publicKey);
  const chainId = 'zeus-dev-1';
  const reqs: TxRequest[] = [
    { chainId, kind: TxKind.Transfer, nonce: 0n, payload: { to: addrB, token: ZNC, amount: 123_456_789n, memo: 'fuzz ✓ memo' } },
    { chainId, kind: TxKind.Transfer, nonce: (1n << 64n) - 1n, payload: { to: addrB, token: 'GPU', amount: 1n, memo: '' } },
    { chainId, kind: TxKind.TokenCreate, nonce: 1n, payload: { symbol: 'GPU', name: 'GPU credit', decimals: 8, anchorRate: 10n, deposit: 100n } },
    { chainId, kind: TxKind.TokenRedeem, nonce: 2n, payload: { symbol: 'GPU', amount: 5n } },
    { chainId, kind: TxKind.TokenConvert, nonce: 3n, payload: { from: 'GPU', to: 'CPU', amount: 7n } },
    { chainId, kind: TxKind.MultisigCreate, nonce: 4n, payload: { members: [addrA, addrB], threshold: 2 } },
    { chainId, kind: TxKind.MultisigPropose, nonce: 5n, payload: { account: addrA, to: addrB, token: ZNC, amount: 9n, memo: 'x' } },
    { chainId, kind: TxKind.MultisigApprove, nonce: 6n, payload: { account: addrA, proposal: 1n } },
    { chainId, kind: TxKind.MultisigExecute, nonce: 7n, payload: { account: addrA, proposal: 1n } },
    { chainId, kind: TxKind.Stake, nonce: 8n, payload: { amount: 1_000n } },
    { chainId, kind: TxKind.Unstake, nonce: 9n, payload: { amount: 1n } },
    { chainId, kind: TxKind.RegisterCandidate, nonce: 10n, payload: { name: 'node-7' } },
    { chainId, kind: TxKind.VoteBookkeepers, nonce: 11n, payload: { candidates: [addrA, addrB] } },
    { chainId, kind: TxKind.Delegate, nonce: 12n, payload: { proxy: addrB } },
    { chainId, kind: TxKind.Delegate, nonce: 13n, payload: { proxy: new Uint8Array() } },
    { chainId, kind: TxKind.Unjail, nonce: 14n, payload: {} },
    { chainId, kind: TxKind.SubmitEvidence, nonce: 15n, payload: { first: Uint8Array.from([1, 2, 3]), second: Uint8Array.from([4, 5]) } },
  ];
  return reqs.map((r) => signTx(a, r));
}

/** Three consecutive blocks of a test chain (the later ones carry commit certificates). */
function sampleBlocks(): { blocks: Uint8Array[]; committed: Uint8Array[] } {
  const t = testChain();
  const blocks: Uint8Array[] = [];
  const committed: Uint8Array[] = [];
  for (let height = 1; height <= 3; height++) {
    const exec = t.ledger.begin(t.ledger.time + 1000);
    for (const from of ['alice', 'bob', 'carol'].slice(0, height)) {
      const to = addressFromPublicKey(t.keys.dave.publicKey);
      expect(exec.tryApply(makeTx(t, from, TxKind.Transfer, { to, token: ZNC, amount: BigInt(height), memo: '' }))).toBeNull();
    }
    const c = commitExecuted(t, exec.finish());
    blocks.push(encodeBlock(c.block));
    committed.push(encodeCommittedBlock(c));
  }
  return { blocks, committed };
}

type Mutation =
  | { t: 'flip'; pos: number; bit: number }
  | { t: 'set'; pos: number; val: number }
  | { t: 'del'; pos: number; len: number }
  | { t: 'ins'; pos: number; bytes: Uint8Array }
  | { t: 'trunc'; pos: number }
  | { t: 'append'; bytes: Uint8Array }
  | { t: 'dup'; pos: number; len: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ t: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ t: fc.constant('set' as const), pos: fc.nat(), val: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ t: fc.constant('del' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ t: fc.constant('ins' as const), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ t: fc.constant('trunc' as const), pos: fc.nat() }),
  fc.record({ t: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ t: fc.constant('dup' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 32 }) }),
);

function mutate(input: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Array.from(input);
  for (const m of ms) {
    const p = b.length === 0 ? 0 : 'pos' in m ? m.pos % (b.length + (m.t === 'ins' ? 1 : 0)) : 0;
    switch (m.t) {
      case 'flip':
        if (b.length) b[p] ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length) b[p] = m.val;
        break;
      case 'del':
        b.splice(p, m.len);
        break;
      case 'ins':
        b.splice(p, 0, ...m.bytes);
        break;
      case 'trunc':
        b = b.slice(0, p);
        break;
      case 'append':
        b.push(...m.bytes);
        break;
      case 'dup':
        b.splice(p, 0, ...b.slice(p, p + m.len));
        break;
    }
  }
  return Uint8Array.from(b);
}

/** decodeTx either refuses with a typed error or returns the canonical form of exactly these bytes. */
function checkTxDecode(bytes: Uint8Array): Tx | undefined {
  let tx: Tx;
  try {
    tx = decodeTx(bytes);
  } catch (e) {
    if (!isTypedRefusal(e)) throw new Error(`decodeTx threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message} on ${toHex(bytes)}`);
    return undefined;
  }
  expect(toHex(reencodeTx(tx))).toBe(toHex(bytes));
  expect(toHex(tx.bytes)).toBe(toHex(bytes));
  return tx;
}

function checkBlockDecode(bytes: Uint8Array, committed: boolean): boolean {
  try {
    const re = committed ? encodeCommittedBlock(decodeCommittedBlock(bytes)) : encodeBlock(decodeBlock(bytes));
    expect(toHex(re)).toBe(toHex(bytes));
    return true;
  } catch (e) {
    if (!isTypedRefusal(e)) throw new Error(`block decode threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message} on ${toHex(bytes)}`);
    return false;
  }
}

describe('decoders under random and mutated input', () => {
  const txs = sampleTxs();
  const { blocks, committed } = sampleBlocks();

  it('the samples themselves decode and re-encode', () => {
    for (const b of txs) expect(checkTxDecode(b)).toBeDefined();
    for (const b of blocks) expect(checkBlockDecode(b, false)).toBe(true);
    for (const b of committed) expect(checkBlockDecode(b, true)).toBe(true);
  });

  it('random bytes: decodeTx/decodeBlock refuse only with LedgerError/CodecError; what decodes re-encodes identically', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        checkTxDecode(bytes);
        checkBlockDecode(bytes, false);
        checkBlockDecode(bytes, true);
      }),
      { numRuns: 5_000 },
    );
    // Oversized input is refused by size before any parsing.
    expect(() => decodeTx(new Uint8Array(9_000))).toThrow(LedgerError);
  });

  it('mutated signed transactions: typed refusals only, canonical when accepted, and never authentic', () => {
    let decoded = 0;
    fc.assert(
      fc.property(fc.constantFrom(...txs), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (orig, ms) => {
        const m = mutate(orig, ms);
        const tx = checkTxDecode(m);
        if (!tx) return;
        decoded++;
        // Canonical encoding: different bytes are different fields, so the signature cannot hold.
        if (!bytesEqual(m, orig)) expect(verifySignature(tx.sender, txSigningBytes(tx), tx.signature)).toBe(false);
      }),
      { numRuns: 8_000 },
    );
    // The mutations do reach the decoder's deeper paths, not only its first byte.
    expect(decoded).toBeGreaterThan(50);
  });

  it('mutated blocks and committed blocks: typed refusals only, canonical when accepted', () => {
    let decoded = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...blocks.map((b) => [b, false] as const), ...committed.map((b) => [b, true] as const)),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        ([orig, isCommitted], ms) => {
          if (checkBlockDecode(mutate(orig, ms), isCommitted)) decoded++;
        },
      ),
      { numRuns: 3_000 },
    );
    expect(decoded).toBeGreaterThan(20);
  });
});

describe('HTTP API under random requests (real node)', () => {
  let url: string;
  let node: ZeusProcess;
  let validHex: string[] = [];
  let addresses: string[] = [];

  beforeAll(async () => {
    const h = await initDevHome({ blockTimeMs: 150, prefix: 'zeus-fuzz-' });
    ({ node, url } = await startNode(h.home));
    const k = loadDevKeys(h.home, ['alice', 'bob']);
    addresses = [k.alice.address, k.bob.address];
    // Valid transfers are only ever sent mutated (and so unauthentic): the chain must not move.
    validHex = [0n, 1n, 2n].map((n) => signTransfer(k.alice, { chainId: h.chainId, to: k.bob.address, amount: 5n, nonce: n }).hex);
  });

  afterAll(cleanup);

  it('answers 800 random requests with 2xx/4xx JSON, never 5xx, and its state does not move', async () => {
    const before = await status(url);
    expect(before.height).toBe(0);

    const segment = fc.oneof(
      fc.string({ maxLength: 40 }).map(encodeURIComponent),
      fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
      fc.stringMatching(/^[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,80}$/),
      fc.constantFrom('latest', '0', '1', '-1', '99999999999999999999', '%', '%zz', '%ff%fe', '..', '%2e%2e', 'znc1', 'x'.repeat(200), '0'.repeat(64)),
      fc.uint8Array({ maxLength: 40 }).map(toHex),
    );
    const query = fc.option(
      fc
        .dictionary(fc.constantFrom('from', 'limit', 'events', 'x', '__proto__'), fc.oneof(fc.string({ maxLength: 10 }), fc.integer().map(String)), {
          maxKeys: 3,
        })
        .map((d) => `?${new URLSearchParams(d as Record<string, string>).toString()}`),
      { nil: '' },
    );
    const addressLike = fc.tuple(fc.constantFrom(...addresses), fc.nat(), fc.constantFrom(...'qpzry9x8gf2tvdw0s3jn54khce6mua7l')).map(([a, i, c]) => {
      const at = 4 + (i % (a.length - 4));
      return i % 3 === 0 ? a : a.slice(0, at) + c + a.slice(at + 1);
    });
    const anyPath = fc
      .tuple(fc.constantFrom('/txs', '/accounts', '/blocks', '/txs/', '/accounts/', '/blocks/'), fc.array(segment, { maxLength: 3 }), fc.boolean(), query)
      .map(([base, segs, chains, q]) => {
        let p = base.endsWith('/') || segs.length === 0 ? base : `${base}/`;
        p += segs.join(chains && base.startsWith('/blocks') ? '/chains/' : '/');
        return p + q;
      });
    const routePath = fc.oneof(
      fc.tuple(fc.oneof(segment, addressLike), query).map(([x, q]) => `/accounts/${x}${q}`),
      fc.tuple(segment, query).map(([x, q]) => `/txs/${x}${q}`),
      fc.tuple(segment, query).map(([x, q]) => `/blocks/${x}${q}`),
      fc.tuple(segment, segment, query).map(([x, c, q]) => `/blocks/${x}/chains/${c}${q}`),
      query.map((q) => `/blocks${q}`),
    );
    const mutatedTxHex = fc.tuple(fc.constantFrom(...[0, 1, 2]), fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([i, ms]) => {
      const orig = Uint8Array.from(Buffer.from(validHex[i], 'hex'));
      const m = mutate(orig, ms);
      return bytesEqual(m, orig) ? `${validHex[i]}00` : toHex(m);
    });
    const anyJson = fc.anything({ maxDepth: 3, maxKeys: 5 }).map((v) => {
      try {
        return JSON.stringify(v) ?? 'null';
      } catch {
        return String(v);
      }
    });
    const body = fc.oneof(
      fc.json({ maxDepth: 3 }),
      anyJson,
      fc
        .record({ tx: fc.oneof(mutatedTxHex, fc.anything({ maxDepth: 2 }), fc.uint8Array({ maxLength: 300 }).map(toHex)) })
        .map((o) => JSON.stringify(o) ?? '{}'),
      fc.record({ txs: fc.array(fc.oneof(mutatedTxHex, fc.anything({ maxDepth: 1 }), fc.string()), { maxLength: 20 }) }).map((o) => JSON.stringify(o) ?? '{}'),
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.constant(''),
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/octet-stream',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'foo/bar',
      'application/json; charset=latin1',
      '',
    );
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
    // Mostly requests aimed at real routes (submissions, lookups), the rest anywhere.
    const request = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.tuple(
          fc.constant('POST'),
          query.map((q) => `/txs${q}`),
        ),
      },
      { weight: 3, arbitrary: fc.tuple(fc.constant('GET'), routePath) },
      { weight: 2, arbitrary: fc.tuple(method, anyPath) },
    );
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, body, contentType, async ([m, p], b, ct) => {
        const headers: Record<string, string> = ct ? { 'content-type': ct } : {};
        const sendBody = m !== 'GET' && m !== 'OPTIONS';
        // Any answer: a refusal (4xx) or a submission's (202), whose refused transactions carry an error.
        let r: ApiAnswer<{ error?: { code: string; message: string }; results?: { error?: unknown }[] }>;
        if (sendBody && ct === 'application/octet-stream') r = await api(url, m, p, Uint8Array.from(Buffer.from(b, 'latin1')), headers);
        else r = await api(url, m, p, sendBody ? b : undefined, sendBody ? headers : {});
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        const what = `${m} ${p} [${ct}] ${JSON.stringify(b).slice(0, 200)} → ${r.status} ${r.text.slice(0, 300)}`;
        expect(r.status, what).toBeGreaterThanOrEqual(200);
        expect(r.status, what).toBeLessThan(500);
        expect(r.status >= 300 && r.status < 400, what).toBe(false);
        // The web console's paths ("/txs/.." is "/" once the URL is normalized) answer its page.
        const where = new URL(p, url).pathname;
        if (where === '/' || where === '/console' || where.startsWith('/console/')) return;
        expect(r.contentType, what).toMatch(/^application\/json/);
        expect(r.json, what).toBeDefined();
        if (r.status >= 400) {
          expect(typeof r.json.error?.code, what).toBe('string');
          expect(typeof r.json.error?.message, what).toBe('string');
        }
        // Junk is never taken in.
        if (r.status === 202) {
          for (const x of r.json.results ?? [r.json]) expect(x.error, what).toBeDefined();
        }
      }),
      { numRuns: 800 },
    );
    console.info(`fuzz: HTTP statuses ${JSON.stringify(Object.fromEntries([...seen].sort((a, b) => a[0] - b[0])))}`);

    expect(node.alive).toBe(true);
    const after = await status(url);
    expect(after.height).toBe(0);
    expect(after.mempool).toBe(0);
    expect(after.chains.map((c) => c.stateRoot)).toEqual(before.chains.map((c) => c.stateRoot));
  });
});
