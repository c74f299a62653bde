// npm run bench:consensus [-- --rates 250,500,1000,2000,3000 --step-seconds 10 --sustain-rate 2000 --sustain-seconds 120]
//
// Four bookkeeper processes (a `zeus devnet` on 127.0.0.1, BFT over libp2p) under an open-loop
// transfer load: pre-signed transfers are offered at each rate in turn, spread over the four
// nodes' HTTP APIs, then one rate is held for the sustained run. Reports, per rate, committed
// transfers per second and submit-to-final latency (final = committed with a +2/3 certificate;
// a committed block is never reverted). In the same run it measures the ceiling: Ed25519
// verifications per second on all of this machine's cores, divided by 4 because every
// bookkeeper must check every signature once.
//
// The bench genesis raises the per-account free quota so that 100 funded senders can offer
// thousands of transfers per second; everything else is the devnet's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { startDevnet, stopDevnet } from '../src/cli/devnet.ts';
import { addressFromPublicKey, generateKeyPair, Keystore, toHex } from '../src/crypto/index.ts';
import { signTx, TxKind, ZNC } from '../src/ledger/index.ts';
import { DEV_PASSPHRASE } from '../src/node/index.ts';
import { machine, percentile } from './machine.ts';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '250,500,1000,2000,3000' },
    'step-seconds': { type: 'string', default: '10' },
    'sustain-rate': { type: 'string', default: '2000' },
    'sustain-seconds': { type: 'string', default: '120' },
    senders: { type: 'string', default: '100' },
    'block-time': { type: 'string', default: '250' },
    out: { type: 'string', default: 'bench/results/consensus.json' },
    keep: { type: 'boolean', default: false },
  },
});
const RATES = args.rates!.split(',').map(Number);
const STEP_S = Number(args['step-seconds']);
const SUSTAIN_RATE = Number(args['sustain-rate']);
const SUSTAIN_S = Number(args['sustain-seconds']);
const SENDERS = Number(args.senders);
const BLOCK_MS = Number(args['block-time']);
const VALIDATORS = 4;
const TICK_MS = 20;
const log = (s: string): void => void process.stderr.write(`${s}\n`);

