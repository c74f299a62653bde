// npm run bench:submit [-- --sequential 300 --clients 8 --concurrent-seconds 10 --batches 20 --batch-size 500]
//
// What an acknowledgement of POST /txs costs: four bookkeeper processes (a `zeus devnet` on
// 127.0.0.1, BFT over libp2p), pre-signed transfers, and these ways to submit them:
//   sequential  one client, one transfer per request, each sent when the last was answered: the
//               latency a wallet sees between "send" and "accepted"; as JSON {"tx": hex} and as
//               the signed bytes (application/octet-stream);
//   concurrent  N clients doing the same at once (JSON), for some seconds: acknowledgements per second;
//   batches     B transfers per request, one request after the other: transfers per second; as JSON
//               {"txs": [...]} (the baseline), as a binary TxBatch, and as TxFrames over one
//               WebSocket (the SDK's openSubmitter, 4 frames in flight).
// Each batch phase starts with an empty mempool, so they compare like for like.
// Baseline in the same run: one synced LevelDB write of one transfer, and of a batch, on this disk
// (what a node that records what it acknowledges pays per request).
// Every transfer must commit afterwards (checked). Run it on two commits to compare what a change
// to the submission path costs (docs/BENCHMARKS.md, "Submitting").
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDevnet, stopDevnet } from '../src/cli/devnet.ts';
import { addressFromPublicKey, encodeAddress, fromHex, generateKeyPair, Keystore, toHex, type KeyPair } from '../src/crypto/index.ts';
import { signTx, TxKind, ZNC } from '../src/ledger/index.ts';
import { DEV_PASSPHRASE } from '../src/node/index.ts';
import { decodeTxBatch, encodeTxBatch, ZeusClient, type ErrorAnswer, type SubmitAnswer } from '../src/sdk/index.ts';
import { LevelKvStore } from '../src/store/index.ts';
import { machine, percentile } from './machine.ts';

const { values: args } = parseArgs({
  options: {
    sequential: { type: 'string', default: '300' },
    clients: { type: 'string', default: '8' },
    'concurrent-seconds': { type: 'string', default: '10' },
    batches: { type: 'string', default: '20' },
    'batch-size': { type: 'string', default: '500' },
    'block-time': { type: 'string', default: '250' },
    label: { type: 'string', default: '' },
    out: { type: 'string', default: 'bench/results/submit.json' },
  },
});
const SEQUENTIAL = Number(args.sequential);
const CLIENTS = Number(args.clients);
const CONCURRENT_S = Number(args['concurrent-seconds']);
const BATCHES = Number(args.batches);
const BATCH_SIZE = Number(args['batch-size']);
const BLOCK_MS = Number(args['block-time']);
const log = (s: string): void => void process.stderr.write(`${s}\n`);

const stats = (ms: number[]): { n: number; p50: number; p99: number; mean: number } => {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { n: s.length, p50: r(percentile(s, 50)), p99: r(percentile(s, 99)), mean: r(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)) };
};

