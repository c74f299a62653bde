// npm run bench:ddn [-- --mib 512 --layers 8 --fetchers 1,4,8 --rate-mib 25]
//
// Delivers one multi-layer image (512 MiB by default, random data, so nothing compresses) from
// a publishing origin to 1, 4 and 8 fetchers in two ways, with the same upload-rate cap on the
// origin (a rate-limiting TCP proxy in front of it, bench's only path to it):
//   (a) a central registry: Debian's docker-registry (the CNCF distribution server) on
//       127.0.0.1, every fetcher a `skopeo copy` (daemonless, verifies every blob's digest);
//   (b) DDN: the origin is a ZeusNet node holding the image in its registry; every fetcher is a
//       node told to fetch the image by its manifest digest (POST /ddn/images), pieces from the
//       origin and from each other, each piece verified on arrival.
// Reports, per run, the time until every fetcher holds the verified image, the origin's bytes
// sent (counted by the proxy) and the duplicate bytes (bytes delivered to fetchers beyond one
// copy each). Goal at 8 fetchers: DDN in at most a third of the registry's time, with at least
// 75 % of the delivered bytes served by peers rather than the origin.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import { Keystore } from '../src/crypto/index.ts';
import { createRegistryToken, type ImageJob } from '../src/ddn/index.ts';
import { freePort } from '../src/cli/devnet.ts';
import { DEV_PASSPHRASE } from '../src/node/index.ts';
import { Throttle } from '../test/helpers/throttle.ts';
import { machine } from './machine.ts';
import { makeImage, pushImage, skopeoPull, startDockerRegistry, type BenchImage } from './ociImage.ts';

const { values: args } = parseArgs({
  options: {
    mib: { type: 'string', default: '512' },
    layers: { type: 'string', default: '8' },
    fetchers: { type: 'string', default: '1,4,8' },
    'rate-mib': { type: 'string', default: '25' },
    out: { type: 'string', default: 'bench/results/ddn.json' },
  },
});
const MIB = Number(args.mib);
const LAYERS = Number(args.layers);
const COUNTS = args.fetchers!.split(',').map(Number);
const RATE = Number(args['rate-mib']) * 1024 * 1024;
const ROOT = new URL('..', import.meta.url).pathname;
const NODE = process.execPath;
const ZEUS = join(ROOT, 'bin', 'zeus.js');
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const work = mkdtempSync(join(tmpdir(), 'zeus-bench-ddn-'));
const env = { ...process.env, ZEUS_PASSPHRASE: DEV_PASSPHRASE, ZEUS_KEYSTORE_FAST_KDF: '1' };

interface Run {
  way: 'registry' | 'ddn';
  fetchers: number;
  seconds: number;
  originBytes: number;
  peerBytes: number;
  duplicateBytes: number;
  peerShare: number;
}

interface BenchNode {
  home: string;
  url: string;
  port: number;
  child: ChildProcess;
}

