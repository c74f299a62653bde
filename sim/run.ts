// The consensus simulator's command line:
//   npm run sim -- --seeds N [--start S0] [--nodes 4] [--heights H] [--jobs J] [--broken]
//     (seeds run in J worker threads, one per CPU by default; each seed is independent and exact)
//   npm run sim -- --seed S [--nodes 4] [--heights H] [--verbose]     (replays one seed exactly)
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { describePlan, runSeed, type SimOptions, type SimResult } from './simulation.ts';

interface Args {
  seeds: number;
  start: number;
  seed?: number;
  nodes?: number;
  heights?: number;
  jobs: number;
  broken: boolean;
  verbose: boolean;
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
      default:
        throw new Error(`unknown argument ${argv[i]} (use --seeds N, --start S, --seed S, --nodes N, --heights H, --jobs J, --broken, --verbose)`);
    }
  }
  return a;
}

function replayCommand(r: SimResult, a: Args): string {
  return `npm run sim -- --seed ${r.seed}${a.nodes ? ` --nodes ${a.nodes}` : ''}${a.heights ? ` --heights ${a.heights}` : ''}${a.broken ? ' --broken' : ''}`;
}

function options(a: Args, seed: number): SimOptions {
  return { seed, nodes: a.nodes, heights: a.heights, brokenCore: a.broken, verbose: a.verbose };
}

type Summary = { seed: number; ok: boolean; kind?: 'safety' | 'liveness'; reason?: string; trace: string };

async function runSlice(a: Args, seeds: number[], report: (s: Summary) => void): Promise<void> {
  for (const seed of seeds) {
    const r = await runSeed(options(a, seed));
    report({ seed, ok: r.ok, kind: r.failure?.kind, reason: r.failure?.reason, trace: r.trace });
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
        `healed at ${s.healedAt} ms, done ${s.healToDoneMs} ms later (bound ${s.budgetMs} ms); trace ${r.trace}; ${(performance.now() - t0).toFixed(0)} ms`,
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
  const report = (s: Summary): void => {
    done++;
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
