// npm run bench:market [-- --sizes 1000,10000,100000 --bids 3]
//
// Matching at scale, on the ledger itself: for each size n it registers n workers and posts n
// tasks whose bid windows all close at the same height, sends `--bids` bids per task, and
// measures (1) bids processed per second (executing the Bid transactions) and (2) the time to
// close that height's n bid windows (ranking every task's bids and creating the leases), both
// for execution alone and with the state root. Signatures are not part of this: transactions
// carry a dummy signature, as execution never checks one (the consensus bench measures
// verification). The goal: cost grows no faster than n log n — checked by comparing
// time / (n log2 n) between the smallest and the largest size of the same run.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { encode } from '../src/codec/index.ts';
import { sha256, toHex, utf8 } from '../src/crypto/index.ts';
import { decodeTx, PayloadSchemas, stores, SignedTxSchema, TxKind, ZNC, ZNC_UNIT, type Payload, type Tx, taskIdFor } from '../src/ledger/index.ts';

import { MARKET_TEST_PARAMS, taskOrder, workerSpec } from '../src/ledger/marketTesting.ts';
import { commitExecuted, testChain, type TestChain } from '../src/ledger/testing.ts';
import { quote, type WorkerOffer } from '../src/market/index.ts';
import { machine } from './machine.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,100000' },
    bids: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/market.json' },
  },
});
const SIZES = args.sizes!.split(',').map(Number);
const BIDS = Number(args.bids);
const POSTERS = 20;
const log = (s: string): void => void process.stderr.write(`${s}\n`);

/** A transaction as execution sees it, with a dummy signature (never checked by execution). */
function unsignedTx<K extends TxKind>(chainId: string, publicKey: Uint8Array, kind: K, nonce: bigint, payload: Payload<K>): Tx {
  const body = encode(PayloadSchemas[kind] as never, payload as never);
  return decodeTx(encode(SignedTxSchema, { chainId, kind, sender: publicKey, nonce, payload: body, signature: new Uint8Array(64) }));
}

class Bench {
  readonly t: TestChain;
  readonly nonces = new Map<string, bigint>();

  constructor() {
    const posters = Array.from({ length: POSTERS }, (_, i) => `poster-${i}`);
    this.t = testChain({
      devAccounts: posters,
      params: { freeQuota: 1_000_000_000, market: { ...MARKET_TEST_PARAMS, minWorkerBond: ZNC_UNIT.toString(), maxBidsPerTask: 64 } },
    });
  }

  tx<K extends TxKind>(publicKey: Uint8Array, kind: K, payload: Payload<K>): Tx {
    const probe = unsignedTx(this.t.genesis.chainId, publicKey, kind, 0n, payload);
    const key = `${toHex(publicKey)}/${probe.chain}`;
    const n = this.nonces.get(key) ?? 0n;
    this.nonces.set(key, n + 1n);
    return n === 0n ? probe : unsignedTx(this.t.genesis.chainId, publicKey, kind, n, payload);
  }

  /** One height without block limits; returns [begin ms, apply ms, finish+commit ms]. */
  height(txs: Tx[]): { beginMs: number; applyMs: number; finishMs: number } {
    const t0 = performance.now();
    const exec = this.t.ledger.begin(this.t.ledger.time + 1000, true);
    const t1 = performance.now();
    for (const tx of txs) {
      const err = exec.tryApply(tx);
      if (err) throw new Error(`${err.code}: ${err.message}`);
    }
    const t2 = performance.now();
    commitExecuted(this.t, exec.finish());
    const t3 = performance.now();
    return { beginMs: t1 - t0, applyMs: t2 - t1, finishMs: t3 - t2 };
  }
}

interface SizeResult {
  n: number;
  bids: number;
  bidsPerSecond: number;
  bidApplyMs: number;
  closeExecMs: number;
  closeWithRootMs: number;
  leases: number;
  quoteMs: number;
}