async function startZeusNode(name: string): Promise<BenchNode> {
  const home = join(work, name);
  const port = await freePort();
  const init = spawnSync(NODE, [ZEUS, '--home', home, '--json', 'init', '--dev', '--api', `127.0.0.1:${port}`, '--block-time', '1000'], {
    env,
    encoding: 'utf8',
  });
  if (init.status !== 0) throw new Error(`zeus init: ${init.stderr}`);
  const child = spawn(NODE, [ZEUS, '--home', home, 'node', 'start'], { env, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/status`)).ok) return { home, url, port, child };
    } catch {
      // starting
    }
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not answer`);
}

async function stopNodes(nodes: BenchNode[]): Promise<void> {
  await Promise.all(
    nodes.map(async (n) => {
      if (n.child.exitCode === null) {
        n.child.kill('SIGTERM');
        await once(n.child, 'exit');
      }
      rmSync(n.home, { recursive: true, force: true });
    }),
  );
}

async function registryRun(image: BenchImage, n: number, origin: Throttle): Promise<Run> {
  origin.bytes = 0;
  const dirs = Array.from({ length: n }, (_, i) => join(work, `skopeo-${n}-${i}`));
  const t0 = performance.now();
  await Promise.all(dirs.map((d) => skopeoPull(origin.url, 'bench/app', 'v1', d)));
  const seconds = (performance.now() - t0) / 1000;
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  return {
    way: 'registry',
    fetchers: n,
    seconds,
    originBytes: origin.bytes,
    peerBytes: 0,
    duplicateBytes: Math.max(0, origin.bytes - n * image.totalBytes),
    peerShare: 0,
  };
}

async function ddnRun(image: BenchImage, n: number, origin: BenchNode, originThrottle: Throttle, digest: string): Promise<Run> {
  const fetchers: BenchNode[] = [];
  for (let i = 0; i < n; i++) fetchers.push(await startZeusNode(`fetcher-${n}-${i}`));
  originThrottle.bytes = 0;
  const served = async (url: string): Promise<number> => ((await (await fetch(`${url}/ddn/stats`)).json()) as { bytesServed: number }).bytesServed;
  const originServedBefore = await served(origin.url);
  const t0 = performance.now();
  await Promise.all(
    fetchers.map(async (f) => {
      const peers = [originThrottle.url, ...fetchers.filter((x) => x !== f).map((x) => x.url)];
      const res = await fetch(`${f.url}/ddn/images`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ repository: 'bench/app', digest, peers }),
      });
      if (res.status >= 300) throw new Error(`fetch start: ${res.status} ${await res.text()}`);
      for (;;) {
        const job = (await (await fetch(`${f.url}/ddn/images/${digest}`)).json()) as ImageJob;
        if (job.state === 'failed') throw new Error(`${f.url}: ${job.error?.code}: ${job.error?.message}`);
        if (job.state === 'done') return;
        await new Promise((r) => setTimeout(r, 100));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const originPieces = (await served(origin.url)) - originServedBefore;
  let peerBytes = 0;
  for (const f of fetchers) peerBytes += await served(f.url);
  await stopNodes(fetchers);
  const delivered = originPieces + peerBytes;
  const blobBytes = image.totalBytes - image.manifest.bytes.length;
  return {
    way: 'ddn',
    fetchers: n,
    seconds,
    originBytes: originThrottle.bytes,
    peerBytes,
    duplicateBytes: Math.max(0, delivered - n * blobBytes),
    peerShare: delivered > 0 ? peerBytes / delivered : 0,
  };
}

async function main(): Promise<void> {
  log(`building a ${MIB} MiB image of ${LAYERS} layers in ${work}…`);
  const image = await makeImage(join(work, 'image'), MIB, LAYERS);
  const runs: Run[] = [];

  log('(a) central registry: docker-registry on 127.0.0.1 behind the rate cap, skopeo fetchers');
  const regPort = await freePort();
  const registry = await startDockerRegistry(join(work, 'registry'), regPort);
  await pushImage(`http://127.0.0.1:${regPort}`, 'bench/app', 'v1', image);
  const regThrottle = await Throttle.start(regPort, RATE);
  for (const n of COUNTS) {
    const r = await registryRun(image, n, regThrottle);
    runs.push(r);
    log(`  ${n} fetcher(s): ${r.seconds.toFixed(1)} s, origin sent ${(r.originBytes / 2 ** 20).toFixed(0)} MiB`);
  }
  await regThrottle.close();
  await registry.stop();

  log('(b) DDN: a ZeusNet node as origin behind the same rate cap, fetcher nodes sharing pieces');
  const origin = await startZeusNode('origin');
  const info = (await (await fetch(`${origin.url}/v2/_auth/info`)).json()) as { audience: string };
  const ks = new Keystore(join(origin.home, 'keys'));
  const alice = ks.load('alice', DEV_PASSPHRASE);
  const token = createRegistryToken(alice, { audience: info.audience, nowMs: Date.now(), ttlSeconds: 3600 });
  await pushImage(origin.url, 'bench/app', 'v1', image, `Basic ${Buffer.from(`${ks.show('alice').address}:${token}`).toString('base64')}`);
  // The publisher builds the piece maps when it publishes (as `zeus app publish` does).
  for (const b of [image.config, ...image.layers]) if (!(await fetch(`${origin.url}/ddn/blobs/${b.digest}/pieces`)).ok) throw new Error('no piece map');
  const originThrottle = await Throttle.start(origin.port, RATE);
  for (const n of COUNTS) {
    const r = await ddnRun(image, n, origin, originThrottle, image.manifest.digest);
    runs.push(r);
    log(`  ${n} fetcher(s): ${r.seconds.toFixed(1)} s, origin sent ${(r.originBytes / 2 ** 20).toFixed(0)} MiB, peers ${(100 * r.peerShare).toFixed(0)} %`);
  }
  await originThrottle.close();
  await stopNodes([origin]);

  const at = (way: Run['way'], n: number): Run | undefined => runs.find((r) => r.way === way && r.fetchers === n);
  const max = Math.max(...COUNTS);
  const reg = at('registry', max);
  const ddn = at('ddn', max);
  const goals = {
    [`DDN at ${max} fetchers in at most a third of the registry's time`]: !!reg && !!ddn && ddn.seconds <= reg.seconds / 3,
    [`at least 75 % of the bytes from peers at ${max} fetchers`]: !!ddn && ddn.peerShare >= 0.75,
  };
  const out = {
    benchmark: 'ddn',
    command: `npm run bench:ddn -- --mib ${MIB} --layers ${LAYERS} --fetchers ${COUNTS.join(',')} --rate-mib ${args['rate-mib']}`,
    machine: machine(),
    imageBytes: image.totalBytes,
    originRateBytesPerSecond: RATE,
    runs: runs.map((r) => ({ ...r, seconds: Number(r.seconds.toFixed(2)), peerShare: Number(r.peerShare.toFixed(3)) })),
    goals,
  };
  writeFileSync(args.out!, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  rmSync(work, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  log(String((e as Error).stack ?? e));
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
});
