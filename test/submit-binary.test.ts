import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../src/crypto/index.ts';
import { MAX_TX_BYTES } from '../src/ledger/index.ts';
import { encodeTxBatch, encodeTxFrame, MAX_BATCH_TXS, NodeApiError, TX_BATCH_TAG, ZeusClient, type SubmitterState } from '../src/sdk/index.ts';
import type { ErrorAnswer, SubmissionMessage, SubmitAnswer, SubmitBatchAnswer } from '../src/sdk/wire.ts';
import {
  api,
  cleanup,
  initDevHome,
  loadDevKeys,
  nextTransfers,
  withBadSignature,
  batchOutcomes,
  postOversized,
  signTransfer,
  startNode,
  waitFor,
  type ApiAnswer,
  type DevHome,
  type NamedKey,
  type SignedTransfer,
  type ZeusProcess,
} from './helpers/processes.ts';

// The binary submission path against a real node process: POST /txs with a TxBatch as
// application/octet-stream answers what the JSON path answers, transaction by transaction (one bad
// transaction gets its own error, the others are accepted and commit); malformed bodies and limits
// get a clear 4xx; /ws takes TxFrames and answers each {type:"submitted",seq,results}, refuses bad
// frames without closing, keeps a client's frames in order and holds no more than 4 per socket.

let h: DevHome;
let node: ZeusProcess;
let url: string;
let k: Record<string, NamedKey>;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  h = await initDevHome({ blockTimeMs: 200, prefix: 'zeus-binary-' });
  ({ node, url } = await startNode(h.home));
  k = loadDevKeys(h.home, ['alice', 'bob', 'carol', 'dave']);
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await cleanup();
});

/** The `ws` package (a dependency of @fastify/websocket; it ships no types of its own here). */
const wsPackage = async (): Promise<{ WebSocket: new (url: string, o: { localAddress: string }) => WebSocket }> => import('ws' as string);

const octets = { 'content-type': 'application/octet-stream' };
const postBinary = <T>(body: Uint8Array): Promise<ApiAnswer<T>> => api<T>(url, 'POST', '/txs', body, octets);

const transfers = (from: string, n: number, to = 'dave'): Promise<SignedTransfer[]> => nextTransfers(url, h.chainId, k[from], k[to], n);

async function committed(hash: string): Promise<void> {
  await waitFor(async () => (await api<{ status: string }>(url, 'GET', `/txs/${hash}`)).json?.status === 'committed', 30_000, `${hash} committed`, 100);
}

function expectRefusal(r: ApiAnswer, status: number, code: string, message?: RegExp): void {
  const what = `${status} ${code} expected, got ${r.status}: ${r.text.slice(0, 300)}`;
  expect(r.status, what).toBe(status);
  expect(r.contentType, what).toMatch(/^application\/json/);
  expect((r.json as ErrorAnswer).error.code, what).toBe(code);
  if (message) expect((r.json as ErrorAnswer).error.message, what).toMatch(message);
}

