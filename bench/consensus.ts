// npm run bench:consensus [-- --rates 250,500,1000,2000,3000 --step-seconds 10 --sustain-rate 2000 --sustain-seconds 120 --transport ws|http]
//
// Four bookkeeper processes (a `zeus devnet` on 127.0.0.1, BFT over libp2p) under an open-loop
// transfer load: pre-signed transfers are offered at each rate in turn, spread over the four
// nodes' APIs (--transport ws, the default: the SDK's submitter, binary frames over one WebSocket
// per node; http: a POST /txs of a binary batch per 20 ms and node), then one rate is held for
// the sustained run. Reports, per rate, committed
// transfers per second and submit-to-final latency (final = committed with a +2/3 certificate;
// a committed block is never reverted). In the same run it measures the ceiling: Ed25519
// verifications per second on all of this machine's cores, divided by 4 because every
// bookkeeper must check every signature once.
//
// The bench genesis raises the per-account free quota so that 100 funded senders can offer
// thousands of transfers per second; everything else is the devnet's.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startDevnet, stopDevnet } from '../src/cli/devnet.ts';
import { addressFromPublicKey, generateKeyPair, Keystore } from '../src/crypto/index.ts';
import { DEV_PASSPHRASE } from '../src/node/index.ts';
import { cpuStages, stageShares } from './cpuStages.ts';
import { fetchTransport, phaseResults, runLoad, signLoad, socketTransport } from './load.ts';
import { machine } from './machine.ts';

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
    profile: { type: 'boolean', default: false },
    // How the load reaches the nodes: 'ws' is the SDK's submitter (TxFrames over one WebSocket per
    // node), 'http' a POST /txs of a binary TxBatch per 20 ms tick and node.
    transport: { type: 'string', default: 'ws' },
  },
});
const RATES = args.rates!.split(',').map(Number);
const STEP_S = Number(args['step-seconds']);
const SUSTAIN_RATE = Number(args['sustain-rate']);
const SUSTAIN_S = Number(args['sustain-seconds']);
const SENDERS = Number(args.senders);
const BLOCK_MS = Number(args['block-time']);
const VALIDATORS = 4;
const TRANSPORT = args.transport!;
if (TRANSPORT !== 'ws' && TRANSPORT !== 'http') throw new Error(`--transport is ws or http, not ${TRANSPORT}`);
const log = (s: string): void => void process.stderr.write(`${s}\n`);

/** CPU time of a process so far, all threads (user + system, from /proc). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

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
  // --profile: the bookkeepers run under the V8 CPU profiler (which costs them some speed) and the
  // run ends with their CPU time per committed transfer, stage by stage (bench/cpuStages.ts).
  const profiles = join(dir, 'profiles');
  if (args.profile) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profiles}`.trim();
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
    const offered = signLoad({ keys, chainId: net.chainId, phases, nodes: VALIDATORS, recipients });
    const cpuBefore = net.nodes.map((n) => processCpuMs(n.pid));
    const apis = net.nodes.map((n) => n.api);
    const sockets = TRANSPORT === 'ws' ? socketTransport(apis) : undefined;
    const run = await runLoad({ offered, phases, nodes: VALIDATORS, transport: sockets ?? fetchTransport(apis), log }).finally(() => sockets?.close());
    // Each bookkeeper's own count of transaction signatures it checked, against the transactions it committed.
    const metric = (text: string, name: string): number =>
      text
        .split('\n')
        .filter((l) => l.startsWith(name))
        .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
    const scraped = await Promise.all(net.nodes.map(async (n) => (await fetch(`${n.api}/metrics`)).text()));
    const signatureChecksPerCommittedTx = scraped.map((t) =>
      Number((metric(t, 'zeus_tx_signature_checks_total') / Math.max(1, metric(t, 'zeus_transactions_committed_total'))).toFixed(2)),
    );
    const cpuMs = net.nodes.map((n, i) => processCpuMs(n.pid) - cpuBefore[i]);
    const { refused } = run;
    const retried = run.retriedAfterMempoolFull;
    const results = phaseResults(phases, offered, run);
    const light = results[0];
    const sustained = results.at(-1)!;
    const best = Math.max(...results.map((r) => r.committedPerSecond));
    const committedAll = results.reduce((a, r) => a + r.committed, 0);
    // The whole load's CPU time of each bookkeeper process (all its threads, from the kernel's count),
    // shared by every transfer committed under it; the goal compares it with one verification on one core.
    const cpuUsPerTransfer = (1000 * cpuMs.reduce((a, b) => a + b, 0)) / VALIDATORS / Math.max(1, committedAll);
    const verifyUs = (1e6 * availableParallelism()) / verifyAll;
    const result = {
      benchmark: 'consensus',
      command: `npm run bench:consensus -- --rates ${RATES.join(',')} --step-seconds ${STEP_S} --sustain-rate ${SUSTAIN_RATE} --sustain-seconds ${SUSTAIN_S} --senders ${SENDERS} --block-time ${BLOCK_MS} --transport ${TRANSPORT}${args.profile ? ' --profile' : ''}`,
      machine: machine(),
      bookkeepers: VALIDATORS,
      blockTimeMs: BLOCK_MS,
      phases: results,
      refused,
      retriedAfterMempoolFull: retried,
      signatureChecksPerCommittedTx,
      cpuMsPerBookkeeper: cpuMs.map(Math.round),
      cpuUsPerCommittedTransferPerBookkeeper: Number(cpuUsPerTransfer.toFixed(1)),
      ed25519VerifyUsOneCore: Number(verifyUs.toFixed(1)),
      ed25519VerifyPerSecondAllCores: Math.round(verifyAll),
      ceilingTransfersPerSecond: Math.round(ceiling),
      bestCommittedPerSecond: best,
      fractionOfCeiling: Number((best / ceiling).toFixed(3)),
      goals: {
        '>= 0.7 of the Ed25519 ceiling': best / ceiling >= 0.7,
        'finality p50 <= 0.5 s at light load': light.finalityMs.p50 <= 500,
        'CPU per committed transfer per bookkeeper <= 2 Ed25519 verifications': cpuUsPerTransfer <= 2 * verifyUs,
        [`>= 2000 committed transfers/s sustained for ${SUSTAIN_S} s`]: SUSTAIN_RATE >= 2000 && sustained.committedPerSecond >= 2000,
      },
    };
    if (args.profile) {
      // The profiles are written as the nodes exit; the whole run's committed transfers share their CPU time.
      await stopDevnet(dir);
      const ms = cpuStages(profiles);
      Object.assign(result, {
        profiled: true,
        cpuMsByStage: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(v)])),
        // Profile samples weigh wall time, so a thread waiting for a core is counted where it waited:
        // the shares are indicative, the total above (the kernel's CPU time) is the measure.
        cpuShareByStage: stageShares(ms),
        cpuUsPerCommittedTransferByStage: Object.fromEntries(
          Object.entries(stageShares(ms)).map(([k, share]) => [k, Number((share * cpuUsPerTransfer).toFixed(1))]),
        ),
      });
    }
    writeFileSync(args.out!, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await stopDevnet(dir);
    if (args.keep) log(`devnet kept in ${dir} (logs: node*.log)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
