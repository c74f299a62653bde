import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, Keystore, openSealed, sealKeyPairFromSeed } from '../src/crypto/index.ts';
import { DEV_PASSPHRASE } from '../src/node/index.ts';
import type { AccountAnswer, ErrorAnswer, TaskDetailAnswer, WorkerAnswer, WorkersAnswer } from '../src/sdk/wire.ts';
import { api, NODE_BIN, nodeEnv, ROOT, waitFor, zeus as zeusIn } from './helpers/processes.ts';

// The compute market through the `zeus` command line against a real devnet process (one solo
// bookkeeper, 500 ms blocks, the devnet's short market deadlines): three differently sized
// workers register (staking their bond first), an app is published, `task quote` explains who
// could serve a task and why every other worker could not, a task is posted, bid on and leased,
// another is cancelled and refunded, and bad bids are refused with the ledger's reason.

const dir = mkdtempSync(join(tmpdir(), 'zeus-market-cli-'));
const devnet = join(dir, 'net');
const home = join(devnet, 'node0');
let url = '';

const zeus = (...args: string[]) => zeusIn(home, ...args);

/** The CLI without blocking the test, so independent commands can run side by side. */
function zeusAsync(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--home', home, ...args], { env: nodeEnv(), cwd: ROOT });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += String(d)));
    p.stderr.on('data', (d: Buffer) => (err += String(d)));
    p.on('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

function ok(r: { code: number; out: string; err: string }): string {
  expect(r.code, `${r.err}${r.out}`).toBe(0);
  return r.out;
}

/** A dev key's address, from its keystore file (cheaper than starting the CLI for it). */
const addressOf = (name: string): string => (JSON.parse(readFileSync(join(home, 'keys', `${name}.json`), 'utf8')) as { address: string }).address;

/**
 * A quote's human output as { worker name → lines under it }, with the section it is in.
 * Lines are "  name (znc1…)  asks …" for a worker and "    CODE  message" for each reason.
 */
function parseQuote(out: string): Map<string, { section: 'serve' | 'refused'; head: string; reasons: string[] }> {
  const byWorker = new Map<string, { section: 'serve' | 'refused'; head: string; reasons: string[] }>();
  let section: 'serve' | 'refused' | undefined;
  let current: string[] | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('could serve')) section = 'serve';
    else if (line.startsWith('could not serve')) section = 'refused';
    else if (/^ {2}\S/.test(line)) {
      const name = line.trim().split(' ')[0];
      current = [];
      byWorker.set(name, { section: section!, head: line.replace(/ \(znc1[0-9a-z]+\)/, ''), reasons: current });
    } else if (/^ {4}\S/.test(line)) current!.push(line.trim().replace(/\s+/, ' '));
  }
  return byWorker;
}

async function taskJson(id: string): Promise<{ state: string; closeHeight: number; escrow: string; leases: { state: string; worker: string }[] }> {
  const r = await api<TaskDetailAnswer>(url, 'GET', `/tasks/${id}`);
  expect(r.status, r.text).toBe(200);
  return r.json;
}

const taskIdOf = (out: string): string => /task {3}([0-9a-f]{64})/.exec(out)![1];
const A100_TASK = ['--cpu', '4', '--memory', '8GiB', '--gpus', '1', '--gpu-model', 'A100', '--gpu-memory', '40GiB', '--max-price', '3'];

