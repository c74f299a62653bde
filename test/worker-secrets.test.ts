import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, sealTo } from '../src/crypto/index.ts';
import type { LeaseAnswer, TaskDetailAnswer, WorkerAnswer } from '../src/sdk/index.ts';
import { waitFor } from './helpers/processes.ts';
import { tarTextFiles } from './helpers/tar.ts';
import { okOut, WorkerNet, type WorkerProcess } from './helpers/workerNet.ts';

// Sealed secrets with real processes: two workers (carol, dave) beside a one-bookkeeper devnet,
// and a batch app that proves it read $SECRET_VALUE without printing it: it writes the value's
// sha256 to /out and prints only its length. A task posted with `--secret` is sealed to both
// candidates (both bid); its result carries the right hash. A task sealed to carol alone gets no
// bid from dave, who says why. And neither secret's cleartext (nor its hex) appears anywhere: the
// files under the devnet (node homes with their stores, node log, the worker's lease files), the
// worker and CLI output, the /ws stream, and every API answer the test read — the tasks, leases,
// the PostTask transactions and every block segment with a transaction.

const net = new WorkerNet('zeus-worker-secrets-');
const IMAGE = `zeus-test/worker-secret:${process.pid}`;
const APP = 'secretapp';
/** Long and random: a substring search for it cannot hit by chance. */
const SECRET_ALL = randomBytes(48).toString('base64url');
const SECRET_CAROL = randomBytes(48).toString('base64url');

/** Every text the test saw: API answers, /ws messages, process output. */
const seen: { where: string; text: string }[] = [];
let ws: WebSocket | undefined;

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${net.url}${path}`);
  const text = await res.text();
  seen.push({ where: `GET ${path}`, text });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

function zeusSeen(...args: string[]): string {
  const r = net.zeus(...args);
  seen.push({ where: `zeus ${args[1] ?? ''} ${args[2] ?? ''}`, text: r.out + r.err });
  return okOut(r);
}

beforeAll(async () => {
  // No echo of the value: only its hash (in the result) and its length (in the log).
  net.buildBusybox(
    IMAGE,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${#SECRET_VALUE} and ${ROUNDS:-none} are shell expansions, for the container's sh.
    'printf %s "$SECRET_VALUE" | /bin/busybox sha256sum > /out/secret.sha256; echo "read a secret of ${#SECRET_VALUE} characters"; printf %s "${ROUNDS:-none}" > /out/rounds',
  );
  net.start();
  ws = new WebSocket(`${net.url.replace(/^http/, 'ws')}/ws`);
  ws.addEventListener('message', (m: MessageEvent) => seen.push({ where: '/ws', text: String(m.data) }));
  await new Promise<void>((resolve, reject) => {
    ws!.addEventListener('open', () => resolve(), { once: true });
    ws!.addEventListener('error', () => reject(new Error('cannot open /ws')), { once: true });
  });
}, 120_000);

afterAll(() => {
  ws?.close();
  net.stop([`zeus-app/${APP}`]);
});

/** Waits for the task's first lease to have its result, then returns the lease and the result's files. */
async function resultOf(task: string, workers: WorkerProcess[]): Promise<{ lease: LeaseAnswer; files: Map<string, string> }> {
  let lease: LeaseAnswer | undefined;
  await waitFor(
    async () => (lease = (await get<TaskDetailAnswer>(`/tasks/${task}`)).leases[0])?.resultDigest !== undefined && lease.resultDigest !== '',
    60_000,
    'a result',
    250,
  ).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${workers.map((w) => `worker ${w.address}:\n${w.log()}`).join('\n')}`);
  });
  const out = join(net.dir, `result-${task.slice(0, 8)}.tar`);
  zeusSeen('--json', 'task', 'result', task, '--out', out);
  return { lease: lease!, files: await tarTextFiles(readFileSync(out)) };
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Every file below `dir`, as bytes. */
function* filesBelow(dir: string): Generator<[string, Buffer]> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    if (s.isDirectory()) yield* filesBelow(p);
    else if (s.isFile()) yield [p, readFileSync(p)];
  }
}

