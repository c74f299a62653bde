import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { addressFromPublicKey, decodeAddress, encodeAddress, fromHex, sealTo, toHex, type KeyPair } from '../crypto/index.ts';
import { taskIdFor, TxKind, ZNC } from '../ledger/index.ts';
import { askPrice } from '../market/index.ts';
import {
  isLeaseAtWork,
  LEASE_STATES,
  parseAmount,
  TASK_STATES,
  taskOutcome,
  TaskWaitTimeout,
  type LeaseAnswer,
  type LeaseStateName,
  type TaskDetailAnswer,
  type TaskStateName,
} from '../sdk/index.ts';
import { client, decimalsOf, globalOptions, keystore, loadKey, nodeUrl, output, reportError, resolveAddress, type GlobalOptions } from './context.ts';
import { fromOpt, parseTaskId, parseZnc, postTaskPayload, quoteRequest, taskOptions, waitOpt, wholeNumber, znc, type TaskFlags } from './marketArgs.ts';
import { keyNames, leaseLine, leaseText, quoteText, taskText } from './marketText.ts';
import { newTaskSeen, noCandidatesReason, outcomeJson, outcomeLine, taskChanges } from './taskFollow.ts';
import { printTx, submitTx, type SentTx } from './tx.ts';

// `zeus task …`, `zeus lease …` and `zeus bid`: tasks with their escrow live on the poster's
// home chain, and so do their bids and leases. A quote runs the ledger's own matcher over every
// registered worker, so what it says is what a bid or a closing window would decide.

function oneOf<T extends string>(flag: string, values: readonly T[]): (v: string) => T {
  return (v: string): T => {
    if (!(values as readonly string[]).includes(v)) throw new Error(`${flag} is one of ${values.join(', ')}, got "${v}"`);
    return v as T;
  };
}

/** `name@version` as given, or the newest version of `name` that is not deprecated. */
async function resolveApp(g: GlobalOptions, app: string): Promise<[string, string]> {
  const at = app.indexOf('@');
  if (at >= 0) return [app.slice(0, at), app.slice(at + 1)];
  return [app, await client(g).latestVersion(app)];
}

/** ZNC the task's escrow gave back at a cancel: what it held, less what went to workers and the developer. */
function refundOf(before: TaskDetailAnswer, after: TaskDetailAnswer): bigint {
  let paid = 0n;
  for (const l of after.leases) {
    const b = before.leases[l.index];
    paid += BigInt(l.workerPaid) - BigInt(b?.workerPaid ?? '0');
    if (after.feeToken === ZNC) paid += BigInt(l.feePaid) - BigInt(b?.feePaid ?? '0');
  }
  return BigInt(before.escrow) - BigInt(after.escrow) - paid;
}

const followOpt = ['--follow', 'after the commit, follow the task until it ends, as `zeus task wait` does (implies --wait)'] as const;
const timeoutOpt = [
  '--timeout <seconds>',
  'give up waiting after this many seconds (exit code 124; default: wait as long as it takes)',
  wholeNumber('--timeout'),
] as const;
const FOLLOW_HELP = `
Progress (window, bids, each lease's worker, state and deadlines) goes to stderr on a terminal; the
final line (or with --json one object: task, state, outcome, ok, leases) to stdout. Exit codes:
0 the task is done and every replica has an accepted result; 1 it failed (an app that failed on its
own, a lease that failed), was cancelled or expired (nobody bid: the line says why, e.g. PRICE), or
an error; 124 --timeout passed first (the task goes on; wait again).`;

/** The task as the API answers it, its id under `task` as in every other task command's JSON. */
function taskJson<T extends { id: string }>(t: T): Omit<T, 'id'> & { task: string } {
  const { id, ...rest } = t;
  return { task: id, ...rest };
}

/** A lease as the API answers it, its number under `lease` as in dispute, accept-bid, result, logs and wait. */
function leaseJson(l: LeaseAnswer): Omit<LeaseAnswer, 'index'> & { lease: number } {
  const { task, index, ...rest } = l;
  return { task, lease: index, ...rest };
}