describe('POST /txs with application/octet-stream', () => {
  it('a TxBatch answers per transaction as a JSON batch does: the bad ones get their own error, the others are accepted and commit', async () => {
    const [a1, a2, a3] = await transfers('alice', 3);
    const [b1, b2] = await transfers('bob', 2);
    const garbage = Uint8Array.of(1, 2, 3);
    const huge = new Uint8Array(MAX_TX_BYTES + 1).fill(0x0a);

    const binary = await postBinary<SubmitBatchAnswer>(encodeTxBatch([a1.bytes, withBadSignature(b1), garbage, a2.bytes, huge]));
    expect(binary.status, binary.text).toBe(202);
    expect(binary.contentType).toMatch(/^application\/json/);
    expect(batchOutcomes(binary.json.results)).toEqual(['pending', 'BAD_SIGNATURE', 'BAD_ENCODING', 'pending', 'TX_TOO_LARGE']);
    expect(binary.json.results[0]).toEqual({ hash: a1.hash, chain: a1.chain, status: 'pending' });
    expect(binary.json.results[3]).toEqual({ hash: a2.hash, chain: a2.chain, status: 'pending' });

    // The same kinds of transactions as JSON: the same answers, in the same shape. (The forgery
    // has a nonce not used yet: a1 may have committed already, and a forgery of it would be refused
    // NONCE_REPLAYED before any check.)
    const json = await api<SubmitBatchAnswer>(url, 'POST', '/txs', { txs: [b1.hex, toHex(withBadSignature(a3)), toHex(garbage), b2.hex, toHex(huge)] });
    expect(json.status, json.text).toBe(202);
    expect(batchOutcomes(json.json.results)).toEqual(batchOutcomes(binary.json.results));
    expect(Object.keys(json.json.results[1])).toEqual(Object.keys(binary.json.results[1]));

    // Again in binary: known now (pending, or committed already), refused as JSON would refuse them.
    const again = await postBinary<SubmitBatchAnswer>(encodeTxBatch([a1.bytes, b2.bytes]));
    for (const code of batchOutcomes(again.json.results)) expect(['DUPLICATE_TX', 'NONCE_REPLAYED']).toContain(code);

    for (const t of [a1, a2, b1, b2]) await committed(t.hash);
  }, 60_000);

  it('one raw signed transaction still answers as a single submission', async () => {
    const [c1] = await transfers('carol', 1);
    const r = await postBinary<SubmitAnswer>(c1.bytes);
    expect(r.status, r.text).toBe(202);
    expect(r.json).toEqual({ hash: c1.hash, chain: c1.chain, status: 'pending' });
    // Known now: pending (DUPLICATE_TX) or, if its block came already, committed (NONCE_REPLAYED).
    const again = await postBinary<ErrorAnswer>(c1.bytes);
    expect(again.status, again.text).toBe(409);
    expect(['DUPLICATE_TX', 'NONCE_REPLAYED']).toContain(again.json.error.code);
    expectRefusal(await postBinary(withBadSignature((await transfers('carol', 2))[1])), 401, 'BAD_SIGNATURE');
  });

  it('refuses a malformed batch, an oversized one and an unknown content type with a clear 4xx', async () => {
    const [d1] = await transfers('dave', 1, 'alice');
    const good = encodeTxBatch([d1.bytes]);
    expectRefusal(await postBinary(good.subarray(0, good.length - 1)), 400, 'BAD_ENCODING', /malformed TxBatch/);
    expectRefusal(await postBinary(Uint8Array.from([...good, 0])), 400, 'BAD_ENCODING', /malformed TxBatch/);
    expectRefusal(await postBinary(Uint8Array.of(TX_BATCH_TAG, 0x7f, 1, 2)), 400, 'BAD_ENCODING', /malformed TxBatch.*length/);
    expect((await postBinary(new Uint8Array(0))).status).toBe(400);
    // 10,001 (empty) transactions: refused as a whole before any is looked at.
    const tooMany = Uint8Array.from({ length: 2 * (MAX_BATCH_TXS + 1) }, (_, i) => (i % 2 === 0 ? TX_BATCH_TAG : 0));
    expectRefusal(await postBinary(tooMany), 413, 'BATCH_TOO_LARGE', /10000/);
    const overBody = new Uint8Array(16 * 1024 * 1024 + 1);
    overBody[0] = TX_BATCH_TAG;
    expectRefusal(await postOversized(url, '/txs', overBody, 'application/octet-stream'), 413, 'BODY_TOO_LARGE', /too large/);
    expectRefusal(await api(url, 'POST', '/txs', good, { 'content-type': 'application/x-protobuf' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    // None of it reached the pool: the one good transaction is still unknown.
    expectRefusal(await api(url, 'GET', `/txs/${d1.hash}`), 404, 'UNKNOWN_TX');
  });
});

describe('submitting over the WebSocket /ws', () => {
  /** A socket on /ws and the messages it received. */
  /** A /ws socket; from `localAddress` (another client, as the node counts them) when given. */
  async function open(query = '?events=none', localAddress?: string): Promise<{ ws: WebSocket; got: SubmissionMessage[]; events: { type: string }[] }> {
    const target = `${url.replace(/^http/, 'ws')}/ws${query}`;
    // The platform's WebSocket cannot choose its source address; the ws package's (same events) can.
    const ws = localAddress ? new (await wsPackage()).WebSocket(target, { localAddress }) : new WebSocket(target);
    ws.binaryType = 'arraybuffer';
    sockets.push(ws);
    const got: SubmissionMessage[] = [];
    const events: { type: string }[] = [];
    ws.addEventListener('message', (m: MessageEvent) => {
      const msg = JSON.parse(String(m.data)) as { type: string };
      if (msg.type === 'submitted' || msg.type === 'error') got.push(msg as SubmissionMessage);
      else events.push(msg);
    });
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error('cannot open /ws')), { once: true });
    });
    return { ws, got, events };
  }
  const answerTo = async (got: SubmissionMessage[], seq: number): Promise<SubmissionMessage> => {
    await waitFor(() => got.some((m) => m.seq === seq), 15_000, `answer to frame ${seq}`);
    return got.find((m) => m.seq === seq)!;
  };

  it('answers a TxFrame {type:"submitted",seq,results}; a bad frame gets an error and the socket goes on', async () => {
    const { ws, got, events } = await open();
    const [a1] = await transfers('alice', 1);
    const [b1] = await transfers('bob', 1);
    ws.send(encodeTxFrame(7, [a1.bytes, withBadSignature(b1), b1.bytes]));
    const answer = await answerTo(got, 7);
    expect(answer).toEqual({
      type: 'submitted',
      seq: 7,
      results: [
        { hash: a1.hash, chain: a1.chain, status: 'pending' },
        { error: { code: 'BAD_SIGNATURE', message: expect.any(String) } },
        { hash: b1.hash, chain: b1.chain, status: 'pending' },
      ],
    });

    ws.send(Uint8Array.from([...encodeTxFrame(8, [a1.bytes]), 0])); // a trailing byte
    expect(await answerTo(got, 8)).toMatchObject({
      type: 'error',
      seq: 8,
      error: { code: 'BAD_ENCODING', message: expect.stringMatching(/malformed TxFrame/) },
    });
    ws.send(Uint8Array.of(0x08, 0x09)); // a seq and no transaction
    expect(await answerTo(got, 9)).toMatchObject({ type: 'error', seq: 9, error: { code: 'EMPTY_BATCH' } });
    ws.send(Uint8Array.from([0x08, 0x0a, ...Array.from({ length: 2 * (MAX_BATCH_TXS + 1) }, (_, i) => (i % 2 === 0 ? TX_BATCH_TAG : 0))]));
    expect(await answerTo(got, 10)).toMatchObject({ type: 'error', seq: 10, error: { code: 'BATCH_TOO_LARGE' } });
    ws.send(encodeTxBatch([a1.bytes])); // a TxBatch is no frame: it has no seq
    ws.send(JSON.stringify({ txs: [a1.hex] }));
    await waitFor(() => got.filter((m) => m.seq === undefined).length === 2, 10_000, 'two errors without seq');
    expect(got.filter((m) => m.seq === undefined).map((m) => (m.type === 'error' ? m.error.code : m.type))).toEqual(['BAD_ENCODING', 'BAD_FRAME']);

    // Still open and serving: the next frame is answered, and both transactions commit.
    expect(ws.readyState).toBe(WebSocket.OPEN);
    const [c1] = await transfers('carol', 1);
    ws.send(encodeTxFrame(11, [c1.bytes]));
    expect(await answerTo(got, 11)).toMatchObject({ type: 'submitted', results: [{ hash: c1.hash, status: 'pending' }] });
    for (const t of [a1, b1, c1]) await committed(t.hash);
    // events=none: a socket only for submitting hears no events.
    expect(events).toEqual([]);
  }, 60_000);

  it("keeps a client's frames in order (consecutive nonces in separate frames are all accepted) and refuses a fifth waiting frame", async () => {
    // A client of its own: the flood below spends its budget of refusals (TOO_MANY_REFUSALS).
    const { ws, got } = await open('?events=tx', '127.0.0.41');
    const list = await transfers('dave', 4, 'alice');
    for (let i = 0; i < 4; i++) ws.send(encodeTxFrame(100 + i, [list[i].bytes]));
    for (let i = 0; i < 4; i++)
      expect(batchOutcomes(((await answerTo(got, 100 + i)) as { results: (SubmitAnswer | ErrorAnswer)[] }).results)).toEqual(['pending']);

    // A flood: 30 frames of 300 transactions sent at once, each well signed and refused (a nonce far
    // ahead: NONCE_GAP), so that each frame costs its 300 verifications. (Bad signatures would not:
    // the node refuses known failing bytes unchecked, and a client that sends many unchecked.)
    // At most 4 wait; every frame gets exactly one answer, the refused ones TOO_MANY_FRAMES.
    const [probe] = await transfers('bob', 1);
    const frames = Array.from({ length: 30 }, (_, f) =>
      Array.from(
        { length: 300 },
        (_, i) => signTransfer(k.bob, { chainId: h.chainId, to: k.alice.address, amount: 1n, nonce: probe.nonce + 1_000n + BigInt(f * 300 + i) }).bytes,
      ),
    );
    got.length = 0;
    for (let s = 0; s < 30; s++) ws.send(encodeTxFrame(1000 + s, frames[s]));
    await waitFor(() => got.length === 30, 60_000, 'answers to 30 frames');
    expect(new Set(got.map((m) => m.seq)).size).toBe(30);
    const refused = got.filter((m) => m.type === 'error');
    expect(refused.length).toBeGreaterThan(0);
    for (const m of refused) expect(m).toMatchObject({ type: 'error', error: { code: 'TOO_MANY_FRAMES' } });
    const done = got.filter((m) => m.type === 'submitted');
    expect(done.length).toBeGreaterThanOrEqual(4);
    // Submitted in the order sent.
    expect(done.map((m) => m.seq)).toEqual([...done.map((m) => m.seq)].sort((x, y) => x! - y!));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    for (const t of list) await committed(t.hash);
  }, 90_000);
});

