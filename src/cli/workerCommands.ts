import { existsSync, readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { Digest } from '../ddn/index.ts';
import { preparePieceMaps, pushFromEngine, pushToNode, pushWasmModule } from './imageCommands.ts';
import { addressFromPublicKey, decodeAddress, encodeAddress, sealKeyPairFromSeed, toHex, type KeyPair } from '../crypto/index.ts';
import { TxKind, ZNC } from '../ledger/index.ts';
import { formatUnits, NodeApiError, parseAmount } from '../sdk/index.ts';
import { homePaths, LOG_LEVELS, nodeLogger, readConfig, type LogLevel } from '../node/index.client.ts';
import type { BenchmarkResult, RuntimeName, WorkerStatus } from '../worker/index.ts';

import { client, decimalsOf, globalOptions, loadKey, nodeUrl, output, resolveAddress, type GlobalOptions } from './context.ts';
import {
  DEFAULT_WORKER_SPEC,
  fromOpt,
  parseZnc,
  specOfWorker,
  waitOpt,
  wholeNumber,
  workerSpec,
  workerSpecOptions,
  znc,
  type WorkerSpecFlags,
} from './marketArgs.ts';
import { appText, keyNames, workerText } from './marketText.ts';
import { appEarnings } from './appEarnings.ts';
import { registerAppInit } from './appInit.ts';
import { printTx, submitTx } from './tx.ts';

// The worker part (fastify, prom-client, dockerode) loads when a command needs it, not with every
// run of the CLI.
const workerPart = (): Promise<typeof import('../worker/index.ts')> => import('../worker/index.ts');

// `zeus worker …` and `zeus app …`: the registries on the main chain. A worker's bond comes out
// of its stake on main, so registering first stakes what is missing and waits for the stake to
// arrive there (one height later, by receipt) before it registers. `zeus worker start` does the
// same for the machine it runs on, then hands over to the worker agent (src/worker).

const STAKE_ARRIVAL_MS = 30_000;

/** Progress for people (stderr); scripts reading --json get only the result. */
const progress =
  (g: GlobalOptions) =>
  (msg: string): void => {
    if (!g.json) process.stderr.write(`${msg}\n`);
  };

/** Makes sure the key has at least `need` staked on main, staking the difference and waiting for it. */
export async function ensureStake(g: GlobalOptions, key: KeyPair, need: bigint, say = progress(g)): Promise<void> {
  const c = client(g);
  const me = encodeAddress(addressFromPublicKey(key.publicKey));
  const staked = BigInt((await c.account(me)).staked);
  if (staked >= need) return;
  const missing = need - staked;
  say(`stake on main is ${znc(staked)}; the bond needs ${znc(need)}: staking ${znc(missing)} first`);
  const st = await submitTx(g, key, TxKind.Stake, { amount: missing }, true, `stake of ${znc(missing)}`);
  say(`  stake committed at height ${st.height} on chain ${st.chain}; waiting for it to reach the main chain`);
  const deadline = Date.now() + STAKE_ARRIVAL_MS;
  for (;;) {
    const now = BigInt((await c.account(me)).staked);
    if (now >= need) {
      say(`  stake on main: ${znc(now)}`);
      return;
    }
    if (Date.now() > deadline)
      throw new Error(`the stake did not reach the main chain within ${STAKE_ARRIVAL_MS / 1000} s (staked there: ${znc(now)}); retry the command`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface RegisterFlags extends WorkerSpecFlags {
  from: string;
  bond?: string;
  benchmark: number;
  wait?: boolean;
}

interface UpdateFlags extends WorkerSpecFlags {
  from: string;
  addBond?: string;
  wait?: boolean;
}

function registerWorkerCommands(program: Command): void {
  const worker = program.command('worker').description('Workers that rent out their machines: register, update, leave, list');

  workerSpecOptions(
    worker
      .command('register')
      .description(
        'Register the signing key as a worker: resources, runtimes, endpoint, seal key and prices, with a bond taken from its stake on main (stakes the difference first)',
      )
      .requiredOption(...fromOpt),
    true,
  )
    .option('--bond <znc>', "ZNC moved from the stake into the bond (default: the chain's minimum)")
    .option(
      '--benchmark <score>',
      "benchmark score 0..1000 recorded at registration, as the worker's own claim: shown, never used for its rating (every new worker starts at the same rating and earns the rest)",
      wholeNumber('--benchmark', 1000),
      500,
    )
    .option(...waitOpt)
    .action(async (o: RegisterFlags, cmd: Command) => {
      const g = globalOptions(cmd);
      const key = await loadKey(g, o.from);
      const me = encodeAddress(addressFromPublicKey(key.publicKey));
      const c = client(g);
      const min = BigInt((await c.marketParams()).minWorkerBond);
      const bond = o.bond !== undefined ? parseZnc(o.bond) : min;
      if (bond < min) throw new Error(`--bond ${o.bond} is below the chain's minimum worker bond of ${znc(min)}`);
      // Without --seal-key the key is derived from the signing key: the worker agent derives the same.
      const derived = o.sealKey === undefined;
      const spec = workerSpec(o, { ...DEFAULT_WORKER_SPEC, sealKey: sealKeyPairFromSeed(key.secretKey).publicKey });
      await ensureStake(g, key, bond);
      progress(g)(`registering worker ${me} with a bond of ${znc(bond)}`);
      const t = await submitTx(g, key, TxKind.RegisterWorker, { ...spec, bond, benchmark: o.benchmark }, !!o.wait, `registration of worker ${me}`);
      const sealKey = toHex(spec.sealKey);
      printTx(g, `registration of worker ${me}`, t, {
        json: { worker: me, bond: bond.toString(), sealKey, sealKeyDerived: derived },
        lines: [`  bond   ${znc(bond)}`, `  seal key ${sealKey}${derived ? ' (X25519, derived from the signing key)' : ''}`],
      });
    });

  workerSpecOptions(
    worker
      .command('update')
      .description("Change a registered worker's resources, prices, endpoint or seal key (flags not given keep their registered value), or add to its bond")
      .requiredOption(...fromOpt),
    false,
  )
    .option('--add-bond <znc>', 'ZNC more to move from the stake into the bond (stakes the difference first)')
    .option(...waitOpt)
    .action(async (o: UpdateFlags, cmd: Command) => {
      const g = globalOptions(cmd);
      const key = await loadKey(g, o.from);
      const me = encodeAddress(addressFromPublicKey(key.publicKey));
      const current = await client(g)
        .worker(me)
        .catch((e: unknown) => {
          if (e instanceof NodeApiError && e.code === 'UNKNOWN_WORKER')
            throw new Error(`${o.from} (${me}) is not a registered worker; use \`zeus worker register\``);
          throw e;
        });
      const addBond = o.addBond !== undefined ? parseZnc(o.addBond) : 0n;
      const spec = workerSpec(o, specOfWorker(current));
      if (addBond > 0n) await ensureStake(g, key, addBond);
      const t = await submitTx(g, key, TxKind.UpdateWorker, { ...spec, addBond }, !!o.wait, `update of worker ${me}`);
      printTx(g, `update of worker ${me}`, t, { json: { worker: me } });
    });

  worker
    .command('start')
    .description(
      'Run the worker agent beside the node whose --home this is: offer the machine (detected cores, memory and disk, capped by --policy), register or update the worker on the chain, bid on fitting tasks and run the leases it wins — in locked-down Docker containers, or as WASI modules in the wasm runtime, which needs no engine — until stopped. Restarted, it takes up the containers of its leases that are still active and removes the others',
    )
    .option(
      '--runtime <names>',
      'runtimes to offer, comma-separated: docker, wasm (default: docker and wasm when a Docker engine answers, wasm alone otherwise)',
    )
    .option('--key <name>', 'key the worker signs with (its address is the worker)', 'worker')
    .option(
      '--policy <file>',
      "JSON policy: maxCpuCores, maxMemoryMiB, maxDiskMiB, prices {cpuCoreHour, memoryGiBHour, gpuHour, gpuHourByModel {MODEL: price}} in ZNC, minPricePerHour, maxConcurrentLeases, acceptApps, acceptDevelopers, refuseApps, refuseDevelopers, region, endpoint (host:port users fetch results from; default: the API URL the node announces, else the host of --node), bindAddress and announceAddress (where services publish their ports, default 127.0.0.1, and the address users reach them at), offerGpus, adminPort, maxLogMiB (MiB of a lease's output its log keeps; default 8)",
    )
    .option('--report-seconds <s>', "seconds between usage reports (default: a third of the chain's report deadline, at most 10)")
    .option(
      '--benchmark <score>',
      'benchmark score 0..1000 to record at a first registration instead of the one measured at start (a ~0.5 s single-core SHA-256 run)',
      wholeNumber('--benchmark', 1000),
    )
    .option(
      '--admin-port <port>',
      "port of the admin endpoint on 127.0.0.1 that `zeus worker status` reads (default: the policy's adminPort, else any free port; written to HOME/worker/admin.json)",
      wholeNumber('--admin-port', 65535),
    )
    .addOption(
      new Option('--log-level <level>', 'how much the agent logs, as JSON lines on stderr (pino): its start, bids, leases, reports, results')
        .choices([...LOG_LEVELS])
        .default('info'),
    )
    .addOption(
      new Option(
        '--test-corrupt-result',
        'TEST ONLY: submit a wrong digest for every batch result, as a lying worker would, to show redundancy outvoting and slashing it',
      ).hideHelp(),
    )
    .addOption(
      new Option(
        '--test-copy-result',
        "TEST ONLY: in a redundancy group or verifier seat, run nothing and copy another seat's digest or commitment from the chain, to show a copier gets nothing",
      ).hideHelp(),
    )
    .addHelpText(
      'after',
      "\nWhile it runs, `zeus worker status --home HOME` shows its leases, earnings, resources and benchmark, through the admin endpoint and the token in HOME/worker/admin.token (made at the first start, mode 0600). GPUs are those `nvidia-smi` reports (policy offerGpus: false keeps them). A lease's container logs are kept in HOME/worker/leases/ and, when it ends, sealed to the task's poster and published in the node's registry (`zeus task logs`).",
    )
    .action(
      async (
        o: {
          key: string;
          policy?: string;
          reportSeconds?: string;
          benchmark?: number;
          adminPort?: number;
          runtime?: string;
          logLevel: LogLevel;
          testCorruptResult?: boolean;
          testCopyResult?: boolean;
        },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const logger = nodeLogger(o.logLevel, { worker: o.key }, 2);
        const say = (line: string): void => logger.info(line);
        const {
          detectResources,
          loadPolicy,
          localLeaseLog,
          offeredSpec,
          posterLeaseLog,
          runBenchmark,
          sameOffer,
          startAdminServer,
          WorkerAgent,
          workerMetrics,
          workerStatus,
        } = await workerPart();
        const policy = loadPolicy(o.policy);
        const runtimes = await chooseRuntimes(o.runtime, say);
        const startedAt = new Date();
        const bench: BenchmarkResult = runBenchmark();
        say(`benchmark: ${bench.score}/1000 (${bench.mibPerSecond} MiB/s SHA-256 on one core, ${bench.mib} MiB in ${bench.ms} ms)`);
        const key = await loadKey(g, o.key);
        const me = encodeAddress(addressFromPublicKey(key.publicKey));
        const c = client(g);
        const params = await c.marketParams();
        const current = await c.worker(me).catch((e: unknown) => {
          if (e instanceof NodeApiError && e.code === 'UNKNOWN_WORKER') return undefined;
          throw e;
        });
        const detected = detectResources(g.home, say);
        // The API URL the node tells the network (a node outside a network tells none).
        const status = await c.status();
        const announced = 'api' in status.consensus ? status.consensus.api : undefined;
        const offered = offeredSpec(detected, policy, nodeUrl(g), runtimes, current, announced);
        const benchmark = o.benchmark ?? bench.score;
        const gpuText = offered.gpus.length ? `, GPUs ${offered.gpus.map((x) => `${x.count}× ${x.model} ${x.memoryMiB} MiB`).join(', ')}` : '';
        const sealKey = sealKeyPairFromSeed(key.secretKey).publicKey;
        if (!current) {
          const bond = BigInt(params.minWorkerBond);
          await ensureStake(g, key, bond, say);
          say(
            `registering worker ${me}: ${offered.cpuMillis / 1000} cores, ${offered.memoryMiB} MiB, ${offered.diskMiB} MiB disk${gpuText}, benchmark ${benchmark}, bond ${znc(bond)}`,
          );
          await submitTx(g, key, TxKind.RegisterWorker, { ...DEFAULT_WORKER_SPEC, ...offered, sealKey, bond, benchmark }, true, `registration of worker ${me}`);
        } else if (!sameOffer(offered, current) || current.sealKey !== toHex(sealKey)) {
          say(`updating worker ${me}: ${offered.cpuMillis / 1000} cores, ${offered.memoryMiB} MiB, ${offered.diskMiB} MiB disk${gpuText}`);
          await submitTx(g, key, TxKind.UpdateWorker, { ...specOfWorker(current), ...offered, sealKey, addBond: 0n }, true, `update of worker ${me}`);
        }
        const blockMs = existsSync(homePaths(g.home).config) ? readConfig(g.home).blockIntervalMs : 1000;
        const reportPeriodMs =
          o.reportSeconds !== undefined
            ? Math.round(Number(o.reportSeconds) * 1000)
            : Math.min(10_000, Math.floor((params.reportDeadlineBlocks * blockMs) / 3));
        if (!(reportPeriodMs > 0) || reportPeriodMs >= params.reportDeadlineBlocks * blockMs) {
          throw new Error(
            `--report-seconds must be positive and inside the report deadline of ${params.reportDeadlineBlocks} blocks (${(params.reportDeadlineBlocks * blockMs) / 1000} s)`,
          );
        }
        const agent = new WorkerAgent({
          node: nodeUrl(g),
          home: g.home,
          key,
          policy,
          reportPeriodMs,
          runtimes,
          log: say,
          testCorruptResult: o.testCorruptResult === true,
          testCopyResult: o.testCopyResult === true,
        });
        // The chain records a benchmark only at registration (UpdateWorker carries none); it is a
        // claim nobody can check, so the rating ignores it (src/market/rating.ts); status shows both.
        if (current && current.benchmark !== bench.score)
          say(`benchmark: the chain keeps the ${current.benchmark} registered first (a claim it shows; the rating comes from the record alone)`);
        const metrics = workerMetrics(agent);
        const admin = await startAdminServer({
          home: g.home,
          port: o.adminPort ?? policy.adminPort ?? 0,
          worker: me,
          routes: {
            status: () =>
              workerStatus({
                client: c,
                snapshot: () => agent.snapshot(),
                workload: (task, lease) => agent.workload(task, lease),
                node: nodeUrl(g),
                startedAt,
                detected,
                benchmark: bench,
              }),
            leaseLog: (task, lease) => localLeaseLog(g.home, agent.workload(task, lease), task, lease),
            posterLog: (task, lease, token) =>
              posterLeaseLog({ client: c, home: g.home, snapshot: agent.snapshot(), workload: agent.workload(task, lease) }, task, lease, token),
            metrics: async () => ({ contentType: metrics.contentType, text: await metrics.metrics() }),
          },
        });
        // After the endpoint is up: a port already taken stops the command before the agent runs.
        await agent.start();
        say(
          `worker ${me} is following the market at ${nodeUrl(g)} (runtimes ${runtimes.join(', ')}, usage reports every ${reportPeriodMs / 1000} s, at most ${policy.maxConcurrentLeases} lease(s) at once); admin endpoint ${admin.info.url} (\`zeus worker status\`)`,
        );
        const stop = (): void => {
          agent.stop();
          void admin.close().finally(() => {
            say('worker stopped');
            process.exit(0);
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    );

  worker
    .command('status')
    .description(
      'What the worker agent running on this --home is doing: the leases it runs now and their state on the chain, what the chain paid it, what it offers and what its leases use, its benchmark and record',
    )
    .option('--token <token>', 'admin token (default: read from HOME/worker/admin.token)')
    .addHelpText(
      'after',
      "\nIt asks the agent's admin endpoint on 127.0.0.1, found in HOME/worker/admin.json, with the token the agent made at its first start. Earnings are the pay the chain recorded on the worker's leases (its newest 1000).",
    )
    .action(async (o: { token?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const { adminRequest } = await workerPart();
      const s = (await (await adminRequest(g.home, '/status', o.token)).json()) as WorkerStatus;
      output(g, s, () => workerStatusText(s, keyNames(g)));
    });

  worker
    .command('leave')
    .description('Leave the market: the worker takes no new leases; its bond returns after the unbonding period unless slashed')
    .requiredOption(...fromOpt)
    .option(...waitOpt)
    .action(async (o: { from: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const key = await loadKey(g, o.from);
      const me = encodeAddress(addressFromPublicKey(key.publicKey));
      const t = await submitTx(g, key, TxKind.LeaveWorker, {}, !!o.wait, `departure of worker ${me}`);
      const w = t.status === 'committed' ? await client(g).worker(me) : undefined;
      printTx(g, `departure of worker ${me}`, t, {
        json: { worker: me, bondReturnsAt: w?.leavingAt ?? null },
        lines: w?.leavingAt ? [`  bond of ${znc(w.bond)} returns at height ${w.leavingAt}`] : [],
      });
    });

  worker
    .command('list')
    .description('Registered workers with resources, prices, bond, rating and record')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const { workers } = await client(g).workers();
      const who = keyNames(g);
      output(g, workers, () => (workers.length ? workers.map((w) => workerText(w, who)).join('\n') : 'no workers registered yet'));
    });

  worker
    .command('show <addressOrName>')
    .description('One worker')
    .action(async (a: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const w = await client(g).worker(resolveAddress(g, a));
      output(g, w, () => workerText(w, keyNames(g)));
    });
}

function registerAppCommands(program: Command): void {
  const app = program.command('app').description('Apps: container images published with a license fee per hour');
  registerAppInit(app);

  app
    .command('publish')
    .description(
      "Publish a version of an app: push IMAGE from the local Docker engine to the node's registry (the DDN), build its piece maps, and record its manifest digest and license fee on the chain — or give --digest of an image already pushed. The first publisher of a name owns it",
    )
    .argument('[image]', 'an image the local Docker engine has (e.g. myapp:latest), pushed as NAME:VERSION')
    .requiredOption(...fromOpt)
    .requiredOption('--name <name>', 'app name: lowercase letters, digits, ".", "_" or "-"')
    .requiredOption('--version <version>', 'version, e.g. 1.0.0')
    .option('--digest <sha256:…>', 'image manifest digest, when the image is already in the registry: sha256: and 64 lowercase hex digits')
    .option(
      '--direct',
      "with IMAGE: push it from this process over the registry API (read from the Docker engine as `docker save` does, layers uncompressed) instead of having the engine push it; for a node the engine cannot reach or will not push to over plain HTTP (any node off 127.0.0.0/8 without the engine's insecure-registries)",
    )
    .option('--wasm <file>', 'a WASI module to push as a one-layer image, without Docker (the wasm runtime runs it)')
    .option('--arg <value...>', "with --wasm: the module's arguments (its image's CMD)")
    .option('--license-fee <amount>', 'license fee per hour of use, in the fee token (decimals allowed)', '0')
    .option('--fee-token <symbol>', 'token the fee is paid in: ZNC or a sub-token', ZNC)
    .option('--requires-license', 'users must acquire a license (zeus app license) before posting tasks with it')
    .option('--developer <address>', 'who earns the fee (default: the publisher)')
    .option(...waitOpt)
    .action(
      async (
        image: string | undefined,
        o: {
          from: string;
          name: string;
          version: string;
          digest?: string;
          direct?: boolean;
          wasm?: string;
          arg?: string[];
          licenseFee: string;
          feeToken: string;
          requiresLicense?: boolean;
          developer?: string;
          wait?: boolean;
        },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        if ([image, o.digest, o.wasm].filter((x) => x !== undefined).length !== 1)
          throw new Error('give one of: an IMAGE to push, --wasm FILE to push, or --digest of an image already pushed');
        if (o.arg && o.wasm === undefined) throw new Error('--arg goes with --wasm');
        if (o.direct && image === undefined) throw new Error('--direct goes with an IMAGE to push');
        const key = await loadKey(g, o.from);
        let digest = o.digest ?? '';
        if (image !== undefined || o.wasm !== undefined) {
          digest =
            o.wasm !== undefined
              ? await pushWasmModule(g, o.from, readFileSync(o.wasm), o.name, o.version, o.arg)
              : o.direct
                ? await pushFromEngine(g, o.from, image!, o.name, o.version)
                : await pushToNode(g, o.from, image!, o.name, o.version);
          await preparePieceMaps(g, o.name, digest as Digest);
        }
        const licenseFeePerHour = parseAmount(o.licenseFee, await decimalsOf(g, o.feeToken));
        const payload = {
          name: o.name,
          version: o.version,
          digest,
          developer: o.developer ? decodeAddress(resolveAddress(g, o.developer)) : new Uint8Array(0),
          feeToken: o.feeToken,
          licenseFeePerHour,
          requiresLicense: !!o.requiresLicense,
        };
        const what = `publication of ${o.name}@${o.version}`;
        const t = await submitTx(g, key, TxKind.PublishApp, payload, !!o.wait, what);
        printTx(g, what, t, { json: { app: o.name, version: o.version, digest } });
      },
    );

  app
    .command('deprecate')
    .description('Deprecate a version of your app: no new tasks may use it')
    .requiredOption(...fromOpt)
    .requiredOption('--name <name>', 'app name')
    .requiredOption('--version <version>', 'version to deprecate')
    .option(...waitOpt)
    .action(async (o: { from: string; name: string; version: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const what = `deprecation of ${o.name}@${o.version}`;
      const t = await submitTx(g, await loadKey(g, o.from), TxKind.DeprecateApp, { name: o.name, version: o.version }, !!o.wait, what);
      printTx(g, what, t);
    });

  app
    .command('license')
    .description('Acquire a license for an app that requires one')
    .requiredOption(...fromOpt)
    .requiredOption('--name <name>', 'app name')
    .option(...waitOpt)
    .action(async (o: { from: string; name: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const what = `license for ${o.name}`;
      const t = await submitTx(g, await loadKey(g, o.from), TxKind.AcquireLicense, { name: o.name }, !!o.wait, what);
      printTx(g, what, t);
    });

  const feeFormatter = async (g: GlobalOptions, tokens: string[]): Promise<(amount: string, token: string) => string> => {
    const decimals = new Map<string, number>();
    for (const t of new Set(tokens)) decimals.set(t, await decimalsOf(g, t));
    return (amount, token) => `${formatUnits(amount, decimals.get(token) ?? 0)} ${token}`;
  };

  app
    .command('list')
    .description('Published apps with their versions, fees and licensees')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const { apps } = await client(g).apps();
      const fee = await feeFormatter(
        g,
        apps.flatMap((a) => a.versions.map((v) => v.feeToken)),
      );
      const who = keyNames(g);
      output(g, apps, () => (apps.length ? apps.map((a) => appText(a, who, fee)).join('\n') : 'no apps published yet'));
    });

  app
    .command('show <name>')
    .description(
      'One app and all its versions, with the license fees each version has earned: summed over the leases of its tasks (paid, and held while a result is reviewed)',
    )
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const c = client(g);
      const a = await c.app(name);
      const earnings = await appEarnings(c, a);
      const fee = await feeFormatter(
        g,
        a.versions.map((v) => v.feeToken),
      );
      const json = {
        ...a,
        versions: a.versions.map((v) => {
          const e = earnings.versions.find((x) => x.version === v.version);
          return {
            ...v,
            earned: e ? { paid: e.paid.toString(), held: e.held.toString(), leases: e.leases, tasks: e.tasks, complete: earnings.complete } : null,
          };
        }),
      };
      output(g, json, () => appText(a, keyNames(g), fee, earnings));
    });
}

const gpusText = (gpus: { model: string; memoryMiB: number; count: number }[]): string =>
  gpus.map((x) => `${x.count}× ${x.model} ${x.memoryMiB} MiB`).join(', ') || 'none';

function workerStatusText(s: WorkerStatus, who: (a: string) => string): string {
  const r = s.resources;
  const m = s.benchmark.measured;
  const states = Object.entries(s.earnings.byState)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return [
    `worker ${who(s.worker)}: ${s.active ? 'active' : 'not active'}, pid ${s.pid}, up since ${s.startedAt}, node ${s.node}`,
    ...(s.active && !s.leasable
      ? [
          `  NOT LEASED: its bond of ${znc(s.earnings.bond)} is below the chain's minimum; it does not bid until ${znc(s.bondShortfall)} more is bonded: zeus worker update --from KEY --add-bond ${znc(s.bondShortfall).replace(' ZNC', '')}`,
        ]
      : []),
    `  offers    ${r.offered.cpuMillis / 1000} cores, ${r.offered.memoryMiB} MiB memory, ${r.offered.diskMiB} MiB disk, GPUs ${gpusText(r.offered.gpus)}`,
    `  in use    ${r.inUse.cpuMillis / 1000} cores, ${r.inUse.memoryMiB} MiB, ${r.inUse.gpus} GPU(s) by ${r.inUse.leases} lease(s); ${r.inUse.bids} bid(s) open`,
    `  earned    ${znc(s.earnings.paid)} paid by the chain over ${s.earnings.leases} lease(s)${states ? ` (${states})` : ''}; ${znc(s.earnings.held)} held for review`,
    `  account   balance ${znc(s.earnings.balance)}, bond ${znc(s.earnings.bond)}`,
    `  rating    ${s.rating}; benchmark ${s.benchmark.registered} registered${m ? `, ${m.score} measured at start (${m.mibPerSecond} MiB/s SHA-256 on one core)` : ''}`,
    `  record    ${s.record.completed} completed, ${s.record.failed} failed, ${s.record.abandoned} abandoned, ${s.record.disputesLost} disputes lost`,
    ...(s.leases.length === 0
      ? ['  leases    none running']
      : [
          '  leases now:',
          ...s.leases.map(
            (l) =>
              `    ${l.task}/${l.lease}  ${l.state.padEnd(8)} container ${l.container?.slice(0, 12) ?? '(starting)'}  ${l.cpuMillis / 1000} cores, ${l.memoryMiB} MiB${l.memoryBytesNow !== null ? ` (${(l.memoryBytesNow / 1048576).toFixed(1)} MiB used)` : ''}  ${l.reports} report(s), paid ${znc(l.paid)}`,
          ),
        ]),
  ].join('\n');
}

export function register(program: Command): void {
  registerWorkerCommands(program);
  registerAppCommands(program);
}

/** The runtimes asked for, or the embedded default: docker and wasm with an engine, wasm alone without. */
async function chooseRuntimes(asked: string | undefined, say: (line: string) => void): Promise<RuntimeName[]> {
  const known: RuntimeName[] = ['docker', 'wasm'];
  const { dockerAnswers } = await workerPart();
  if (asked !== undefined) {
    const names = asked.split(',').map((n) => n.trim());
    for (const n of names) if (!known.includes(n as RuntimeName)) throw new Error(`--runtime takes docker, wasm or both (comma-separated), got "${n}"`);
    if (names.includes('docker') && !(await dockerAnswers()))
      throw new Error('--runtime docker needs a Docker engine, and none answers (is dockerd running? DOCKER_HOST?)');
    return [...new Set(names as RuntimeName[])];
  }
  if (await dockerAnswers()) return known;
  say('no Docker engine answers: offering the wasm runtime alone');
  return ['wasm'];
}
