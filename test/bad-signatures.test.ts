import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAddress, generateKeyPair } from '../src/crypto/index.ts';
import { signTx, TxKind, ZNC } from '../src/ledger/index.ts';
import { encodeTxBatch, encodeTxFrame } from '../src/sdk/index.ts';
import type { ErrorAnswer, SubmissionMessage, SubmitAnswer, SubmitBatchAnswer } from '../src/sdk/wire.ts';
import {
  api,
  cleanup,
  initDevHome,
  loadDevKeys,
  nextTransfers,
  signTransfer,
  withBadSignature,
  batchOutcomes,
  startNode,
  waitFor,
  type ApiAnswer,
  type DevHome,
  type NamedKey,
  type SignedTransfer,
} from './helpers/processes.ts';

// Transactions that fail their signature check cost their sender nothing to make and the node
// ~80 µs each to check, against a real node process:
// - the same bytes sent again are refused without a second check;
// - a client (an IP address) whose transactions failed the check 100 times within 10 s has its
//   submissions refused unchecked (429 TOO_MANY_BAD_SIGNATURES) over HTTP and WebSocket for the
//   rest of the window, while another client's go through; a large batch is checked 256 at a time,
//   so that its part past the budget is refused unchecked.

let h: DevHome;
let url: string;
let k: Record<string, NamedKey>;

beforeAll(async () => {
  h = await initDevHome({ blockTimeMs: 200, prefix: 'zeus-badsig-' });
  ({ url } = await startNode(h.home));
  k = loadDevKeys(h.home, ['alice', 'bob', 'dave']);
}, 60_000);

afterAll(async () => {
  await cleanup();
});

const octets = { 'content-type': 'application/octet-stream' };
const postBinary = <T>(body: Uint8Array): Promise<ApiAnswer<T>> => api<T>(url, 'POST', '/txs', body, octets);

const transfers = (from: string, n: number): Promise<SignedTransfer[]> => nextTransfers(url, h.chainId, k[from], k.dave, n);