/** The lines of a committed post, before following it. */
function printPosted(what: string, t: SentTx, id: string, posted: TaskDetailAnswer | undefined): void {
  process.stdout.write(
    `posted ${what}\n  task   ${id}\n  hash   ${t.hash} (chain ${t.chain}, height ${t.height})${posted ? `\n  escrow ${znc(posted.escrow)}; takes bids until height ${posted.closeHeight}` : ''}\n`,
  );
}

/**
 * Follows a task to its end and prints how it ended: progress on stderr when it is a terminal, the
 * final line (or JSON, with `extra` first) on stdout; sets the exit code by the outcome.
 */
async function waitForEnd(g: GlobalOptions, id: string, timeoutSeconds: number, extra: Record<string, unknown> = {}): Promise<void> {
  const tty = !!process.stderr.isTTY && !g.json;
  const who = keyNames(g);
  const seen = newTaskSeen();
  const started = Date.now();
  let t: TaskDetailAnswer;
  try {
    t = await client(g).waitForTask(id, {
      timeoutMs: timeoutSeconds * 1000,
      onProgress: (x) => {
        if (!tty) return;
        const lines = taskChanges(seen, x, who);
        process.stderr.write(
          `\r\x1b[K${lines.map((l) => `  ${l}\n`).join('')}waiting for task ${id.slice(0, 12)}… ${((Date.now() - started) / 1000).toFixed(0)} s: ${x.state}`,
        );
      },
    });
  } catch (e) {
    if (tty) process.stderr.write('\r\x1b[K');
    if (!(e instanceof TaskWaitTimeout)) throw e;
    const message = `${e.message}; zeus task wait ${id} goes on waiting`;
    // The task goes on: a script still learns its id and state (with --follow it has no other).
    if (g.json) output(g, { ...extra, ...outcomeJson(e.task), outcome: null, ok: false, error: { code: e.code, message } }, () => '');
    else reportError(Object.assign(new Error(message), { code: e.code }), false);
    process.exitCode = 124;
    return;
  }
  if (tty) {
    const lines = taskChanges(seen, t, who);
    process.stderr.write(`\r\x1b[K${lines.map((l) => `  ${l}\n`).join('')}`);
  }
  output(g, { ...extra, ...outcomeJson(t) }, () => outcomeLine(t, who));
  if (taskOutcome(t) !== 'succeeded') process.exitCode = 1;
}

/** A post without inputs to seal needs no candidate now; still, a price nobody takes is said before the escrow moves. */
async function warnIfNobodyFits(g: GlobalOptions, o: TaskFlags): Promise<void> {
  const req = quoteRequest(o);
  const q = await client(g)
    .quote(req)
    .catch(() => undefined);
  if (q && q.candidates.length === 0)
    process.stderr.write(`warning: no registered worker could serve this task now: ${noCandidatesReason(q, BigInt(req.maxPricePerHour))}\n`);
}