describe('the SDK', () => {
  it('submits as binary by default and as JSON when asked, with the same answers and refusals', async () => {
    const binary = new ZeusClient(url);
    const json = new ZeusClient(url, { submitEncoding: 'json' });
    expect(binary.submitEncoding).toBe('binary');
    const [a1, a2] = await transfers('alice', 2);
    const [b1, b2] = await transfers('bob', 2);
    expect(await binary.submit(a1.bytes)).toEqual({ hash: a1.hash, chain: a1.chain, status: 'pending' });
    expect(await json.submit(b1.bytes)).toEqual({ hash: b1.hash, chain: b1.chain, status: 'pending' });
    for (const c of [binary, json]) {
      const e = await c.submit(withBadSignature(a2)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NodeApiError);
      expect(e).toMatchObject({ status: 401, code: 'BAD_SIGNATURE' });
    }
    const rb = await binary.submitBatch([a2.bytes, withBadSignature(b2)]);
    const rj = await json.submitBatch([b2.bytes, withBadSignature(a2)]);
    expect(batchOutcomes(rb.results)).toEqual(['pending', 'BAD_SIGNATURE']);
    expect(batchOutcomes(rj.results)).toEqual(batchOutcomes(rb.results));
    expect(await binary.submitBatch([])).toEqual({ results: [] });
    expect(await binary.submitBatch(Array(MAX_BATCH_TXS + 1).fill(a1.bytes)).catch((x: unknown) => x)).toMatchObject({ code: 'BATCH_TOO_LARGE' });
    for (const t of [a1, a2, b1, b2]) await committed(t.hash);
  }, 60_000);

  it('openSubmitter pipelines batches over one WebSocket, in order, one result per transaction', async () => {
    const submitter = new ZeusClient(url).openSubmitter();
    try {
      await submitter.ready;
      const list = await transfers('carol', 12);
      // Six batches of two consecutive nonces, all sent before any answer: order is kept.
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => submitter.submit([list[2 * i].bytes, list[2 * i + 1].bytes])));
      expect(answers.flat()).toEqual(list.map((t) => ({ hash: t.hash, chain: t.chain, status: 'pending' })));
      const e = await submitter.submitOne(list[0].bytes).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NodeApiError);
      expect(['DUPLICATE_TX', 'NONCE_REPLAYED']).toContain((e as NodeApiError).code);
      expect(submitter.pending).toBe(0);
      for (const t of list) await committed(t.hash);
    } finally {
      submitter.close();
    }
    expect(await submitter.submit([Uint8Array.of(1)]).catch((x: unknown) => x)).toMatchObject({ code: 'SUBMITTER_CLOSED' });
  }, 60_000);

  it('reconnects after the node restarts and sends what waited; without reconnect it refuses clearly', async () => {
    const states: SubmitterState[] = [];
    const submitter = new ZeusClient(url).openSubmitter({ reconnect: { initialMs: 100, maxMs: 500 }, onState: (s) => states.push(s) });
    const once = new ZeusClient(url).openSubmitter({ reconnect: false });
    try {
      await Promise.all([submitter.ready, once.ready]);
      const [d1] = await transfers('dave', 1, 'alice');
      await node.stop();
      await waitFor(() => submitter.connection === 'reconnecting' && once.connection === 'closed', 10_000, 'both see the connection drop');
      expect(await once.submit([d1.bytes]).catch((x: unknown) => x)).toMatchObject({ code: 'SUBMITTER_CLOSED' });
      // Submitted while the node is down: waits for the reconnection.
      const answer = submitter.submitOne(d1.bytes);
      ({ node, url } = await startNode(h.home));
      expect(await answer).toEqual({ hash: d1.hash, chain: d1.chain, status: 'pending' });
      expect(submitter.reconnects).toBeGreaterThan(0);
      expect(states).toContain('reconnecting');
      expect(states.at(-1)).toBe('open');
      await committed(d1.hash);

      // A batch sent and not answered when the node dies: CONNECTION_LOST, not a silent wait.
      const [probe] = await transfers('alice', 1);
      const slow = submitter.submit(Array.from({ length: 4000 }, () => withBadSignature(probe))).catch((x: unknown) => x);
      await node.kill();
      const lost = await slow;
      expect(lost).toBeInstanceOf(NodeApiError);
      expect(lost).toMatchObject({ code: 'CONNECTION_LOST', message: expect.stringMatching(/submit the same bytes again/) });
      ({ node, url } = await startNode(h.home));
    } finally {
      submitter.close();
      once.close();
    }
  }, 90_000);
});