/** Ed25519 verifications per second with one verifying thread per core, for 3 s. */
async function ed25519CeilingAllCores(): Promise<number> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { generateKeyPairSync, sign, verify } = require('node:crypto');
    const items = Array.from({ length: 64 }, (_, i) => {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const m = Buffer.alloc(160, i);
      return { publicKey, m, s: sign(null, m, privateKey) };
    });
    for (let i = 0; i < 2000; i++) verify(null, items[i % 64].m, items[i % 64].publicKey, items[i % 64].s);
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < 3000) for (let i = 0; i < 200; i++, n++) { const x = items[n % 64]; if (!verify(null, x.m, x.publicKey, x.s)) throw new Error('bad'); }
    parentPort.postMessage(n / ((performance.now() - start) / 1000));
  `;
  const rates = await Promise.all(
    Array.from(
      { length: availableParallelism() },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(code, { eval: true });
          w.once('message', (r: number) => {
            resolve(r);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  return rates.reduce((a, b) => a + b, 0);
}

interface Offered {
  hash: string;
  hex: string;
  node: number;
  /** When the open-loop schedule offers it (ms after the run's start). */
  at: number;
  phase: number;
}

async function main(): Promise<void> {
  log('measuring the Ed25519 ceiling on all cores (3 s)…');
  const verifyAll = await ed25519CeilingAllCores();
  const ceiling = verifyAll / VALIDATORS;
  log(
    `  ${Math.round(verifyAll)} verifications/s on ${availableParallelism()} cores → ceiling ${Math.round(ceiling)} transfers/s for ${VALIDATORS} bookkeepers`,
  );

  const phases = [
    ...RATES.map((rate) => ({ rate, seconds: STEP_S, kind: 'step' as const })),
    { rate: SUSTAIN_RATE, seconds: SUSTAIN_S, kind: 'sustained' as const },
  ];
  const total = phases.reduce((a, p) => a + p.rate * p.seconds, 0);
  const perSender = Math.ceil(total / SENDERS);

  process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
  const dir = mkdtempSync(join(tmpdir(), 'zeus-bench-bft-'));
  const senders = Array.from({ length: SENDERS }, (_, i) => `s${i}`);
  log(`starting ${VALIDATORS} bookkeeper processes (block time ${BLOCK_MS} ms) with ${SENDERS} funded senders…`);
  const net = await startDevnet({
    dir,
    validators: VALIDATORS,
    blockTimeMs: BLOCK_MS,
    accounts: senders,
    params: { freeQuota: perSender + 10, quotaWindowMs: 3_600_000 },
    onProgress: (m) => log(`  ${m}`),
  });
  try {
    const ks = new Keystore(join(net.nodes[0].home, 'keys'));
    const keys = senders.map((s) => ks.load(s, DEV_PASSPHRASE));
    const recipients = Array.from({ length: 1000 }, () => addressFromPublicKey(generateKeyPair().publicKey));

    log(`signing ${total} transfers in advance…`);
    const offered: Offered[] = [];
    const nonces = new Array<bigint>(SENDERS).fill(0n);
    let t0 = 0;
    phases.forEach((p, phase) => {
      const n = p.rate * p.seconds;
      for (let i = 0; i < n; i++) {
        const k = offered.length;
        const s = k % SENDERS;
        const bytes = signTx(keys[s], {
          chainId: net.chainId,
          kind: TxKind.Transfer,
          nonce: nonces[s]++,
          payload: { to: recipients[k % recipients.length], token: ZNC, amount: 1_000n + BigInt(k), memo: '' },
        });
        // A sender always uses the same node, so its nonces arrive in order.
        offered.push({ hash: createHash('sha256').update(bytes).digest('hex'), hex: toHex(bytes), node: s % VALIDATORS, at: t0 + (i * 1000) / p.rate, phase });
      }
      t0 += p.seconds * 1000;
    });

    const commitAt = new Map<string, number>();
    const ws = new WebSocket(`${net.nodes[0].api.replace(/^http/, 'ws')}/ws?events=block`);
    await new Promise((r) => ws.addEventListener('open', r, { once: true }));
    const fetches: Promise<void>[] = [];
    ws.addEventListener('message', (msg: MessageEvent) => {
      const e = JSON.parse(String(msg.data)) as { type: string; height: number; txCounts: number[] };
      if (e.type !== 'block' || e.txCounts.every((c) => c === 0)) return;
      const t = performance.now();
      fetches.push(
        fetch(`${net.nodes[0].api}/blocks/${e.height}`)
          .then((r) => r.json() as Promise<{ txs: string[][] }>)
          .then((b) => {
            for (const h of b.txs.flat()) commitAt.set(h, t);
          }),
      );
    });

    // Open loop: every tick, offer what the schedule says is due; each node gets its batches in order.
    const queues: Promise<void>[] = Array.from({ length: VALIDATORS }, () => Promise.resolve());
    const refused: Record<string, number> = {};
    let retried = 0;
    const post = async (node: number, batch: Offered[]): Promise<void> => {
      let todo = batch;
      while (todo.length > 0) {
        let j: { results: { error?: { code: string } }[] };
        try {
          const res = await fetch(`${net.nodes[node].api}/txs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ txs: todo.map((o) => o.hex) }),
          });
          j = (await res.json()) as typeof j;
        } catch (e) {
          // A node that stops answering is a result, not a crash of the benchmark.
          refused.UNREACHABLE = (refused.UNREACHABLE ?? 0) + todo.length;
          log(`  node${node} did not answer: ${(e as Error).message}`);
          return;
        }
        const again: Offered[] = [];
        j.results.forEach((r, i) => {
          if (!r.error) return;
          if (r.error.code === 'MEMPOOL_FULL') again.push(todo[i]);
          else refused[r.error.code] = (refused[r.error.code] ?? 0) + 1;
        });
        if (again.length > 0) {
          retried += again.length;
          await new Promise((r) => setTimeout(r, 50));
        }
        todo = again;
      }
    };
    const start = performance.now();
    let next = 0;
    log(`offering load: ${phases.map((p) => `${p.rate}/s for ${p.seconds} s`).join(', ')}`);
    let lastReport = 0;
    while (next < offered.length) {
      const now = performance.now() - start;
      const due: Offered[][] = Array.from({ length: VALIDATORS }, () => []);
      while (next < offered.length && offered[next].at <= now) due[offered[next].node].push(offered[next++]);
      due.forEach((batch, node) => {
        if (batch.length > 0) queues[node] = queues[node].then(() => post(node, batch));
      });
      if (now - lastReport > 5000) {
        lastReport = now;
        const phase = offered[Math.min(next, offered.length - 1)].phase;
        log(`  ${(now / 1000).toFixed(0)} s: offered ${next}, committed ${commitAt.size} (phase ${phase}: ${phases[phase].rate}/s)`);
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    await Promise.all(queues);
    const deadline = Date.now() + 60_000;
    const expected = offered.length - Object.values(refused).reduce((a, b) => a + b, 0);
    while (commitAt.size < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await Promise.all(fetches);
    ws.close();

    const results = phases.map((p, phase) => {
      const mine = offered.filter((o) => o.phase === phase);
      const from = mine[0].at;
      const to = from + p.seconds * 1000;
      const inWindow = [...commitAt.values()].filter((t) => t - start >= from && t - start < to).length;
      const lat = mine
        .filter((o) => commitAt.has(o.hash))
        .map((o) => commitAt.get(o.hash)! - start - o.at)
        .sort((a, b) => a - b);
      return {
        kind: p.kind,
        offeredPerSecond: p.rate,
        seconds: p.seconds,
        committedPerSecond: Math.round(inWindow / p.seconds),
        committed: lat.length,
        offered: mine.length,
        finalityMs: { p50: Math.round(percentile(lat, 50)), p99: Math.round(percentile(lat, 99)), max: Math.round(lat.at(-1) ?? 0) },
      };
    });
    const light = results[0];
    const sustained = results.at(-1)!;
    const best = Math.max(...results.map((r) => r.committedPerSecond));
    const result = {
      benchmark: 'consensus',
      command: `npm run bench:consensus -- --rates ${RATES.join(',')} --step-seconds ${STEP_S} --sustain-rate ${SUSTAIN_RATE} --sustain-seconds ${SUSTAIN_S} --senders ${SENDERS} --block-time ${BLOCK_MS}`,
      machine: machine(),
      bookkeepers: VALIDATORS,
      blockTimeMs: BLOCK_MS,
      phases: results,
      refused,
      retriedAfterMempoolFull: retried,
      ed25519VerifyPerSecondAllCores: Math.round(verifyAll),
      ceilingTransfersPerSecond: Math.round(ceiling),
      bestCommittedPerSecond: best,
      fractionOfCeiling: Number((best / ceiling).toFixed(3)),
      goals: {
        'finality p50 <= 1 s at light load': light.finalityMs.p50 <= 1000,
        [`>= 2000 committed transfers/s sustained for ${SUSTAIN_S} s`]: SUSTAIN_RATE >= 2000 && sustained.committedPerSecond >= 2000,
      },
    };
    writeFileSync(args.out!, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await stopDevnet(dir);
    if (args.keep) log(`devnet kept in ${dir} (logs: node*.log)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