function registerTaskCommands(program: Command): void {
  const task = program.command('task').description('Tasks: quote, post, follow, cancel, top up, dispute, accept a bid, list');

  taskOptions(
    task
      .command('quote')
      .description(
        'Before posting: which registered workers could serve the task and at what asking price, and every reason each other one could not (takes the same flags as `task post`; sends nothing)',
      ),
  ).action(async (o: TaskFlags, cmd: Command) => {
    const g = globalOptions(cmd);
    const req = quoteRequest(o);
    const q = await client(g).quote(req);
    output(g, q, () => quoteText(q, keyNames(g)));
  });

  taskOptions(
    task
      .command('post')
      .description('Post a task: the worst case (max price × max hours × replicas × redundancy, plus license fees) moves to escrow; prints the task id')
      .requiredOption(...fromOpt),
  )
    .option(...waitOpt)
    .option(...followOpt)
    .option(...timeoutOpt)
    .addHelpText('after', FOLLOW_HELP)
    .action(async (o: TaskFlags & { from: string; wait?: boolean; follow?: boolean; timeout?: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      if ((o.app === undefined) === (o.image === undefined)) throw new Error('name either --app NAME[@VERSION] or --image sha256:…');
      if (o.timeout !== undefined && !o.follow) throw new Error('--timeout goes with --follow');
      const [app, version] = o.app !== undefined ? await resolveApp(g, o.app) : ['', ''];
      const payload = postTaskPayload(o, app, version);
      if (o.secret?.length || o.input?.length) {
        if (o.sealedFile) throw new Error('give either --input/--secret or --sealed-file');
        payload.sealed = await sealSecrets(g, o);
      } else await warnIfNobodyFits(g, o);
      const what = `task ${app ? `of ${app}@${version}` : `of image ${o.image}`}`;
      // Following needs the task on the chain: --follow waits for the commit as --wait does.
      const t = await submitTx(g, await loadKey(g, o.from), TxKind.PostTask, payload, !!o.wait || !!o.follow, what);
      const id = toHex(taskIdFor(fromHex(t.hash), t.chain));
      const posted = t.status === 'committed' ? await client(g).task(id) : undefined;
      const json = { task: id, escrow: posted?.escrow, closeHeight: posted?.closeHeight };
      if (o.follow) {
        if (!g.json) printPosted(what, t, id, posted);
        await waitForEnd(g, id, o.timeout ?? 0, { hash: t.hash, chain: t.chain, height: t.height, index: t.index, status: t.status, ...json });
        return;
      }
      printTx(g, what, t, {
        json,
        lines: [`  task   ${id}`, ...(posted ? [`  escrow ${znc(posted.escrow)}; takes bids until height ${posted.closeHeight}`] : [])],
      });
    });

  task
    .command('wait <id>')
    .description(
      'Wait until a task ends (done, cancelled or expired), showing on a terminal its window, bids and each lease as they change (worker, state, deadlines), then one final line; exits 0 only when every replica has an accepted result',
    )
    .option(...timeoutOpt)
    .addHelpText('after', FOLLOW_HELP)
    .action(async (id: string, o: { timeout?: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      parseTaskId(id);
      await waitForEnd(g, id, o.timeout ?? 0);
    });

  task
    .command('status <id>')
    .description('A task: state, needs, escrow, bids, leases, and why nobody bid if its window closed empty')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const t = await client(g).task(id);
      output(g, { ...taskJson(t), leases: t.leases.map(leaseJson) }, () => taskText(t, keyNames(g)));
    });

  task
    .command('result <id>')
    .description(
      "Download a batch task's result (the tar of its /out) from the node's registry by the digest its lease recorded on the chain, and check the bytes against it",
    )
    .option('--lease <n>', 'lease whose result to fetch (default: the first with a result)', wholeNumber('--lease'))
    .option('--out <file>', 'where to write it (default: result-<task id prefix>.tar)')
    .action(async (id: string, o: { lease?: number; out?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const t = await client(g).task(id);
      const l = o.lease !== undefined ? t.leases[o.lease] : t.leases.find((x) => x.resultDigest !== '');
      if (!l || l.resultDigest === '')
        throw new Error(`task ${id} has ${o.lease !== undefined ? `no lease ${o.lease} with` : 'no lease with'} a result yet (see \`zeus task status ${id}\`)`);
      // The worker pushed it to its own node: ours first, then the worker's registered endpoint.
      // Streamed to the file and hashed on the way: a result is as large as the lease's disk.
      const file = o.out ?? `result-${t.id.slice(0, 12)}.tar`;
      const misses: string[] = [];
      let bytes = -1;
      for (const node of await sourcesFor(g, l.worker)) {
        const { fetchResultTo, resultRepository } = await import('../worker/index.ts');
        const got = await fetchResultTo(`${node}/v2/${resultRepository(l.worker)}/blobs/${l.resultDigest}`, file, l.resultDigest as `sha256:${string}`);
        if (got.ok) {
          bytes = got.bytes;
          break;
        }
        misses.push(got.why);
      }
      if (bytes < 0) throw new Error(`no node holds the result ${l.resultDigest} (${misses.join('; ')})`);
      output(
        g,
        { task: t.id, lease: l.index, worker: l.worker, digest: l.resultDigest, bytes, file },
        () => `wrote ${file}: ${bytes} bytes, ${l.resultDigest} as lease ${l.index} recorded`,
      );
    });

  task
    .command('logs <id>')
    .description(
      "The container logs of a lease of your task: published by its worker when the lease ends, sealed to the task's poster, fetched from the node's registry and opened with the poster's key",
    )
    .option('--lease <n>', 'lease whose logs to fetch (default: the newest)', wholeNumber('--lease'))
    .option('--key <name>', "the poster's key (default: the key in this home whose address owns the task)")
    .option('--out <file>', 'write the logs to a file instead of standard output')
    .option(
      '--live <url>',
      "while the lease runs: ask the worker's endpoint (its `zeus worker start` admin URL, on the worker's machine) for the logs so far, with a request your key signs",
    )
    .addHelpText(
      'after',
      "\nThe worker pushes them as <worker address>/logs:logs-<task id>-<lease> to its node; this asks the --node first, then the worker's registered endpoint (by default its node's API). Only the poster's key opens them: logs can hold anything the workload printed. While a lease runs its logs are not published yet: --live asks the worker itself, which checks that the signing key owns the task and answers sealed to it.",
    )
    .action(async (id: string, o: { lease?: number; key?: string; out?: string; live?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const c = client(g);
      const t = await c.task(id);
      const l = o.lease !== undefined ? t.leases[o.lease] : t.leases.at(-1);
      if (!l) throw new Error(`task ${id} has ${o.lease !== undefined ? `no lease ${o.lease}` : 'no lease yet'} (see \`zeus task status ${id}\`)`);
      const keyName =
        o.key ??
        keystore(g)
          .list()
          .find((k) => k.address === t.owner)?.name;
      if (keyName === undefined)
        throw new Error(`no key in ${keystore(g).dir} is the task's poster ${t.owner}; only the poster's key opens its logs (give it with --key)`);
      const key = await loadKey(g, keyName);
      // The worker part (its agent, admin server and Docker client) loads only for the commands that need it.
      const { logsRepository, logsTag, openLogs } = await import('../worker/index.ts');
      const where = `${logsRepository(l.worker)}:${logsTag(t.id, l.index)}`;
      const found = o.live !== undefined ? await liveLogs(o.live, key, l.worker, t.id, l.index) : await publishedLogs(g, l, t.id, where);
      let opened: ReturnType<typeof openLogs>;
      try {
        opened = openLogs(key.secretKey, t.id, l.index, found.sealed);
      } catch (e) {
        throw new Error(`key "${keyName}" cannot open the logs of lease ${l.index}: ${(e as Error).message} (they are sealed to the task's poster ${t.owner})`);
      }
      const info = {
        task: t.id,
        lease: l.index,
        worker: l.worker,
        node: found.node,
        artifact: o.live !== undefined ? null : where,
        digest: found.digest,
        bytes: opened.log.length,
        truncatedBytes: opened.truncatedBytes,
      };
      if (o.out !== undefined) {
        writeFileSync(o.out, opened.log);
        output(
          g,
          { ...info, file: o.out },
          () =>
            `wrote ${o.out}: ${opened.log.length} bytes of the logs of lease ${l.index}${opened.truncatedBytes ? ` (the first ${opened.truncatedBytes} bytes were cut by the worker)` : ''}`,
        );
      } else if (g.json) output(g, { ...info, log: Buffer.from(opened.log).toString('utf8') }, () => '');
      else {
        if (opened.truncatedBytes) process.stderr.write(`(the first ${opened.truncatedBytes} bytes were cut by the worker)\n`);
        process.stdout.write(opened.log);
      }
    });

  task
    .command('cancel <id>')
    .description('Cancel your task: running leases are paid up to now, the rest of the escrow returns to you')
    .requiredOption(...fromOpt)
    .option(...waitOpt)
    .action(async (id: string, o: { from: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const c = client(g);
      const before = await c.task(id);
      const what = `cancellation of task ${id}`;
      const t = await submitTx(g, await loadKey(g, o.from), TxKind.CancelTask, { task: parseTaskId(id) }, !!o.wait, what);
      const refund = t.status === 'committed' ? refundOf(before, await c.task(id)) : undefined;
      printTx(g, what, t, {
        json: { task: id, refund: refund?.toString() },
        lines: refund !== undefined ? [`  refund ${znc(refund)} returned from escrow to ${before.owner}`] : [],
      });
    });

  task
    .command('topup <id>')
    .description('Add to the escrow of your task (a service in its grace period carries on)')
    .requiredOption(...fromOpt)
    .requiredOption('--amount <znc>', 'ZNC to add')
    .option('--fee-amount <n>', 'license-fee token to add, when the fee is paid in a sub-token', '0')
    .option(...waitOpt)
    .action(async (id: string, o: { from: string; amount: string; feeAmount: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const amount = parseZnc(o.amount);
      const feeAmount = o.feeAmount === '0' ? 0n : parseAmount(o.feeAmount, await decimalsOf(g, (await client(g).task(id)).feeToken));
      const what = `top-up of ${znc(amount)} for task ${id}`;
      const t = await submitTx(g, await loadKey(g, o.from), TxKind.TopUpTask, { task: parseTaskId(id), amount, feeAmount }, !!o.wait, what);
      const after = t.status === 'committed' ? await client(g).task(id) : undefined;
      printTx(g, what, t, { json: { task: id, escrow: after?.escrow }, lines: after ? [`  escrow now ${znc(after.escrow)}`] : [] });
    });

  task
    .command('dispute <id>')
    .description(
      "Dispute the result of a batch lease under review: workers drawn by the chain re-run it as verifiers and their majority decides; your deposit pays them, and the worker's wait if its result stands",
    )
    .requiredOption(...fromOpt)
    .requiredOption('--lease <n>', 'the lease whose result you dispute', wholeNumber('--lease'))
    .option(...waitOpt)
    .action(async (id: string, o: { from: string; lease: number; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const what = `dispute of lease ${o.lease} of task ${id}`;
      const t = await submitTx(g, await loadKey(g, o.from), TxKind.Dispute, { task: parseTaskId(id), lease: o.lease }, !!o.wait, what);
      const l = t.status === 'committed' ? await client(g).lease(id, o.lease) : undefined;
      printTx(g, what, t, {
        json: { task: id, lease: o.lease, deposit: l?.disputeDeposit },
        lines: l
          ? [`  deposit ${znc(l.disputeDeposit)}: the chain draws the verifiers in 2 blocks; it returns (less their pay) if the result is overturned`]
          : [],
      });
    });

  task
    .command('accept-bid <id>')
    .description('Lease an open slot of your task to a bidder now, without waiting for the window to close')
    .requiredOption(...fromOpt)
    .requiredOption('--worker <address>', 'the bidding worker: a znc1… address or a key name')
    .option(...waitOpt)
    .action(async (id: string, o: { from: string; worker: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const worker = resolveAddress(g, o.worker);
      const what = `acceptance of ${worker}'s bid on task ${id}`;
      const t = await submitTx(g, await loadKey(g, o.from), TxKind.AcceptBid, { task: parseTaskId(id), worker: decodeAddress(worker) }, !!o.wait, what);
      const lease = t.status === 'committed' ? (await client(g).task(id)).leases.filter((l) => l.worker === worker).at(-1) : undefined;
      printTx(g, what, t, {
        json: { task: id, lease: lease?.index },
        lines: lease ? [`  lease ${lease.index}: ${lease.state}, must start by height ${lease.startBy}`] : [],
      });
    });

  task
    .command('list')
    .description('Tasks on all inner chains, newest first')
    .option('--state <state>', `only tasks in this state: ${TASK_STATES.join(', ')}`, oneOf('--state', TASK_STATES))
    .option('--owner <address>', 'only tasks posted by this address or key name')
    .option('--app <name[@version]>', 'only tasks of this app')
    .option('--limit <n>', 'at most this many', wholeNumber('--limit', 1000), 100)
    .action(async (o: { state?: TaskStateName; owner?: string; app?: string; limit: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      const owner = o.owner === undefined ? undefined : resolveAddress(g, o.owner);
      const { tasks } = await client(g).tasks({ state: o.state, owner, app: o.app, limit: o.limit });
      const who = keyNames(g);
      output(g, tasks.map(taskJson), () =>
        tasks.length === 0
          ? 'no tasks'
          : tasks
              .map(
                (t) =>
                  `${t.id}  ${t.state.padEnd(9)} ${t.kind.padEnd(7)} ${(t.app ? `${t.app}@${t.version}` : t.digest.slice(0, 19)).padEnd(20)} by ${who(t.owner)}  escrow ${znc(t.escrow)}  bids ${t.bidCount}  leases ${t.leaseCount}  posted at ${t.postedAt}`,
              )
              .join('\n'),
      );
    });
}

function registerLeaseCommands(program: Command): void {
  const lease = program.command('lease').description('Leases: one per replica a worker runs');

  lease
    .command('show <taskId> <n>')
    .description('One lease: state, deadlines, endpoint, usage, pay, result')
    .action(async (id: string, n: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const l = await client(g).lease(id, wholeNumber('lease number')(n));
      output(g, leaseJson(l), () => leaseText(l, keyNames(g)));
    });

  lease
    .command('list')
    .description('Leases on all inner chains, newest first')
    .option('--worker <address>', 'only leases of this worker (address or key name)')
    .option('--state <state>', `only leases in this state: ${LEASE_STATES.join(', ')}`, oneOf('--state', LEASE_STATES))
    .option('--limit <n>', 'at most this many', wholeNumber('--limit', 1000), 100)
    .action(async (o: { worker?: string; state?: LeaseStateName; limit: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      const worker = o.worker === undefined ? undefined : resolveAddress(g, o.worker);
      const { leases } = await client(g).leases({ worker, state: o.state, limit: o.limit });
      const who = keyNames(g);
      output(g, leases.map(leaseJson), () => (leases.length === 0 ? 'no leases' : leases.map((l) => leaseLine(l, who)).join('\n')));
    });
}

function registerBidCommand(program: Command): void {
  program
    .command('bid <taskId>')
    .description('Bid on an open task as a registered worker (what the worker agent does automatically); the best bids win when the window closes')
    .requiredOption(...fromOpt)
    .option('--price <znc>', "ZNC per hour for one replica (default: the worker's registered prices applied to the task's needs)")
    .option(...waitOpt)
    .action(async (id: string, o: { from: string; price?: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const key = await loadKey(g, o.from);
      let price: bigint;
      if (o.price !== undefined) price = parseZnc(o.price);
      else {
        const c = client(g);
        const [t, w] = await Promise.all([c.task(id), c.worker(encodeAddress(addressFromPublicKey(key.publicKey)))]);
        price = askPrice(
          { priceCpuCoreHour: BigInt(w.prices.cpuCoreHour), priceMemoryGiBHour: BigInt(w.prices.memoryGiBHour), priceGpuHour: BigInt(w.prices.gpuHour) },
          t.needs,
        );
      }
      const what = `bid of ${znc(price)}/h on task ${id}`;
      const t = await submitTx(g, key, TxKind.Bid, { task: parseTaskId(id), price }, !!o.wait, what);
      printTx(g, what, t, { json: { task: id, price: price.toString() } });
    });

  program
    .command('withdraw-bid <taskId>')
    .description(
      "Take back this worker's bid in the task's open window: it wins nothing there and no longer holds the worker (once per window; the worker agent does it for a bid that can no longer win)",
    )
    .requiredOption(...fromOpt)
    .option(...waitOpt)
    .action(async (id: string, o: { from: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const what = `withdrawal of the bid on task ${id}`;
      const t = await submitTx(g, await loadKey(g, o.from), TxKind.WithdrawBid, { task: parseTaskId(id) }, !!o.wait, what);
      printTx(g, what, t, { json: { task: id } });
    });
}

export function register(program: Command): void {
  registerTaskCommands(program);
  registerLeaseCommands(program);
  registerBidCommand(program);
}

/**
 * Seals `--secret KEY=VALUE` pairs to the seal key of every worker that could serve the task now
 * (the quote's candidates): the winner is one of them, and only it can open them.
 */
/** `KEY=VALUE` pairs of a repeatable flag, as an environment. */
function pairs(flag: string, list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of list ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(s.slice(0, eq))) throw new Error(`${flag} takes KEY=VALUE with KEY a variable name, got "${s}"`);
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

/**
 * Seals `--input` and `--secret` pairs to the seal key of every worker that could serve the task
 * now. Both reach the workload as its environment; inputs are the task's parameters (the worker
 * may record them), secrets are never written down anywhere.
 */
async function sealSecrets(g: GlobalOptions, o: TaskFlags): Promise<Uint8Array> {
  const secrets = pairs('--secret', o.secret);
  const inputs = pairs('--input', o.input);
  const c = client(g);
  const q = await c.quote(quoteRequest(o));
  if (q.candidates.length === 0)
    throw new Error(
      `${noCandidatesReason(q, BigInt(quoteRequest(o).maxPricePerHour))} — and until one can, there is nobody to seal the task's inputs and secrets to`,
    );
  const workers = await Promise.all(q.candidates.map((x) => c.worker(x.worker)));
  const sealed = sealTo(
    workers.map((w) => fromHex(w.sealKey)),
    new TextEncoder().encode(JSON.stringify({ inputs, secrets })),
  );
  if (sealed.length > 4096)
    throw new Error(`the sealed inputs and secrets take ${sealed.length} bytes for ${workers.length} candidate worker(s); a task carries at most 4096`);
  process.stderr.write(`sealed ${Object.keys(inputs).length} input(s) and ${Object.keys(secrets).length} secret(s) to ${workers.length} candidate worker(s)\n`);
  return sealed;
}

/** Where a worker's artifacts may be: the node we talk to first, then the worker's own node (its registered endpoint). */
async function sourcesFor(g: GlobalOptions, worker: string): Promise<string[]> {
  const endpoint = (await client(g).worker(worker)).endpoint;
  return [...new Set([nodeUrl(g), ...(endpoint ? [/^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`] : [])])];
}

/** The sealed logs a worker published when the lease ended. */
async function publishedLogs(g: GlobalOptions, l: LeaseAnswer, task: string, where: string): Promise<{ sealed: Uint8Array; digest: string; node: string }> {
  const misses: string[] = [];
  const { fetchSealedLogs, LogsNotFound } = await import('../worker/index.ts');
  for (const node of await sourcesFor(g, l.worker)) {
    try {
      return { ...(await fetchSealedLogs(node, l.worker, task, l.index)), node };
    } catch (e) {
      if (!(e instanceof LogsNotFound) && !(e instanceof TypeError)) throw e;
      misses.push(e instanceof LogsNotFound ? e.message : `${node} does not answer`);
    }
  }
  const live = isLeaseAtWork(l.state);
  throw new Error(
    `${live ? `lease ${l.index} is ${l.state}: its worker publishes the logs when it ends (--live asks the worker for them now)` : `the logs of lease ${l.index} (${l.state}) were not published`} (${where}: ${misses.join('; ')})`,
  );
}

/** The logs so far of a running lease, from the worker itself, for a request the poster's key signed. */
async function liveLogs(url: string, key: KeyPair, worker: string, task: string, lease: number): Promise<{ sealed: Uint8Array; digest: string; node: string }> {
  const base = url.replace(/\/$/, '');
  const { digestOf, liveLogsToken } = await import('../worker/index.ts');
  const res = await fetch(`${base}/leases/${task}/${lease}/sealed-logs`, {
    headers: { authorization: `Bearer ${liveLogsToken(key, worker, task, lease)}` },
  }).catch((e: unknown) => {
    throw new Error(`the worker at ${base} does not answer (${(e as Error).message})`);
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
    throw new Error(`the worker at ${base} refused the live logs (HTTP ${res.status}): ${body.error?.message ?? res.statusText}`);
  }
  const sealed = new Uint8Array(await res.arrayBuffer());
  return { sealed, digest: digestOf(sealed), node: base };
}