/** Signatures this node has checked so far (its own counter). */
async function signatureChecks(): Promise<number> {
  const text = (await api(url, 'GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith('zeus_tx_signature_checks_total'));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

async function committed(hash: string): Promise<void> {
  await waitFor(async () => (await api<{ status: string }>(url, 'GET', `/txs/${hash}`)).json.status === 'committed', 20_000, `${hash} committed`);
}

/** POST /txs from another loopback address than 127.0.0.1: another client as the node sees it. */
function postFrom(localAddress: string, body: Uint8Array): Promise<{ status: number; json: unknown }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: '/txs', method: 'POST', localAddress, headers: { ...octets, 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('transactions that fail their signature check', () => {
  it('are refused without a second check when the same bytes come again', async () => {
    const [t] = await transfers('alice', 1);
    const bad = withBadSignature(t);
    const before = await signatureChecks();
    const first = await postBinary<ErrorAnswer>(bad);
    expect(first.status, first.text).toBe(401);
    expect(first.json.error.code).toBe('BAD_SIGNATURE');
    const checked = await signatureChecks();
    expect(checked).toBe(before + 1);
    for (let i = 0; i < 5; i++) {
      const again = await postBinary<ErrorAnswer>(bad);
      expect(again.status, again.text).toBe(401);
      expect(again.json.error.code).toBe('BAD_SIGNATURE');
    }
    expect(await signatureChecks()).toBe(checked);
    // The well-signed original is not blamed for its forgery.
    const good = await postBinary<SubmitAnswer>(t.bytes);
    expect(good.status, good.text).toBe(202);
    // Committed before the next test reads alice's nonce: it would otherwise sign these very bytes again.
    await committed(t.hash);
  }, 60_000);

  it("past 100 within 10 s, refuse that client's submissions unchecked, over HTTP and WebSocket, and only that client's", async () => {
    // 100 different forgeries (a fresh nonce each): nothing to recognise them by but their source.
    const forged = (await transfers('bob', 100)).map(withBadSignature);
    const r = await postBinary<SubmitBatchAnswer>(encodeTxBatch(forged));
    expect(r.status, r.text).toBe(202);
    expect(new Set(batchOutcomes(r.json.results))).toEqual(new Set(['BAD_SIGNATURE']));
    const checked = await signatureChecks();

    // The same client, now with well-signed transactions: refused before any check.
    const [good] = await transfers('bob', 1);
    const refused = await postBinary<ErrorAnswer>(encodeTxBatch([good.bytes]));
    expect(refused.status, refused.text).toBe(429);
    expect(refused.json.error.code).toBe('TOO_MANY_BAD_SIGNATURES');
    expect(refused.json.error.message).toMatch(/refused unchecked for another \d+ s/);
    const single = await postBinary<ErrorAnswer>(good.bytes);
    expect(single.status, single.text).toBe(429);
    const json = await api<ErrorAnswer>(url, 'POST', '/txs', { tx: Buffer.from(good.bytes).toString('hex') });
    expect(json.status, json.text).toBe(429);

    // Over the WebSocket the frame gets the refusal and the socket stays open.
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?events=none`);
    const got: SubmissionMessage[] = [];
    ws.addEventListener('message', (e) => got.push(JSON.parse(String(e.data)) as SubmissionMessage));
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error('cannot open /ws')), { once: true });
    });
    ws.send(encodeTxFrame(3, [good.bytes]));
    await waitFor(() => got.some((m) => m.seq === 3), 10_000, 'answer to frame 3');
    const answer = got.find((m) => m.seq === 3)!;
    expect(answer.type).toBe('error');
    expect((answer as { error: { code: string } }).error.code).toBe('TOO_MANY_BAD_SIGNATURES');
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
    expect(await signatureChecks()).toBe(checked);

    // Another client is served as before.
    const other = await postFrom('127.0.0.2', encodeTxBatch([good.bytes]));
    expect(other.status).toBe(202);
    expect(batchOutcomes((other.json as SubmitBatchAnswer).results)).toEqual(['pending']);
    expect(await signatureChecks()).toBe(checked + 1);
    await committed(good.hash);
  }, 60_000);

  it('a batch of 1,000 forgeries costs one chunk of checks (256), not 1,000: the rest is refused unchecked, each with its own error', async () => {
    const forged = (await transfers('alice', 1_000)).map(withBadSignature);
    const before = await signatureChecks();
    const r = await postFrom('127.0.0.3', encodeTxBatch(forged));
    expect(r.status).toBe(202);
    const codes = batchOutcomes((r.json as SubmitBatchAnswer).results);
    expect(codes).toHaveLength(1_000);
    expect(codes.slice(0, 256)).toEqual(Array(256).fill('BAD_SIGNATURE'));
    expect(codes.slice(256)).toEqual(Array(744).fill('TOO_MANY_BAD_SIGNATURES'));
    expect(await signatureChecks()).toBe(before + 256);
  }, 60_000);
});

describe('a transaction with a nonce already used', () => {
  it('is refused NONCE_REPLAYED before any signature check, whoever made it', async () => {
    const [t] = await transfers('bob', 1);
    // From a client of its own: the tests above spent 127.0.0.1's budget of bad signatures.
    expect((await postFrom('127.0.0.9', t.bytes)).status).toBe(202);
    await waitFor(async () => (await api<{ status: string }>(url, 'GET', `/txs/${t.hash}`)).json.status === 'committed', 20_000, 'the transfer committed');
    const before = await signatureChecks();
    // The committed bytes again, and new bytes with the used nonce (a forgery: its signature is wrong).
    const sameNonce = withBadSignature(signTransfer(k.bob, { chainId: h.chainId, to: k.alice.address, amount: 7n, nonce: t.nonce }));
    for (const bytes of [t.bytes, sameNonce]) {
      const r = await postFrom('127.0.0.9', bytes);
      expect(r.status, JSON.stringify(r.json)).toBe(409);
      expect((r.json as ErrorAnswer).error.code).toBe('NONCE_REPLAYED');
    }
    expect(await signatureChecks()).toBe(before);
  }, 60_000);
});

describe('transactions refused after their signature check', () => {
  it("past 1,000 within 10 s, refuse that client's submissions unchecked, and only that client's", async () => {
    // A fresh key signs as many as it likes, each with a nonce the chain is not at: every one
    // costs the node a check and a dry run, and is refused NONCE_GAP.
    const key = generateKeyPair();
    const gaps = Array.from({ length: 1_100 }, (_, i) =>
      signTx(key, {
        chainId: h.chainId,
        kind: TxKind.Transfer,
        nonce: BigInt(5 + i),
        payload: { to: decodeAddress(k.dave.address), token: ZNC, amount: 1n, memo: '' },
      }),
    );
    const before = await signatureChecks();
    const r = await postFrom('127.0.0.31', encodeTxBatch(gaps));
    expect(r.status).toBe(202);
    const codes = batchOutcomes((r.json as SubmitBatchAnswer).results);
    // Checked a chunk (256) at a time: four chunks reach the budget, the rest is refused unchecked.
    expect(codes.slice(0, 1_024)).toEqual(Array(1_024).fill('NONCE_GAP'));
    expect(codes.slice(1_024)).toEqual(Array(76).fill('TOO_MANY_REFUSALS'));
    expect(await signatureChecks()).toBe(before + 1_024);
    const again = await postFrom('127.0.0.31', gaps[0]);
    expect(again.status).toBe(429);
    expect((again.json as ErrorAnswer).error.code).toBe('TOO_MANY_REFUSALS');
    expect((again.json as ErrorAnswer).error.message).toMatch(/refused after their signature was checked.*another \d+ s/);
    // Another client is checked as before.
    const other = await postFrom('127.0.0.32', gaps[0]);
    expect(other.status).toBe(409);
    expect((other.json as ErrorAnswer).error.code).toBe('NONCE_GAP');
  }, 60_000);
});
