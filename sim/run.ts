// The consensus simulator's command line:
//   npm run sim -- --seeds N [--start S0] [--nodes 4] [--heights H] [--jobs J] [--broken]
//     (seeds run in J worker threads, one per CPU by default; each seed is independent and exact)
//   npm run sim -- --seed S [--nodes 4] [--heights H] [--verbose]     (replays one seed exactly)
//   npm run sim -- --scenario restart-pause [--load TX_PER_S] --seeds N | --seed S
//     (a fixed schedule whose timings the seed draws; see simulation.ts)
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { describePlan, runSeed, SCENARIOS, type Scenario, type SimOptions, type SimResult } from './simulation.ts';

interface Args {
  seeds: number;
  start: number;
  seed?: number;
  nodes?: number;
  heights?: number;
  jobs: number;
  broken: boolean;
  verbose: boolean;
  scenario?: Scenario;
  load?: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seeds: 100, start: 1, jobs: availableParallelism(), broken: false, verbose: false };
  const num = (i: number): number => {
    const v = Number(argv[i + 1]);
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${argv[i]} needs a non-negative integer`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--seeds':
        a.seeds = num(i++);
        break;
      case '--start':
        a.start = num(i++);
        break;
      case '--seed':
        a.seed = num(i++);
        break;
      case '--nodes':
        a.nodes = num(i++);
        break;
      case '--heights':
        a.heights = num(i++);
        break;
      case '--jobs':
        a.jobs = Math.max(1, num(i++));
        break;
      case '--broken':
        a.broken = true;
        break;
      case '--verbose':
        a.verbose = true;
        break;
      case '--scenario': {
        const v = argv[++i];
        if (!(SCENARIOS as readonly string[]).includes(v)) throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')}`);
        a.scenario = v as Scenario;
        break;
      }
      case '--load':
        a.load = num(i++);
        break;
      default:
        throw new Error(
          `unknown argument ${argv[i]} (use --seeds N, --start S, --seed S, --nodes N, --heights H, --jobs J, --broken, --verbose, --scenario NAME, --load TX_PER_S)`,
        );
    }
  }
  return a;
}

function replayCommand(r: SimResult, a: Args): string {
  return (
    `npm run sim -- --seed ${r.seed}${a.scenario ? ` --scenario ${a.scenario}` : ''}${a.load !== undefined ? ` --load ${a.load}` : ''}` +
    `${a.nodes ? ` --nodes ${a.nodes}` : ''}${a.heights ? ` --heights ${a.heights}` : ''}${a.broken ? ' --broken' : ''}`
  );
}

function options(a: Args, seed: number): SimOptions {
  return { seed, nodes: a.nodes, heights: a.heights, brokenCore: a.broken, verbose: a.verbose, scenario: a.scenario, load: a.load };
}

type Summary = {
  seed: number;
  ok: boolean;
  kind?: 'safety' | 'liveness';
  reason?: string;
  trace: string;
  maxStallMs: number;
  maxBehindMs: number;
  pauseToCommitMs: number[];
};