beforeAll(async () => {
  const r = zeusIn(join(dir, 'unused'), 'devnet', 'start', '--workers', '0', '--dir', devnet, '--validators', '1', '--block-time', '500');
  expect(r.code, r.err).toBe(0);
  url = (JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8')) as { nodes: { api: string }[] }).nodes[0].api;
});

afterAll(() => {
  zeusIn(join(dir, 'unused'), 'devnet', 'stop', '--dir', devnet);
  rmSync(dir, { recursive: true, force: true });
});

describe('zeus market commands on a devnet', () => {
  it('registers three differently sized workers, staking their bonds first', async () => {
    // Dev accounts: bob rents out a GPU machine, carol a small one, dave a big expensive one.
    const [gpu, small, pricey] = await Promise.all([
      zeusAsync(
        'worker',
        'register',
        '--from',
        'bob',
        '--cpu',
        '16',
        '--memory',
        '64GiB',
        '--disk',
        '500GiB',
        '--gpu',
        'A100:40GiB:2',
        '--region',
        'eu',
        '--endpoint',
        '10.0.0.1:7000',
        '--price-cpu',
        '0.1',
        '--price-memory',
        '0.01',
        '--price-gpu',
        '2',
        '--benchmark',
        '800',
        '--wait',
      ),
      zeusAsync('worker', 'register', '--from', 'carol', '--cpu', '2', '--memory', '2048', '--endpoint', '10.0.0.2:7000', '--price-cpu', '0.05', '--wait'),
      zeusAsync(
        'worker',
        'register',
        '--from',
        'dave',
        '--cpu',
        '32',
        '--memory',
        '128GiB',
        '--gpu',
        'H100:80GiB:1',
        '--runtime',
        'docker',
        '--runtime',
        'wasm',
        '--region',
        'us',
        '--endpoint',
        '10.0.0.3:7000',
        '--price-cpu',
        '5',
        '--price-memory',
        '1',
        '--price-gpu',
        '10',
        '--bond',
        '150',
        '--wait',
      ),
    ]);
    for (const r of [gpu, small, pricey]) {
      ok(r);
      // The account had nothing staked: the CLI staked the bond, waited for main, then registered.
      expect(r.err).toMatch(/stake on main is 0 ZNC; the bond needs \d+ ZNC: staking \d+ ZNC first/);
      expect(r.err).toContain('stake on main:');
      expect(r.out).toMatch(/committed registration of worker znc1/);
      expect(r.out).toMatch(/seal key [0-9a-f]{64} \(X25519, derived from the signing key\)/);
    }
    expect(pricey.out).toContain('bond   150 ZNC');
    expect(small.out).toContain('bond   100 ZNC'); // the devnet's minimum

    const workers = (await api<WorkersAnswer>(url, 'GET', '/workers')).json.workers as {
      address: string;
      bond: string;
      rating: number;
      active: boolean;
      gpus: unknown[];
    }[];
    expect(workers).toHaveLength(3);
    const bob = workers.find((w) => w.address === addressOf('bob'))!;
    expect(bob).toMatchObject({ bond: '10000000000', rating: 500, active: true, gpus: [{ model: 'A100', memoryMiB: 40960, count: 2 }] });
    expect((await api<AccountAnswer>(url, 'GET', `/accounts/${addressOf('dave')}`)).json.staked).toBe('0'); // all of it is in the bond now
    expect(ok(zeus('worker', 'show', 'bob'))).toContain('2× A100 40960 MiB');
  });

  it('publishes an app', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const [published, bad] = await Promise.all([
      zeusAsync('app', 'publish', '--from', 'alice', '--name', 'render', '--version', '1.0.0', '--digest', digest, '--license-fee', '0.01', '--wait'),
      zeusAsync('app', 'publish', '--from', 'bob', '--name', 'other', '--version', '1.0.1', '--digest', 'sha256:XYZ', '--wait'),
    ]);
    ok(published);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/error \[BAD_DIGEST\]: image digest must be sha256: and 64 lowercase hex digits/);
    const app = JSON.parse(ok(zeus('--json', 'app', 'show', 'render')));
    expect(app.versions).toEqual([expect.objectContaining({ version: '1.0.0', digest, licenseFeePerHour: '1000000', feeToken: 'ZNC', deprecated: false })]);
  });

  it('quotes a task: exactly who could serve it at what ask, and every reason for everyone else', async () => {
    const [gpuQuote, wasmQuote] = await Promise.all([
      zeusAsync('task', 'quote', ...A100_TASK),
      zeusAsync('task', 'quote', '--runtime', 'wasm', '--region', 'us', '--cpu', '8', '--memory', '16GiB', '--max-price', '100'),
    ]);
    const q = parseQuote(ok(gpuQuote));
    expect(q.get('bob')).toEqual({ section: 'serve', head: '  bob  asks 2.48 ZNC/h  rating 500', reasons: [] });
    expect(q.get('carol')).toEqual({
      section: 'refused',
      head: '  carol  would ask 0.2 ZNC/h  rating 500',
      reasons: ['CPU cpu: has 2000 millicores, task needs 4000', 'MEMORY memory: has 2048 MiB, task needs 8192', 'GPU_MODEL gpu: no A100'],
    });
    expect(q.get('dave')).toEqual({
      section: 'refused',
      head: '  dave  would ask 38 ZNC/h  rating 500',
      reasons: ['GPU_MODEL gpu: no A100', 'PRICE price: asks 38 ZNC/h, task pays at most 3 ZNC/h'],
    });

    const wasm = parseQuote(ok(wasmQuote));
    expect(wasm.get('dave')).toEqual({ section: 'serve', head: '  dave  asks 56 ZNC/h  rating 500', reasons: [] });
    expect(wasm.get('bob')!.reasons).toEqual(['RUNTIME runtime: offers docker, task needs wasm', 'REGION region: in eu, task needs us']);
    expect(wasm.get('carol')!.reasons).toEqual([
      'RUNTIME runtime: offers docker, task needs wasm',
      'REGION region: in no region, task needs us',
      'CPU cpu: has 2000 millicores, task needs 8000',
      'MEMORY memory: has 2048 MiB, task needs 16384',
    ]);
  });

  // The task the next test sees leased once its window closes.
  let taskA = '';

  it('posts a task, takes a bid and refuses bids from workers that do not fit', async () => {
    const posted = ok(zeus('task', 'post', '--from', 'alice', '--app', 'render', ...A100_TASK, '--max-hours', '2', '--bid-window', '30', '--wait')); // 15 s: four CLI processes start at once
    const id = (taskA = taskIdOf(posted));
    // (3 ZNC/h to the worker + 0.01 ZNC/h license fee) × 2 h.
    expect(posted).toContain('escrow 6.02 ZNC');

    const [good, unfit, both, notWorker] = await Promise.all([
      // Without --price a worker bids its registered prices applied to the task: 2.48 ZNC/h.
      zeusAsync('bid', id, '--from', 'bob', '--wait'),
      zeusAsync('bid', id, '--from', 'carol', '--wait'),
      zeusAsync('bid', id, '--from', 'dave', '--price', '4', '--wait'),
      zeusAsync('--json', 'bid', id, '--from', 'alice', '--price', '1'),
    ]);
    expect(ok(good)).toContain(`committed bid of 2.48 ZNC/h on task ${id}`);
    expect(unfit.code).not.toBe(0);
    expect(unfit.err).toContain(
      `error [WORKER_UNFIT]: this worker cannot serve task ${id}: cpu: has 2000 millicores, task needs 4000; memory: has 2048 MiB, task needs 8192; gpu: no A100`,
    );
    expect(both.code).not.toBe(0);
    expect(both.err).toContain('error [WORKER_UNFIT]');
    expect(both.err).toContain('gpu: no A100; price: asks 4 ZNC/h, task pays at most 3 ZNC/h');
    expect(notWorker.code).not.toBe(0);
    expect(JSON.parse(notWorker.out).error).toMatchObject({ code: 'NOT_A_WORKER' });
  });

  it('leases the best bid once the window closes: task status and lease list show it', async () => {
    const id = taskA;
    await waitFor(async () => (await taskJson(id)).state !== 'open', 45_000, 'the bid window to close', 100);
    const t = await taskJson(id);
    expect(t.state).toBe('running');
    expect(t.leases).toEqual([expect.objectContaining({ state: 'matched', worker: addressOf('bob') })]);
    // The worker has 40 blocks (20 s) to start the lease: look at it while it waits.
    const [status, bobs, carols, shown] = await Promise.all([
      zeusAsync('task', 'status', id),
      zeusAsync('lease', 'list', '--worker', 'bob'),
      zeusAsync('lease', 'list', '--worker', 'carol'),
      zeusAsync('--json', 'lease', 'show', id, '0'),
    ]);
    expect(ok(status)).toContain(`task ${id}`);
    expect(status.out).toMatch(/: running, batch/);
    expect(status.out).toMatch(/#0 bob \(znc1[0-9a-z]+\) 2\.48 ZNC\/h rating 500 at height \d+ \[won a lease\]/);
    expect(status.out).toMatch(/#0 {2}matched {3}bob \(znc1[0-9a-z]+\) {2}2\.48 ZNC\/h/);
    expect(ok(bobs)).toMatch(new RegExp(`^${id} #0 {2}matched {3}bob \\(znc1[0-9a-z]+\\) {2}2\\.48 ZNC/h`, 'm'));
    expect(ok(carols)).toBe('no leases\n');
    expect(JSON.parse(ok(shown))).toMatchObject({ task: id, lease: 0, state: 'matched', price: '248000000', replica: 0, copy: 0 });
  });

  it('refuses a bid above the max price, cancels the task and returns its escrow', async () => {
    const alice = addressOf('alice');
    // Task A (from the tests before) ends by itself when bob never starts its lease, and its escrow
    // comes back to alice then, maybe while this test runs: count what it holds as alice's.
    const balance = async (): Promise<bigint> =>
      BigInt((await api<AccountAnswer>(url, 'GET', `/accounts/${alice}`)).json.balances.ZNC) + (taskA ? BigInt((await taskJson(taskA)).escrow) : 0n);
    const before = await balance();
    const posted = ok(
      zeus(
        'task',
        'post',
        '--from',
        'alice',
        '--image',
        `sha256:${'cd'.repeat(32)}`,
        '--cpu',
        '1',
        '--memory',
        '1GiB',
        '--max-price',
        '1',
        '--max-hours',
        '3',
        '--bid-window',
        '200',
        '--wait',
      ),
    );
    const id = taskIdOf(posted);
    expect(await balance()).toBe(before - 300_000_000n);
    // bob fits this task but asks more than it pays.
    const tooDear = zeus('bid', id, '--from', 'bob', '--price', '1.5', '--wait');
    expect(tooDear.code).not.toBe(0);
    expect(tooDear.err).toContain(`error [WORKER_UNFIT]: this worker cannot serve task ${id}: price: asks 1.5 ZNC/h, task pays at most 1 ZNC/h`);
    const cancelled = ok(zeus('task', 'cancel', id, '--from', 'alice', '--wait'));
    expect(cancelled).toContain(`committed cancellation of task ${id}`);
    expect(cancelled).toMatch(/refund 3 ZNC returned from escrow to znc1/);
    expect(await balance()).toBe(before);
    expect(await taskJson(id)).toMatchObject({ state: 'cancelled', escrow: '0' });
    const [listed, twice] = await Promise.all([
      zeusAsync('task', 'list', '--state', 'cancelled'),
      zeusAsync('task', 'cancel', id, '--from', 'alice', '--wait'),
    ]);
    expect(ok(listed)).toMatch(new RegExp(`^${id} {2}cancelled`, 'm'));
    expect(twice.code).not.toBe(0);
    expect(twice.err).toContain(`error [TASK_ENDED]: task ${id} has already ended`);
  });

  it('answers API errors as {error:{code,message}} and explains every command', async () => {
    expect((await api<ErrorAnswer>(url, 'GET', '/tasks/nothex')).json.error.code).toBe('INVALID_TASK_ID');
    expect((await api(url, 'GET', `/tasks/01${'0'.repeat(62)}`)).status).toBe(404);
    expect((await api<ErrorAnswer>(url, 'GET', '/workers/znc1qqqq')).json.error.code).toBe('INVALID_ADDRESS');
    expect((await api(url, 'GET', '/tasks?state=lost')).status).toBe(400);
    const badQuote = await api<ErrorAnswer>(url, 'POST', '/market/quote', { cpuMillis: 1000, memoryMiB: 512, runtime: 'jvm', maxPricePerHour: '1' });
    expect(badQuote.status).toBe(400);
    expect(badQuote.json.error.message).toMatch(/unknown runtime "jvm"/);
    const [register, quote] = await Promise.all([zeusAsync('worker', 'register', '--help'), zeusAsync('task', 'quote', '--help')]);
    expect(ok(register)).toMatch(/--gpu <model:memory:count>[\s\S]*--bond <znc>/);
    expect(ok(quote)).toMatch(/--max-price <znc>[\s\S]*--bid-window <blocks>/);
  });

  it('seals --secret values to the workers that could serve the task: they can open them, the chain and API see ciphertext', async () => {
    // bob never started task A's lease: the start deadline slashed 5 % of its 100 ZNC bond. Below the
    // minimum it is not leased (issue 13), so the quote refuses it, saying why, until it tops up.
    await waitFor(async () => (await taskJson(taskA)).leases[0]?.state === 'failed', 45_000, "task A's lease to fail", 250);
    await waitFor(
      async () => (await api<WorkerAnswer>(url, 'GET', `/workers/${addressOf('bob')}`)).json.bond === '9500000000',
      10_000,
      'the slash to reach main',
      100,
    );
    const refused = parseQuote(ok(zeus('task', 'quote', ...A100_TASK))).get('bob');
    expect(refused).toMatchObject({
      section: 'refused',
      reasons: ['BOND bond: 95 ZNC is below the minimum of 100 ZNC; add at least 5 ZNC (zeus worker update --add-bond) to be leased again'],
    });
    expect(ok(zeus('worker', 'show', 'bob'))).toContain('active but not leased: its bond is below the minimum; add 5 ZNC (zeus worker update --add-bond)');
    ok(zeus('worker', 'update', '--from', 'bob', '--add-bond', '5', '--wait'));
    const posted = zeus('task', 'post', '--from', 'alice', ...A100_TASK, '--image', `sha256:${'cd'.repeat(32)}`, '--secret', 'DB_PASSWORD=hunter2', '--wait');
    expect(ok(posted)).toContain('committed');
    expect(posted.err).toContain('sealed 0 input(s) and 1 secret(s) to 1 candidate worker(s)');
    const id = taskIdOf(posted.out);
    const task = await api<TaskDetailAnswer>(url, 'GET', `/tasks/${id}`);
    expect(task.text).not.toContain('hunter2');
    const sealed = fromHex(task.json.sealed);
    // bob's GPU machine is the only worker that fits: its seal key (derived from its account key) opens it.
    const bob = new Keystore(join(home, 'keys')).load('bob', DEV_PASSPHRASE);
    expect(JSON.parse(new TextDecoder().decode(openSealed(sealKeyPairFromSeed(bob.secretKey), sealed)))).toEqual({
      inputs: {},
      secrets: { DB_PASSWORD: 'hunter2' },
    });
    const carol = new Keystore(join(home, 'keys')).load('carol', DEV_PASSPHRASE);
    expect(() => openSealed(sealKeyPairFromSeed(carol.secretKey), sealed)).toThrow(/not sealed to this key/);
    ok(zeus('task', 'cancel', id, '--from', 'alice', '--wait'));
  });
});