describe('sealed secrets reach the workload and nothing else', () => {
  it('the winner opens them into the environment; a worker they are not sealed to does not bid; the cleartext is nowhere', async () => {
    zeusSeen('--json', 'app', 'publish', IMAGE, '--from', 'alice', '--name', APP, '--version', '1.0', '--wait');
    const carol = await net.startWorker('carol', ['--report-seconds', '1']);
    const dave = await net.startWorker('dave', ['--report-seconds', '1']);
    const both = [carol, dave];
    const post = (...more: string[]): string =>
      (
        JSON.parse(
          zeusSeen(
            '--json',
            'task',
            'post',
            '--from',
            'bob',
            '--app',
            `${APP}@1.0`,
            '--cpu',
            '0.5',
            '--memory',
            '64MiB',
            '--max-price',
            '1',
            '--bid-window',
            '6',
            ...more,
            '--wait',
          ),
        ) as { task: string }
      ).task;

    // Sealed by the CLI to every candidate: both workers can open it, so both bid.
    // An input rides along: a parameter the app reads from its environment, recorded by the worker.
    const all = post('--secret', `SECRET_VALUE=${SECRET_ALL}`, '--input', 'ROUNDS=7');
    expect(seen.at(-1)!.text).toMatch(/sealed 1 input\(s\) and 1 secret\(s\) to 2 candidate worker\(s\)/);
    const first = await resultOf(all, both);
    const bidders = (await get<TaskDetailAnswer>(`/tasks/${all}`)).bids.map((b) => b.worker).sort();
    expect(bidders).toEqual([carol.address, dave.address].sort());
    expect(first.files.get('out/secret.sha256')).toBe(`${sha256(SECRET_ALL)}  -\n`);
    const firstDir = join(net.home, 'worker', 'leases', `${all}-0`);
    expect(readFileSync(join(firstDir, 'container.log'), 'utf8')).toMatch(new RegExp(`read a secret of ${SECRET_ALL.length} characters`));
    expect(first.files.get('out/rounds')).toBe('7');
    expect(JSON.parse(readFileSync(join(firstDir, 'container.json'), 'utf8'))).toMatchObject({ env: ['ROUNDS', 'SECRET_VALUE'], inputs: { ROUNDS: '7' } });

    // Sealed to carol's key alone: dave could serve it but cannot open it, so he does not bid.
    const carolKey = (await get<WorkerAnswer>(`/workers/${carol.address}`)).sealKey;
    const sealedFile = join(net.dir, 'sealed-to-carol.bin');
    writeFileSync(sealedFile, sealTo([fromHex(carolKey)], new TextEncoder().encode(JSON.stringify({ secrets: { SECRET_VALUE: SECRET_CAROL } }))));
    // Both idle first, so only the seal can keep dave from bidding.
    await waitFor(() => net.containersOf(carol.address).length + net.containersOf(dave.address).length === 0, 20_000, 'both workers idle');
    const onlyCarol = post('--sealed-file', sealedFile);
    const second = await resultOf(onlyCarol, both);
    expect(second.lease.worker).toBe(carol.address);
    expect((await get<TaskDetailAnswer>(`/tasks/${onlyCarol}`)).bids.map((b) => b.worker)).toEqual([carol.address]);
    expect(dave.log()).toContain(`task ${onlyCarol.slice(0, 12)}…: not bidding: its sealed secrets are not sealed to this worker`);
    expect(second.files.get('out/secret.sha256')).toBe(`${sha256(SECRET_CAROL)}  -\n`);

    // Read what the chain holds through every API that shows it: the tasks and leases, each
    // PostTask as a transaction, and every block segment holding a transaction.
    await get('/tasks');
    await get(`/leases?worker=${carol.address}`);
    await get(`/leases?worker=${dave.address}`);
    const tip = (await get<{ height: number }>('/status')).height;
    let postTxs = 0;
    for (let h = 1; h <= tip; h++) {
      const b = await get<{ txs: string[][] }>(`/blocks/${h}`);
      for (const [chain, hashes] of b.txs.entries()) {
        if (hashes.length === 0) continue;
        const seg = await get<{ txs: { hash: string; kind: string }[] }>(`/blocks/${h}/chains/${chain}`);
        for (const tx of seg.txs.filter((x) => x.kind === 'PostTask')) {
          await get(`/txs/${tx.hash}`);
          postTxs += 1;
        }
      }
    }
    expect(postTxs).toBe(2);
    // The scan sees the sealed envelopes themselves (so it looked where a leak would be).
    const sealedHex = (await get<TaskDetailAnswer>(`/tasks/${onlyCarol}`)).sealed;
    expect(sealedHex).toBe(readFileSync(sealedFile).toString('hex'));
    expect(seen.filter((s) => s.text.includes(sealedHex)).length).toBeGreaterThan(2);

    for (const w of both) seen.push({ where: `worker ${w.address} output`, text: w.log() });
    expect(seen.some((s) => s.where === '/ws' && s.text.includes('"kind":"task-posted"'))).toBe(true);
    const needles = [SECRET_ALL, SECRET_CAROL].flatMap((s) => [s, Buffer.from(s).toString('hex')]);
    const leaks: string[] = [];
    for (const s of seen) for (const n of needles) if (s.text.includes(n)) leaks.push(s.where);
    // Node homes (keys, config, the LevelDB stores, the registry's blobs), the node's log, the
    // worker's lease files (container.json, container.log, outcome.json) and the result tars.
    let files = 0;
    for (const [path, bytes] of filesBelow(net.dir)) {
      files += 1;
      for (const n of needles) if (bytes.includes(n)) leaks.push(path);
    }
    expect(files).toBeGreaterThan(20);
    expect(leaks).toEqual([]);
    expect(net.containersOf(carol.address).length + net.containersOf(dave.address).length).toBe(0);
  }, 150_000);
});