async function post(api: string, body: unknown): Promise<number> {
  const binary = body instanceof Uint8Array;
  const res = await fetch(`${api}/txs`, {
    method: 'POST',
    headers: { 'content-type': binary ? 'application/octet-stream' : 'application/json' },
    body: binary ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`POST /txs answered ${res.status}: ${text.slice(0, 300)}`);
  if (text.startsWith('{"results"')) refusedIn((JSON.parse(text) as { results: (SubmitAnswer | ErrorAnswer)[] }).results);
  return res.status;
}

/** Every transfer of a batch must be accepted: a refusal would make the rate meaningless. */
function refusedIn(results: (SubmitAnswer | ErrorAnswer)[]): void {
  const bad = results.find((r): r is ErrorAnswer => 'error' in r);
  if (bad) throw new Error(`a transfer of a batch was refused: ${bad.error.code} ${bad.error.message}`);
}

/**
 * The baseline, in the same run: what a node's store takes for one synced write (LevelDB, fsync)
 * of one transfer and of a batch, on this disk. A node that writes what it acknowledges before
 * answering pays one such write per request.
 */
async function syncedWrites(): Promise<{ oneTxMs: ReturnType<typeof stats>; batchMs: ReturnType<typeof stats> }> {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-bench-fsync-'));
  const kv = await LevelKvStore.open(dir);
  try {
    const tx = new Uint8Array(180).fill(7);
    const one: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const t = performance.now();
      await kv.write([{ key: `k/${i}`, value: tx }], true);
      one.push(performance.now() - t);
    }
    const batch: number[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const t = performance.now();
      await kv.write(
        Array.from({ length: BATCH_SIZE }, (_, i) => ({ key: `b/${b}/${i}`, value: tx })),
        true,
      );
      batch.push(performance.now() - t);
    }
    return { oneTxMs: stats(one), batchMs: stats(batch) };
  } finally {
    await kv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What the binary path takes off the node, measured alone in this process: reading a batch's
 * transfers out of a JSON body of hex strings (JSON.parse, then hex to bytes, as the route does)
 * against out of a TxBatch (the codec's decode), per transfer, and the body sizes.
 */
function readingAlone(): { transfers: number; jsonUsPerTx: number; binaryUsPerTx: number; jsonBytes: number; binaryBytes: number } {
  const key = generateKeyPair();
  const to = addressFromPublicKey(generateKeyPair().publicKey);
  const txs = Array.from({ length: BATCH_SIZE }, (_, i) =>
    signTx(key, { chainId: 'bench', kind: TxKind.Transfer, nonce: BigInt(i), payload: { to, token: ZNC, amount: 1_000n, memo: '' } }),
  );
  const json = Buffer.from(JSON.stringify({ txs: txs.map(toHex) }));
  const binary = encodeTxBatch(txs);
  const perTx = (read: () => Uint8Array[]): number => {
    for (let i = 0; i < 20; i++) read();
    const rounds = 200;
    const t = performance.now();
    for (let i = 0; i < rounds; i++) if (read().length !== txs.length) throw new Error('read a batch wrong');
    return Math.round(((performance.now() - t) * 1000 * 100) / (rounds * txs.length)) / 100;
  };
  return {
    transfers: txs.length,
    jsonUsPerTx: perTx(() => (JSON.parse(json.toString('utf8')) as { txs: string[] }).txs.map(fromHex)),
    binaryUsPerTx: perTx(() => decodeTxBatch(binary)),
    jsonBytes: json.length,
    binaryBytes: binary.length,
  };
}

async function main(): Promise<void> {
  log('measuring synced store writes alone (the baseline)…');
  const fsync = await syncedWrites();
  log('measuring the reading of a batch alone, JSON against binary…');
  const reading = readingAlone();
  process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
  // CLIENTS concurrent senders, then one for the sequential phases and one per batch phase.
  const senders = Array.from({ length: CLIENTS + 4 }, (_, i) => `s${i}`);
  const perSender = Math.max(2 * SEQUENTIAL + 20, BATCHES * BATCH_SIZE, 200 * CONCURRENT_S * 10);
  const dir = mkdtempSync(join(tmpdir(), 'zeus-bench-submit-'));
  log(`starting 4 bookkeeper processes (block time ${BLOCK_MS} ms)…`);
  const net = await startDevnet({
    dir,
    validators: 4,
    blockTimeMs: BLOCK_MS,
    accounts: senders,
    params: { freeQuota: perSender + 10, quotaWindowMs: 3_600_000 },
    onProgress: (m) => log(`  ${m}`),
  });
  try {
    const ks = new Keystore(join(net.nodes[0].home, 'keys'));
    const keys = senders.map((s) => ks.load(s, DEV_PASSPHRASE));
    const to = addressFromPublicKey(generateKeyPair().publicKey);
    const nonces = new Map<KeyPair, bigint>();
    const hashes: string[] = [];
    const signBytes = (k: KeyPair): Uint8Array => {
      const nonce = nonces.get(k) ?? 0n;
      nonces.set(k, nonce + 1n);
      const bytes = signTx(k, { chainId: net.chainId, kind: TxKind.Transfer, nonce, payload: { to, token: ZNC, amount: 1_000n + nonce, memo: '' } });
      hashes.push(createHash('sha256').update(bytes).digest('hex'));
      return bytes;
    };
    const sign = (k: KeyPair): string => toHex(signBytes(k));
    const api = net.nodes[0].api;
    /** Waits until the node's mempool is empty, so the next phase starts as the last did. */
    const drained = async (): Promise<void> => {
      const until = Date.now() + 120_000;
      while (Date.now() < until && ((await (await fetch(`${api}/status`)).json()) as { mempool: number }).mempool > 0) {
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    // Warm up the connection and the node's JIT.
    for (let i = 0; i < 20; i++) await post(api, { tx: sign(keys[CLIENTS]) });

    log(`sequential: ${SEQUENTIAL} single transfers, one request at a time`);
    const seq: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const hex = sign(keys[CLIENTS]);
      const t = performance.now();
      await post(api, { tx: hex });
      seq.push(performance.now() - t);
    }

    log(`sequential, binary: ${SEQUENTIAL} single transfers as application/octet-stream`);
    const seqBin: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const bytes = signBytes(keys[CLIENTS]);
      const t = performance.now();
      await post(api, bytes);
      seqBin.push(performance.now() - t);
    }

    log(`concurrent: ${CLIENTS} clients for ${CONCURRENT_S} s`);
    const conc: number[] = [];
    const until = performance.now() + CONCURRENT_S * 1000;
    const t0 = performance.now();
    await Promise.all(
      keys.slice(0, CLIENTS).map(async (k, c) => {
        const node = net.nodes[c % net.nodes.length].api;
        while (performance.now() < until) {
          const hex = sign(k);
          const t = performance.now();
          await post(node, { tx: hex });
          conc.push(performance.now() - t);
        }
      }),
    );
    const concSeconds = (performance.now() - t0) / 1000;

    // The three batch phases sign their transfers beforehand: the rate is the submission path's.
    const presign = (k: KeyPair): Uint8Array[][] => Array.from({ length: BATCHES }, () => Array.from({ length: BATCH_SIZE }, () => signBytes(k)));

    await drained();
    log(`batches, JSON: ${BATCHES} × ${BATCH_SIZE} transfers`);
    const jsonBatches = presign(keys[CLIENTS + 1]).map((txs) => ({ txs: txs.map(toHex) }));
    const batch: number[] = [];
    const tb = performance.now();
    for (const body of jsonBatches) {
      const t = performance.now();
      await post(api, body);
      batch.push(performance.now() - t);
    }
    const batchSeconds = (performance.now() - tb) / 1000;

    await drained();
    log(`batches, binary TxBatch: ${BATCHES} × ${BATCH_SIZE} transfers`);
    const binBatches = presign(keys[CLIENTS + 2]);
    const binBatch: number[] = [];
    const tbb = performance.now();
    for (const txs of binBatches) {
      const t = performance.now();
      await post(api, encodeTxBatch(txs));
      binBatch.push(performance.now() - t);
    }
    const binBatchSeconds = (performance.now() - tbb) / 1000;

    await drained();
    log(`batches, WebSocket TxFrames: ${BATCHES} × ${BATCH_SIZE} transfers, pipelined`);
    const wsBatches = presign(keys[CLIENTS + 3]);
    const submitter = new ZeusClient(api).openSubmitter();
    await submitter.ready;
    const wsBatch: number[] = [];
    const tw = performance.now();
    await Promise.all(
      wsBatches.map(async (txs) => {
        const t = performance.now();
        refusedIn(await submitter.submit(txs));
        wsBatch.push(performance.now() - t);
      }),
    );
    const wsSeconds = (performance.now() - tw) / 1000;
    submitter.close();

    log(`waiting for all ${hashes.length} transfers to commit…`);
    // Committed when each sender's nonce on the chain has reached the transfers it signed.
    const committedOf = async (): Promise<number> => {
      let n = 0;
      for (const k of keys) {
        const a = (await (await fetch(`${api}/accounts/${encodeAddress(addressFromPublicKey(k.publicKey))}`)).json()) as { nonces: Record<string, string> };
        n += Object.values(a.nonces).reduce((x, v) => x + Number(v), 0);
      }
      return n;
    };
    const deadline = Date.now() + 300_000;
    let committed = await committedOf();
    while (committed < hashes.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      committed = await committedOf();
    }
    const pending = { length: hashes.length - committed };

    const result = {
      benchmark: 'submit',
      label: args.label,
      command: `npm run bench:submit -- --sequential ${SEQUENTIAL} --clients ${CLIENTS} --concurrent-seconds ${CONCURRENT_S} --batches ${BATCHES} --batch-size ${BATCH_SIZE} --block-time ${BLOCK_MS}`,
      machine: machine(),
      syncedStoreWrite: fsync,
      readingABatchAlone: reading,
      sequentialMs: stats(seq),
      sequentialBinaryMs: stats(seqBin),
      concurrent: { clients: CLIENTS, acksPerSecond: Math.round(conc.length / concSeconds), latencyMs: stats(conc) },
      batches: { size: BATCH_SIZE, txsPerSecond: Math.round((BATCHES * BATCH_SIZE) / batchSeconds), latencyMs: stats(batch) },
      // Binary and WebSocket against the JSON batches above, same run and size; latency of a
      // WebSocket batch counts from submit() (including its wait for one of the 4 slots).
      batchesBinary: { size: BATCH_SIZE, txsPerSecond: Math.round((BATCHES * BATCH_SIZE) / binBatchSeconds), latencyMs: stats(binBatch) },
      batchesWebSocket: { size: BATCH_SIZE, txsPerSecond: Math.round((BATCHES * BATCH_SIZE) / wsSeconds), latencyMs: stats(wsBatch) },
      submitted: hashes.length,
      notCommitted: pending.length,
    };
    writeFileSync(args.out!, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await stopDevnet(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