async function runSlice(a: Args, seeds: number[], report: (s: Summary) => void): Promise<void> {
  for (const seed of seeds) {
    const r = await runSeed(options(a, seed));
    report({
      seed,
      ok: r.ok,
      kind: r.failure?.kind,
      reason: r.failure?.reason,
      trace: r.trace,
      maxStallMs: r.stats.maxStallMs,
      maxBehindMs: r.stats.maxBehindMs,
      pauseToCommitMs: r.stats.pauseToCommitMs,
    });
  }
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  if (a.seed !== undefined) {
    const t0 = performance.now();
    const r = await runSeed(options(a, a.seed));
    console.log(`seed ${r.seed}: ${describePlan(r.plan)}`);
    const s = r.stats;
    console.log(
      `  heights ${s.heights.join(',')}, ${r.events} events, ${(r.simMs / 1000).toFixed(1)} s simulated, ${s.messages} messages (${s.dropped} dropped), ` +
        `${s.crashes} crashes, ${s.evidence} evidence, ${s.guardRefusals} guard refusals, ${s.rejectedSyncs} rejected syncs, max round ${s.maxRound}, ` +
        `healed at ${s.healedAt} ms, done ${s.healToDoneMs} ms later (bound ${s.budgetMs} ms); ${s.txs} txs; longest behind ${s.maxBehindMs} ms, longest without a commit ${s.maxStallMs} ms` +
        `${s.pauseToCommitMs.length ? `; pause to next commit ${s.pauseToCommitMs.join(', ')} ms` : ''}; trace ${r.trace}; ${(performance.now() - t0).toFixed(0)} ms`,
    );
    if (!r.ok) {
      console.log(`FAILED seed ${r.seed}: ${r.failure!.kind}: ${r.failure!.reason}`);
      console.log(`  replay: ${replayCommand(r, a)} --verbose`);
    }
    console.log(`seeds: 1, safety violations: ${r.failure?.kind === 'safety' ? 1 : 0}, liveness failures: ${r.failure?.kind === 'liveness' ? 1 : 0}`);
    return r.ok ? 0 : 1;
  }

  const seeds = Array.from({ length: a.seeds }, (_, i) => a.start + i);
  const jobs = Math.min(a.jobs, availableParallelism(), seeds.length || 1);
  const t0 = performance.now();
  let done = 0;
  let safety = 0;
  let liveness = 0;
  const stalls: number[] = [];
  const behinds: number[] = [];
  const pauses: number[] = [];
  const report = (s: Summary): void => {
    done++;
    stalls.push(s.maxStallMs);
    behinds.push(s.maxBehindMs);
    pauses.push(...s.pauseToCommitMs);
    if (!s.ok) {
      if (s.kind === 'safety') safety++;
      else liveness++;
      console.log(`FAILED seed ${s.seed}: ${s.kind}: ${s.reason}`);
      console.log(`  replay: ${replayCommand({ seed: s.seed } as SimResult, a)}`);
    }
    if (done % 500 === 0) console.log(`  … ${done}/${seeds.length} seeds, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  };
  if (jobs <= 1) await runSlice(a, seeds, report);
  else {
    await Promise.all(
      Array.from({ length: jobs }, (_, j) => {
        const slice = seeds.filter((_, i) => i % jobs === j);
        return new Promise<void>((resolve, reject) => {
          const w = new Worker(fileURLToPath(import.meta.url), { workerData: { args: a, seeds: slice } });
          w.on('message', (s: Summary) => report(s));
          w.on('error', reject);
          w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`simulator worker exited with ${code}`))));
        });
      }),
    );
  }
  const secs = (performance.now() - t0) / 1000;
  const pct = (xs: number[], p: number): number => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? 0;
  if (pauses.length > 0) {
    console.log(
      `per seed, the longest a running node was behind: p50 ${pct(behinds, 50)} ms, p90 ${pct(behinds, 90)} ms, max ${pct(behinds, 100)} ms; ` +
        `without a commit by a quorum holding every block: p50 ${pct(stalls, 50)} ms, p90 ${pct(stalls, 90)} ms, max ${pct(stalls, 100)} ms; ` +
        `pause to next commit: p50 ${pct(pauses, 50)} ms, p90 ${pct(pauses, 90)} ms, max ${pct(pauses, 100)} ms`,
    );
  }
  console.log(`seeds: ${seeds.length}, safety violations: ${safety}, liveness failures: ${liveness} (${secs.toFixed(1)} s, ${jobs} job${jobs > 1 ? 's' : ''})`);
  return safety + liveness === 0 ? 0 : 1;
}

if (isMainThread) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(2);
    },
  );
} else {
  const { args, seeds } = workerData as { args: Args; seeds: number[] };
  runSlice(args, seeds, (s) => parentPort!.postMessage(s)).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(2);
    },
  );
}
