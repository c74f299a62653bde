// npm run bench:ledger [-- --txs N --senders S --block-time MS --batch B]
// npm run bench:ledger -- --threads 1,2 [--blocks K --block-txs N --rounds R]: execution alone on 1, 2, …
//   threads (bench/ledgerThreads.ts), written to bench/results/ledger-threads.json.
//
// Signs N transfers in advance, submits them to one real node process over its HTTP API and
// measures sustained committed transfers per second and submit-to-commit latency. In the same
// run it measures the ceiling: raw Ed25519 verifications per second on one core (node:crypto,
// the verifier the node uses), and the ledger's own CPU time per transfer in process (decoding
// with every admission check, executing and staging), which the machine's load moves less.
// Goal: committed transfers/s ≥ half the ceiling.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { addressFromPublicKey, generateKeyPair, Keystore, signBytes, toHex, verifySignature } from '../src/crypto/index.ts';
import { signTx, TxKind, ZNC, ZNC_UNIT } from '../src/ledger/index.ts';
import { freePort } from '../src/cli/devnet.ts';
import { initDevHome, DEV_PASSPHRASE } from '../src/node/index.ts';
import { ZeusClient } from '../src/sdk/index.ts';
import { ledgerExecution } from './ledgerExec.ts';
import { executionScaling } from './ledgerThreads.ts';
import { machine, percentile } from './machine.ts';

const { values: args } = parseArgs({
  options: {
    txs: { type: 'string', default: '20000' },
    senders: { type: 'string', default: '250' },
    'block-time': { type: 'string', default: '200' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '2' },
    out: { type: 'string' },
    threads: { type: 'string' },
    blocks: { type: 'string', default: '8' },
    'warmup-blocks': { type: 'string', default: '3' },
    'block-txs': { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
  },
});
const N = Number(args.txs);
const SENDERS = Number(args.senders);
const BLOCK_MS = Number(args['block-time']);
const BATCH = Number(args.batch);
const CONCURRENCY = Number(args.concurrency);
const log = (s: string): void => void process.stderr.write(`${s}\n`);

function ed25519Ceiling(): number {
  const keys = Array.from({ length: 64 }, () => generateKeyPair());
  const msgs = keys.map((k, i) => {
    const m = new Uint8Array(160).fill(i);
    return { pk: k.publicKey, m, sig: signBytes(k.secretKey, m) };
  });
  for (let i = 0; i < 2000; i++) verifySignature(msgs[i % 64].pk, msgs[i % 64].m, msgs[i % 64].sig);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < 3000) {
    for (let i = 0; i < 500; i++, n++) {
      const x = msgs[n % 64];
      if (!verifySignature(x.pk, x.m, x.sig)) throw new Error('verification failed');
    }
  }
  return n / ((performance.now() - start) / 1000);
}

