import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEV_PASSPHRASE,
  loadHomeKey,
  parseAmount,
  TaskResultError,
  taskOutcome,
  TaskWaitTimeout,
  Tx,
  ZeusClient,
  ZNC_DECIMALS,
} from '../src/sdk/index.node.ts';
import { sampleModule } from '../src/worker/index.ts';
import { bundleForBrowser } from './helpers/browser.ts';
import { NODE_BIN, nodeEnv, ROOT } from './helpers/processes.ts';

// The SDK as an outside developer gets it (issue 20, must show 1 and 2): `npm run build:sdk`, `npm pack`
// of packages/sdk, `npm install` of the tarball into a fresh project outside the repository (its
// dependencies from the npm registry), a TypeScript client typechecked against the installed types
// and compiled to plain JavaScript, run with the system's Node 20 (no type stripping) and with Node
// 24 against a real devnet: it posts a task of an app published a moment before, waits for it with
// waitForTask and reads its result with taskResult. The installed dependency tree is listed and
// must hold no server framework, React, bundler, libp2p or Docker client.

const SYSTEM_NODE = '/usr/bin/node';
const root = mkdtempSync(join(tmpdir(), 'zeus-sdk-package-'));
const project = join(root, 'project');
const net = join(root, 'devnet');
const work = join(root, 'work');
/** What the installed tree may hold: the SDK and its pure-JavaScript crypto and encoding. */
const EXPECTED_TREE = ['@noble/ciphers', '@noble/curves', '@noble/hashes', '@scure/base', '@zeusnet/sdk'];
const FORBIDDEN = /^(fastify|@fastify\/.*|libp2p|@libp2p\/.*|react|react-dom|vite|rolldown|dockerode|docker-modem|classic-level|etcd3|zod|pino|ws)$/;
const timings: Record<string, number> = {};
let env: NodeJS.ProcessEnv;
let api = '';
/** A task the clients saw succeed. */
let doneTask = '';

/** What the client prints. */
interface ClientOut {
  runtime: string;
  task: string;
  states: string[];
  outcome: string;
  exitCode: number;
  ok: boolean;
  digest: string;
  chainDigest: string;
  files: Record<string, string>;
}

interface Run {
  code: number;
  out: string;
  err: string;
}

function run(cmd: string, args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? env, stdio: ['ignore', 'pipe', 'pipe'], timeout: o.timeout ?? 300_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

async function ok(what: string, cmd: string, args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<string> {
  const t0 = Date.now();
  const r = await run(cmd, args, o);
  timings[what] = (timings[what] ?? 0) + Date.now() - t0;
  expect(r.code, `${what}: ${cmd} ${args.join(' ')}\n${r.err}${r.out}`).toBe(0);
  return r.out;
}

const zeus = (...args: string[]): Promise<string> => ok('zeus', NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), ...args], { cwd: work });

// The client an outside developer writes: TypeScript against the installed package's types.
const CLIENT = `import { DEV_PASSPHRASE, loadHomeKey, parseAmount, taskOutcome, ZeusClient, ZNC_DECIMALS, type TaskResult } from '@zeusnet/sdk';

const [node, home, keyName, app] = [process.env.ZEUS_NODE, process.env.ZEUS_HOME, process.env.ZEUS_KEY, process.env.APP];
if (!node || !home || !keyName || !app) throw new Error('set ZEUS_NODE, ZEUS_HOME, ZEUS_KEY and APP');
const client = new ZeusClient(node);
// A devnet's funded keys open with its well-known dev passphrase.
const user = loadHomeKey(home, keyName, DEV_PASSPHRASE);
const { id } = await client.postTask(user, {
  app,
  runtime: 'wasm',
  cpuMillis: 500,
  memoryMiB: 64,
  maxPricePerHour: parseAmount('1', ZNC_DECIMALS),
});
const states: string[] = [];
const ended = await client.waitForTask(id, {
  timeoutMs: 240_000,
  onProgress: (t) => {
    if (states[states.length - 1] !== t.state) states.push(t.state);
  },
});
if (taskOutcome(ended) !== 'succeeded') throw new Error('task ' + id + ' did not succeed: ' + JSON.stringify(ended));
const result: TaskResult = await client.taskResult(id);
const files: Record<string, string> = {};
for (const [name, bytes] of result.files) files[name] = new TextDecoder().decode(bytes);
console.log(JSON.stringify({ runtime: process.version, task: id, states, outcome: taskOutcome(ended), exitCode: result.exitCode, ok: result.ok, digest: result.digest, chainDigest: ended.leases[result.lease].resultDigest, files }));
`;