function runSize(n: number): SizeResult {
  const b = new Bench();
  const workerKeys = Array.from({ length: n }, (_, i) => sha256(utf8(`bench-worker-${n}-${i}`)));
  const posterKeys = Array.from({ length: POSTERS }, (_, i) => b.t.keys[`poster-${i}`].publicKey);
  log(`n = ${n}: funding, staking and registering ${n} workers…`);
  b.height(workerKeys.map((pk, i) => b.tx(posterKeys[i % POSTERS], TxKind.Transfer, { to: addressOf(b, pk), token: ZNC, amount: 2n * ZNC_UNIT, memo: '' })));
  b.height([]);
  b.height(workerKeys.map((pk) => b.tx(pk, TxKind.Stake, { amount: ZNC_UNIT })));
  b.height([]);
  const spec = workerSpec({ bond: ZNC_UNIT });
  b.height(workerKeys.map((pk) => b.tx(pk, TxKind.RegisterWorker, spec)));
  log(`  posting ${n} tasks…`);
  const posts = Array.from({ length: n }, (_, i) =>
    b.tx(posterKeys[i % POSTERS], TxKind.PostTask, taskOrder({ bidWindowBlocks: 2, maxPricePerHour: 20_000_000n, retries: 0 })),
  );
  b.height(posts);
  const ids = posts.map((p) => taskIdFor(p.hash, p.chain));
  const bids: Tx[] = [];
  ids.forEach((id, i) => {
    for (let k = 0; k < BIDS; k++)
      bids.push(b.tx(workerKeys[(i + k * 7919) % n], TxKind.Bid, { task: id, price: BigInt(10_000_000 + ((i * 31 + k * 17) % 9_000_000)) }));
  });
  log(`  ${bids.length} bids…`);
  const bidRun = b.height(bids);
  b.height([]);
  log(`  closing ${n} bid windows in one height…`);
  const closeHeight = Number(stores.tasks.get(b.t.ledger.chains[ids[0][0]], toHex(ids[0]))!.closeHeight);
  if (b.t.ledger.height !== closeHeight) throw new Error(`expected to be at the close height ${closeHeight}, at ${b.t.ledger.height}`);
  const close = b.height([]);
  let leases = 0;
  for (const id of ids) leases += stores.tasks.get(b.t.ledger.chains[id[0]], toHex(id))!.leaseCount;
  if (leases !== n) throw new Error(`expected ${n} leases, found ${leases}`);
  // The CLI's `task quote` over the whole registry, for reference.
  const offers: WorkerOffer[] = workerKeys
    .slice(0, n)
    .map((_pk, i) => ({ ...spec, worker: String(i), rating: 600, active: true, bondShortfall: 0n, bond: 0n }));
  const q0 = performance.now();
  quote('bench', offers, { ...taskOrder(), maxPricePerHour: 20_000_000n });
  const quoteMs = performance.now() - q0;
  const r: SizeResult = {
    n,
    bids: bids.length,
    bidsPerSecond: Math.round(bids.length / (bidRun.applyMs / 1000)),
    bidApplyMs: Math.round(bidRun.applyMs),
    closeExecMs: Math.round(close.beginMs),
    closeWithRootMs: Math.round(close.beginMs + close.finishMs),
    leases,
    quoteMs: Math.round(quoteMs),
  };
  log(
    `  ${r.bidsPerSecond} bids/s; closing ${n} windows: ${r.closeExecMs} ms (${r.closeWithRootMs} ms with the state root); quote over ${n} workers: ${r.quoteMs} ms`,
  );
  return r;
}

function addressOf(b: Bench, publicKey: Uint8Array): Uint8Array {
  return unsignedTx(b.t.genesis.chainId, publicKey, TxKind.Unjail, 0n, {}).from;
}

function main(): void {
  const results = SIZES.map(runSize);
  const nlogn = (n: number): number => n * Math.log2(n);
  const first = results[0];
  const last = results.at(-1)!;
  const growth = (pick: (r: SizeResult) => number): number => Number((pick(last) / nlogn(last.n) / (pick(first) / nlogn(first.n))).toFixed(3));
  const closeGrowth = growth((r) => r.closeExecMs);
  const closeRootGrowth = growth((r) => r.closeWithRootMs);
  const bidGrowth = growth((r) => r.bidApplyMs);
  // Time per n·log n may not grow: allow 1.5× for caches and GC at 100× the size.
  const ok = closeGrowth <= 1.5 && bidGrowth <= 1.5;
  const out = {
    command: `npm run bench:market -- --sizes ${SIZES.join(',')} --bids ${BIDS}`,
    machine: machine(),
    results,
    growthVsNLogN: { closeExec: closeGrowth, closeWithRoot: closeRootGrowth, bidApply: bidGrowth },
    goals: { 'cost grows no faster than n log n (time/(n log n), largest vs smallest size, ≤ 1.5)': ok },
  };
  writeFileSync(args.out!, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  if (!ok) process.exitCode = 1;
}

main();