/** Execution alone on each thread count: the scaling curve, with the machine it was measured on. */
async function threadScaling(threads: number[]): Promise<void> {
  const blocks = Number(args.blocks);
  const perBlock = Number(args['block-txs']);
  const rounds = Number(args.rounds);
  log(`execution alone on ${threads.join(', ')} thread(s)…`);
  const warmup = Number(args['warmup-blocks']);
  const r = await executionScaling(threads, { blocks, warmup, perBlock, senders: SENDERS > 250 ? SENDERS : 1800, rounds, log });
  const two = r.curve.find((p) => p.threads === 2);
  const result = {
    benchmark: 'ledger-threads',
    command: `npm run bench:ledger -- --threads ${threads.join(',')} --blocks ${blocks} --warmup-blocks ${warmup} --block-txs ${perBlock} --rounds ${rounds}`,
    machine: machine(),
    // Other work on the machine moves wall time (the curve's seconds) far more than CPU time.
    loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(1))),
    what: 'execute and commit blocks of transfers (signatures checked and transactions decoded beforehand); 1 thread = sequential',
    ...r,
    goal: 'transfers/s with 2 threads >= 1.7 x with 1 thread',
    goalMet: two ? two.speedup >= 1.7 : null,
  };
  writeFileSync(args.out ?? 'bench/results/ledger-threads.json', `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

async function main(): Promise<void> {
  if (args.threads) return threadScaling(args.threads.split(',').map(Number));
  log(`measuring the Ed25519 ceiling (one core, 3 s)…`);
  const ceiling = ed25519Ceiling();
  log(`  ${Math.round(ceiling)} verifications/s`);
  log('measuring the ledger in process (decode, execute and stage 20,000 transfers, best of 5, CPU time)…');
  const inProcess = ledgerExecution();
  log(`  decode ${inProcess.decodeUsPerTx} µs, execute ${inProcess.executeUsPerTx} µs per transfer`);

  process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
  const dir = mkdtempSync(join(tmpdir(), 'zeus-bench-'));
  const home = join(dir, 'node');
  const port = await freePort();
  const senders = Array.from({ length: SENDERS }, (_, i) => `s${i}`);
  log(`creating a dev home with ${SENDERS} funded senders…`);
  const { genesis } = initDevHome(home, { apiPort: port, blockIntervalMs: BLOCK_MS, accounts: senders, devFunding: 1_000_000n * ZNC_UNIT });
  const perSender = Math.ceil(N / SENDERS);
  if (perSender > genesis.params.freeQuota)
    throw new Error(`${perSender} txs per sender exceeds the free quota ${genesis.params.freeQuota}; use more --senders`);
  const ks = new Keystore(join(home, 'keys'));
  const keys = senders.map((s) => ks.load(s, DEV_PASSPHRASE));
  const recipients = Array.from({ length: 1000 }, () => addressFromPublicKey(generateKeyPair().publicKey));

  log(`signing ${N} transfers in advance…`);
  const txs: { hash: string; hex: string }[] = [];
  // Sender-major order: all of one sender's transfers travel in one request, so requests in
  // flight at once never race each other's nonces.
  for (let i = 0; i < N; i++) {
    const s = Math.floor(i / perSender);
    const nonce = BigInt(i % perSender);
    const bytes = signTx(keys[s], {
      chainId: genesis.chainId,
      kind: TxKind.Transfer,
      nonce,
      payload: { to: recipients[i % recipients.length], token: ZNC, amount: 1000n + BigInt(i), memo: '' },
    });
    txs.push({ hash: createHash('sha256').update(bytes).digest('hex'), hex: toHex(bytes) });
  }
  const bodies: { body: string; hashes: string[] }[] = [];
  const step = Math.max(1, Math.floor(BATCH / perSender)) * perSender;
  for (let i = 0; i < N; i += step) {
    const part = txs.slice(i, i + step);
    bodies.push({ body: JSON.stringify({ txs: part.map((t) => t.hex) }), hashes: part.map((t) => t.hash) });
  }

  log(`starting the node (block time ${BLOCK_MS} ms)…`);
  const child = spawn(
    process.execPath,
    [...(process.env.ZEUS_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), 'bin/zeus.js', '--home', home, '--json', 'node', 'start'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: process.env },
  );
  const url = `http://127.0.0.1:${port}`;
  const client = new ZeusClient(url);
  for (let i = 0; ; i++) {
    try {
      await client.status();
      break;
    } catch {
      if (i > 300) throw new Error('node did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const submitAt = new Map<string, number>();
  const commitAt = new Map<string, number>();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?events=block`);
  await new Promise((r) => ws.addEventListener('open', r, { once: true }));
  const blockFetches: Promise<void>[] = [];
  let lastCommit = 0;
  ws.addEventListener('message', (msg: MessageEvent) => {
    const e = JSON.parse(String(msg.data)) as { type: string; height: number };
    if (e.type !== 'block') return;
    const t = performance.now();
    blockFetches.push(
      fetch(`${url}/blocks/${e.height}`)
        .then((r) => r.json() as Promise<{ txs: string[][] }>)
        .then((b) => {
          for (const h of b.txs.flat()) commitAt.set(h, t);
          lastCommit = t;
        }),
    );
  });

  log(`submitting ${N} transfers in batches of ${BATCH}, ${CONCURRENCY} requests in flight…`);
  let rejected = 0;
  const rejectedCodes: Record<string, number> = {};
  const firstSubmit = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const b = bodies[next++];
      const t = performance.now();
      for (const h of b.hashes) submitAt.set(h, t);
      for (;;) {
        const res = await fetch(`${url}/txs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b.body });
        const j = (await res.json()) as { results: { error?: { code: string } }[] };
        const full = j.results.filter((r) => r.error?.code === 'MEMPOOL_FULL').length;
        for (const r of j.results) {
          if (!r.error || r.error.code === 'MEMPOOL_FULL') continue;
          rejected++;
          rejectedCodes[r.error.code] = (rejectedCodes[r.error.code] ?? 0) + 1;
        }
        if (full === 0) break;
        await new Promise((r) => setTimeout(r, 50)); // back off; the retry's duplicates are refused
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const submitDone = performance.now();
  const deadline = Date.now() + 120_000;
  while (commitAt.size < N - rejected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await Promise.all(blockFetches);
  ws.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });

  const lat = [...commitAt.entries()].map(([h, t]) => t - (submitAt.get(h) ?? t)).sort((a, b) => a - b);
  const seconds = (lastCommit - firstSubmit) / 1000;
  const tps = commitAt.size / seconds;
  const result = {
    benchmark: 'ledger',
    command: `npm run bench:ledger -- --txs ${N} --senders ${SENDERS} --block-time ${BLOCK_MS} --batch ${BATCH} --concurrency ${CONCURRENCY}`,
    machine: machine(),
    transfers: N,
    committed: commitAt.size,
    rejected,
    rejectedCodes,
    submitSeconds: (submitDone - firstSubmit) / 1000,
    seconds,
    committedPerSecond: Math.round(tps),
    latencyMs: { p50: Math.round(percentile(lat, 50)), p99: Math.round(percentile(lat, 99)), max: Math.round(lat.at(-1) ?? 0) },
    ed25519VerifyPerSecondOneCore: Math.round(ceiling),
    ledgerCpuUsPerTransfer: { decode: inProcess.decodeUsPerTx, execute: inProcess.executeUsPerTx },
    fractionOfCeiling: Number((tps / ceiling).toFixed(3)),
    goal: 'committed transfers/s >= 0.5 x Ed25519 verifications/s on one core',
    goalMet: tps >= ceiling / 2,
  };
  writeFileSync(args.out ?? 'bench/results/ledger.json', `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

await main();