// Must not typecheck: proves the installed types are read (an untyped import would accept it).
const WRONG = `import { ZeusClient } from '@zeusnet/sdk';
const n: number = await new ZeusClient('http://127.0.0.1:1').taskResult(42);
console.log(n);
`;

const tsconfig = (files: string[], outDir?: string): string =>
  JSON.stringify({
    compilerOptions: {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      lib: ['es2023'],
      strict: true,
      // The installed .d.ts are checked too: types that only compile inside the repository fail here.
      skipLibCheck: false,
      // @types/node from the repository: the project needs no other package than the SDK.
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      types: ['node'],
      ...(outDir ? { outDir } : { noEmit: true }),
    },
    files,
  });

beforeAll(async () => {
  env = { ...nodeEnv(), PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` };
  mkdirSync(project, { recursive: true });
  mkdirSync(work, { recursive: true });
  // The devnet comes up while the package is built, packed and installed.
  const devnet = run(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--json', 'devnet', 'start', '--dir', net, '--validators', '1', '--workers', '1'], { cwd: work });
  const t0 = Date.now();
  await ok('build', NODE_BIN, [join(ROOT, 'scripts', 'build-sdk.ts')], { cwd: ROOT });
  const packed = JSON.parse(await ok('pack', 'npm', ['pack', join(ROOT, 'packages', 'sdk'), '--pack-destination', root, '--json'], { cwd: root })) as {
    filename: string;
    files: { path: string }[];
  }[];
  expect(packed[0].files.map((f) => f.path)).toContain('dist/sdk/index.node.js');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'zeus-sdk-outsider', private: true, type: 'module' }));
  await ok('install', 'npm', ['install', join(root, packed[0].filename), '--no-audit', '--no-fund'], { cwd: project });
  timings['build+pack+install'] = Date.now() - t0;
  const started = await devnet;
  expect(started.code, started.err + started.out).toBe(0);
  api = (JSON.parse(started.out) as { nodes: { api: string }[] }).nodes[0].api;
  timings.devnet = Date.now() - t0;
}, 400_000);

afterAll(async () => {
  if (existsSync(net)) await run(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), 'devnet', 'stop', '--dir', net], { cwd: work });
  console.log(`sdk-package timings (ms): ${JSON.stringify(timings)}`);
  rmSync(root, { recursive: true, force: true });
}, 120_000);

describe('@zeusnet/sdk installed into a project outside the repository', () => {
  it('the project is outside the repository and its dependency tree is the SDK and its crypto only', async () => {
    expect(relative(ROOT, project).startsWith('..')).toBe(true);
    const tree = JSON.parse(await ok('npm ls', 'npm', ['ls', '--all', '--json'], { cwd: project })) as { dependencies?: Record<string, Dep> };
    interface Dep {
      version: string;
      dependencies?: Record<string, Dep>;
    }
    const names = new Map<string, string>();
    const walk = (deps: Record<string, Dep> | undefined): void => {
      for (const [name, d] of Object.entries(deps ?? {})) {
        names.set(name, d.version);
        walk(d.dependencies);
      }
    };
    walk(tree.dependencies);
    console.log(`installed tree: ${[...names].map(([n, v]) => `${n}@${v}`).join(', ')}`);
    expect([...names.keys()].filter((n) => FORBIDDEN.test(n))).toEqual([]);
    expect([...names.keys()].sort()).toEqual(EXPECTED_TREE);
  });

  it('a TypeScript client typechecks against the installed types, and a wrong call does not', async () => {
    writeFileSync(join(project, 'client.ts'), CLIENT);
    writeFileSync(join(project, 'wrong.ts'), WRONG);
    writeFileSync(join(project, 'tsconfig.json'), tsconfig(['client.ts'], 'build'));
    writeFileSync(join(project, 'tsconfig.wrong.json'), tsconfig(['wrong.ts']));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await ok('tsc', NODE_BIN, [tsc, '-p', 'tsconfig.json'], { cwd: project });
    expect(readFileSync(join(project, 'build', 'client.js'), 'utf8')).toContain("from '@zeusnet/sdk'");
    const wrong = await run(NODE_BIN, [tsc, '-p', 'tsconfig.wrong.json'], { cwd: project });
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toMatch(/wrong\.ts.*error TS2345.*number.*string/s);
  }, 120_000);

  it('both entries load by name: Node 20 and 24 get the Node entry (with the keystore), the browser condition the browser entry', async () => {
    const probe = `import * as sdk from '@zeusnet/sdk';
const k = sdk.newKey();
const one = new Uint8Array([1]);
console.log(JSON.stringify({
  entry: import.meta.resolve('@zeusnet/sdk'),
  keystore: typeof sdk.Keystore,
  address: sdk.addressOf(k),
  signs: sdk.verifySignature(k.publicKey, one, sdk.signBytes(k.secretKey, one)),
}));`;
    for (const node of [SYSTEM_NODE, NODE_BIN]) {
      const out = JSON.parse(await ok('probe', node, ['--input-type=module', '-e', probe], { cwd: project })) as {
        entry: string;
        keystore: string;
        address: string;
      };
      expect(out).toMatchObject({ keystore: 'function', signs: true, entry: expect.stringMatching(/dist\/sdk\/index\.node\.js$/) });
      expect(out.address).toMatch(/^znc1/);
    }
    // Under the browser condition (what bundlers set) the same name resolves to the browser entry, without the keystore.
    const browser = await ok('probe', NODE_BIN, ['--conditions=browser', '--input-type=module', '-e', probe], { cwd: project });
    expect(JSON.parse(browser)).toMatchObject({ keystore: 'undefined', signs: true, entry: expect.stringMatching(/dist\/sdk\/index\.js$/) });
  });

  it('a web app bundling the installed package (Vite, browser) gets the browser entry: no Node built-in, only the SDK and its crypto', async () => {
    const app = join(project, 'web-app.js');
    writeFileSync(app, "import { newKey, addressOf, ZeusClient } from '@zeusnet/sdk';\nexport const who = () => [addressOf(newKey()), ZeusClient.name];\n");
    const bundle = await bundleForBrowser(relative(ROOT, app));
    expect(bundle.builtins).toEqual([]);
    expect(bundle.packages).toEqual(EXPECTED_TREE);
    expect(bundle.code).not.toMatch(/\bBuffer\.(from|alloc|concat)\b/);
  }, 120_000);

  it('the compiled client posts a task of a freshly published app, waits for it and reads its result, on Node 20 and Node 24', async () => {
    expect(spawnSync(SYSTEM_NODE, ['--version'], { encoding: 'utf8' }).stdout).toMatch(/^v20\./);
    const home = join(net, 'node0');
    const cli = ['--home', home, '--node', api, '--json'];
    await zeus(...cli, 'app', 'init', 'hello-wasm', '--wasm');
    await zeus(
      ...cli,
      'app',
      'publish',
      '--wasm',
      'hello-wasm/app.wasm',
      '--arg',
      '100',
      '--from',
      'developer',
      '--name',
      'hello-wasm',
      '--version',
      '0.1.0',
      '--license-fee',
      '0.5',
      '--wait',
    );
    const clientEnv = { ...env, ZEUS_NODE: api, ZEUS_HOME: home, ZEUS_KEY: 'user', APP: 'hello-wasm' };
    const t0 = Date.now();
    // One after the other: the devnet's one worker runs one such lease at a time, and a second task
    // posted meanwhile would close its bid window with nobody free to bid.
    const outs: ClientOut[] = [];
    for (const node of [SYSTEM_NODE, NODE_BIN]) {
      const out = await ok(`client on ${node}`, node, [join(project, 'build', 'client.js')], { cwd: project, env: clientEnv, timeout: 300_000 });
      outs.push(JSON.parse(out.trim().split('\n').at(-1)!) as ClientOut);
    }
    timings['two clients'] = Date.now() - t0;
    expect(outs.map((o) => o.runtime.split('.')[0])).toEqual(['v20', 'v24']);
    for (const o of outs) {
      console.log(`client on Node ${o.runtime}: task ${o.task} ${o.states.join(' → ')}; ${o.outcome}; files ${JSON.stringify(o.files)}`);
      expect(o).toMatchObject({ outcome: 'succeeded', exitCode: 0, ok: true });
      expect(o.states.at(-1)).toBe('done');
      expect(o.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(o.digest).toBe(o.chainDigest);
      expect(o.files).toEqual({ 'result.txt': '24133\n' }); // the sum of the first 100 primes
    }
    expect(outs[0].task).not.toBe(outs[1].task);
    doneTask = outs[0].task;
  }, 400_000);

  it("taskResult refuses bytes that are not the chain's result, says when there is none yet; waitForTask gives up at its timeout", async () => {
    expect(doneTask).not.toBe('');
    const client = new ZeusClient(api);
    // A node that serves something else under the result's digest: an archive of its own.
    const honest = await client.taskResult(doneTask);
    const forged = honest.archive.slice();
    forged[forged.length - 1024] ^= 1;
    const liar = createServer((_req, res) => res.end(forged));
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
      const refused = await client.taskResult(doneTask, { sources: [url] }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TaskResultError);
      expect(refused).toMatchObject({ code: 'DIGEST_MISMATCH', message: expect.stringContaining(honest.digest) });
      // The honest node after the liar: the result, from the honest one.
      expect((await client.taskResult(doneTask, { sources: [url, api] })).source).toBe(api);
    } finally {
      liar.close();
    }
    // A node (a worker's endpoint is the worker's choice) that starts an answer and never ends it, and
    // one that announces more than a result may be: each is given up, and the next node asked.
    const stalls = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).write(honest.archive.subarray(0, 100)));
    const floods = createServer((_req, res) => res.writeHead(200, { 'content-length': String(2 ** 31) }).write(new Uint8Array(1000)));
    await Promise.all([stalls, floods].map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))));
    try {
      const [stallUrl, floodUrl] = [stalls, floods].map((srv) => `http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
      const started = Date.now();
      const got = await client.taskResult(doneTask, { sources: [stallUrl, floodUrl, api], sourceTimeoutMs: 1500 });
      expect(got.source).toBe(api);
      expect(Date.now() - started).toBeLessThan(10_000);
      const none = await client.taskResult(doneTask, { sources: [stallUrl, floodUrl], sourceTimeoutMs: 1500 }).catch((e: unknown) => e);
      expect(none).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/within 2 s[\s\S]*over the 1024 MiB/) });
    } finally {
      stalls.closeAllConnections();
      floods.closeAllConnections();
      stalls.close();
      floods.close();
    }
    // A task still taking bids has no result, and waiting for it ends at the timeout with its state.
    const user = loadHomeKey(join(net, 'node0'), 'user', DEV_PASSPHRASE);
    const { id } = await client.postTask(user, {
      app: 'hello-wasm',
      runtime: 'wasm',
      memoryMiB: 64,
      cpuMillis: 500,
      maxPricePerHour: parseAmount('1', ZNC_DECIMALS),
      bidWindowBlocks: 200,
    });
    expect(await client.taskResult(id).catch((e: unknown) => e)).toMatchObject({ code: 'NO_RESULT' });
    const seen: string[] = [];
    const gaveUp = await client.waitForTask(id, { timeoutMs: 1500, pollMs: 200, onProgress: (t) => seen.push(t.state) }).catch((e: unknown) => e);
    expect(gaveUp).toBeInstanceOf(TaskWaitTimeout);
    expect((gaveUp as TaskWaitTimeout).task.state).toBe('open');
    expect(seen.length).toBeGreaterThan(1);
    await client.execute(user, Tx.cancelTask(id));
    expect((await client.waitForTask(id, { timeoutMs: 30_000 })).state).toBe('cancelled');
  }, 120_000);

  it("an app that fails on its own: taskResult gives its exit code and no files, waitForTask's outcome is failed", async () => {
    // The primes sample told to write outside /out: WASI refuses the path (ENOTCAPABLE) and the module exits with 76.
    writeFileSync(join(work, 'escape.wasm'), sampleModule('../escape.txt'));
    const home = join(net, 'node0');
    await zeus(
      '--home',
      home,
      '--node',
      api,
      '--json',
      'app',
      'publish',
      '--wasm',
      'escape.wasm',
      '--from',
      'developer',
      '--name',
      'escape',
      '--version',
      '1',
      '--wait',
    );
    const client = new ZeusClient(api);
    const user = loadHomeKey(home, 'user', DEV_PASSPHRASE);
    const spec = { app: 'escape', runtime: 'wasm', memoryMiB: 64, cpuMillis: 500, maxPricePerHour: parseAmount('1', ZNC_DECIMALS) } as const;
    const { id } = await client.postTask(user, spec);
    const ended = await client.waitForTask(id, { timeoutMs: 240_000 });
    expect(taskOutcome(ended)).toBe('failed');
    const r = await client.taskResult(id);
    expect(r).toMatchObject({ ok: false, exitCode: 76, appOutcome: { exitCode: 76, cause: '' }, source: '' });
    expect(r.files.size).toBe(0);
    expect(r.digest).toBe(ended.leases[r.lease].resultDigest);
  }, 300_000);
});
