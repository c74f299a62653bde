import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import tar from 'tar-stream';
import type { Digest } from '../ddn/index.ts';
import { client, globalOptions, nodeUrl, output, type GlobalOptions } from './context.ts';
import { signedToken } from './registryCommands.ts';

// Images on the Docker Deliver Network from the command line: publishing pushes an image from
// the local Docker engine into the local node's registry (Docker does the push, with a token
// signed by the publisher's key, in a private Docker config so the user's is left alone), and
// pulling has the local node fetch it from its peers by pieces, then loads it into Docker,
// refusing anything whose manifest digest is not the one the chain records.

// The DDN and worker parts (dockerode, fastify) load when a command here runs, not with every run of the CLI.
const ddnPart = (): Promise<typeof import('../ddn/index.ts')> => import('../ddn/index.ts');
const workerPart = (): Promise<typeof import('../worker/index.ts')> => import('../worker/index.ts');

/** Progress goes to stderr, so stdout stays the answer (JSON with --json). */
const progress = (line: string): void => void process.stderr.write(`${line}\n`);

function run(cmd: string, args: string[], onLine: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const l of d.toString().split('\n')) if (l.trim()) onLine(l.trim());
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new Error(`${cmd} failed to start: ${e.message} (is it installed?)`)));
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.slice(2, 4).join(' ')} failed: ${err.trim() || out.trim().split('\n').pop()}`)),
    );
  });
}

/**
 * Pushes `image` (a name the local Docker engine knows) to the node's registry as
 * `repository:tag`; returns the manifest digest the registry stored.
 */
export async function pushToNode(g: GlobalOptions, from: string, image: string, repository: string, tag: string): Promise<Digest> {
  const node = nodeUrl(g);
  const host = new URL(node).host;
  const { address, token } = await signedToken(g, node, from, 3600);
  const config = mkdtempSync(join(tmpdir(), 'zeus-docker-'));
  try {
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${address}:${token}`).toString('base64') } } }), {
      mode: 0o600,
    });
    const target = `${host}/${repository}:${tag}`;
    await run('docker', ['--config', config, 'tag', image, target], () => undefined);
    progress(`pushing ${image} to ${target}…`);
    const out = await run('docker', ['--config', config, 'push', target], (l) => progress(`  ${l}`));
    const m = /digest: (sha256:[0-9a-f]{64})/.exec(out);
    if (!m) throw new Error(`docker push did not report a digest:\n${out}`);
    await run('docker', ['--config', config, 'rmi', target], () => undefined).catch(() => undefined);
    return m[1] as Digest;
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}

/** Writes the files of a tar stream under `dir` (names kept inside it); resolves with the names. */
async function extractTo(stream: NodeJS.ReadableStream, dir: string): Promise<Set<string>> {
  const names = new Set<string>();
  const extract = tar.extract();
  extract.on('entry', (h, entry, next) => {
    const name = normalize(h.name);
    if (h.type !== 'file' || name.startsWith('..') || name.startsWith('/')) {
      entry.resume();
      entry.on('end', next);
      return;
    }
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    names.add(name);
    pipeline(entry, createWriteStream(join(dir, name))).then(() => next(), next);
  });
  await pipeline(stream, extract);
  return names;
}

/** sha256 and size of a file, read as a stream. */
async function fileDigest(file: string): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return { digest: `sha256:${hash.digest('hex')}` as Digest, size: statSync(file).size };
}

/**
 * Pushes `image` to the node's registry as `repository:tag` from this process, without the Docker
 * engine doing the push: the image is read from the engine (`docker save`, over its socket), and
 * its config and layers go up over the registry API, the layers as the uncompressed tars the engine
 * keeps, under an OCI manifest. For a node the engine cannot reach or would not push to over plain
 * HTTP (any node off 127.0.0.0/8 without `insecure-registries`): publishing to a node of a real
 * network from a developer's machine. Returns the manifest digest.
 */
export async function pushFromEngine(g: GlobalOptions, from: string, image: string, repository: string, tag: string): Promise<Digest> {
  const [{ MediaType, newDockerClient }, { digestOf, uploadBlob, uploadStreamedBlob }] = await Promise.all([ddnPart(), workerPart()]);
  const node = nodeUrl(g);
  const { address, token } = await signedToken(g, node, from, 3600);
  const authorization = `Basic ${Buffer.from(`${address}:${token}`).toString('base64')}`;
  const dir = mkdtempSync(join(tmpdir(), 'zeus-push-'));
  try {
    const saved = await newDockerClient()
      .getImage(image)
      .get()
      .catch((e: unknown) => {
        throw new Error(`the Docker engine cannot export ${image}: ${(e as Error).message}`);
      });
    const names = await extractTo(saved, dir);
    if (!names.has('manifest.json')) throw new Error(`the Docker engine's export of ${image} has no manifest.json`);
    const [entry] = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
    const inside = (f: string): string => {
      const n = normalize(f);
      if (!names.has(n)) throw new Error(`the Docker engine's export of ${image} names ${f}, which it does not hold`);
      return join(dir, n);
    };
    const configBytes = readFileSync(inside(entry.Config));
    progress(`pushing ${image} to ${node}/v2/${repository}:${tag} (${entry.Layers.length} layer(s), uncompressed)…`);
    const layers: { mediaType: string; digest: Digest; size: number }[] = [];
    for (const l of entry.Layers) {
      const file = inside(l);
      const { digest, size } = await fileDigest(file);
      await uploadStreamedBlob(node, authorization, repository, { digest, size, chunks: () => createReadStream(file) }, `layer of ${image}`);
      progress(`  layer ${digest} (${size} bytes)`);
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size });
    }
    const configDigest = await uploadBlob(node, authorization, repository, configBytes, `config of ${image}`);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBytes.length },
        layers,
      }),
    );
    const res = await fetch(`${node}/v2/${repository}/manifests/${tag}`, {
      method: 'PUT',
      headers: { authorization, 'content-type': MediaType.OciManifest },
      body: manifest,
    });
    if (!res.ok) throw new Error(`the registry refused the manifest of ${repository}:${tag} (HTTP ${res.status}: ${await res.text()})`);
    return digestOf(manifest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A one-file tar (the layer of a wasm app), made in memory. */
function tarOfFile(name: string, bytes: Uint8Array): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  // mtime 0: the same module always makes the same layer, and so the same manifest digest.
  pack.entry({ name, mode: 0o644, mtime: new Date(0) }, Buffer.from(bytes));
  pack.finalize();
  return done;
}

/**
 * Pushes a WASI module to the node's registry as a one-layer OCI image, without Docker: the
 * layer holds /app.wasm, the config labels it as the module and carries its arguments as CMD.
 * What a developer with no Docker engine (and the devnet on such a machine) publishes.
 */
export async function pushWasmModule(
  g: GlobalOptions,
  from: string,
  module: Uint8Array,
  repository: string,
  tag: string,
  args: string[] = [],
): Promise<Digest> {
  if (module.length < 8 || module[0] !== 0 || module[1] !== 0x61 || module[2] !== 0x73 || module[3] !== 0x6d)
    throw new Error('not a WebAssembly module (no \\0asm magic)');
  const [{ MediaType }, { digestOf, MODULE_LABEL, uploadBlob }] = await Promise.all([ddnPart(), workerPart()]);
  const node = nodeUrl(g);
  const { address, token } = await signedToken(g, node, from, 600);
  const authorization = `Basic ${Buffer.from(`${address}:${token}`).toString('base64')}`;
  const layer = await tarOfFile('app.wasm', module);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'wasm',
      os: 'wasip1',
      config: { Labels: { [MODULE_LABEL]: '/app.wasm', 'org.zeusnet.runtime': 'wasm' }, ...(args.length ? { Cmd: args } : {}) },
      rootfs: { type: 'layers', diff_ids: [digestOf(layer)] },
    }),
  );
  const layerDigest = await uploadBlob(node, authorization, repository, layer, 'module layer');
  const configDigest = await uploadBlob(node, authorization, repository, config, 'image config');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    }),
  );
  const res = await fetch(`${node}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { authorization, 'content-type': MediaType.OciManifest },
    body: manifest,
  });
  if (!res.ok) throw new Error(`the registry refused the manifest of ${repository}:${tag} (HTTP ${res.status}: ${await res.text()})`);
  progress(`pushed the wasm module (${module.length} bytes) as ${repository}:${tag}`);
  return digestOf(manifest);
}

/** Has the node compute the piece map of every blob of a pushed image (what fetchers verify pieces with). */
export async function preparePieceMaps(g: GlobalOptions, repository: string, digest: Digest): Promise<number> {
  const node = nodeUrl(g);
  const res = await fetch(`${node}/v2/${repository}/manifests/${digest}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  if (!res.ok) throw new Error(`the node does not hold ${repository}@${digest} (HTTP ${res.status})`);
  const doc = (await res.json()) as { config?: { digest: string }; layers?: { digest: string }[] };
  const blobs = [doc.config?.digest, ...(doc.layers ?? []).map((l) => l.digest)].filter((d): d is string => !!d);
  for (const [i, d] of blobs.entries()) {
    const r = await fetch(`${node}/ddn/blobs/${d}/pieces`);
    if (!r.ok) throw new Error(`the node could not build the piece map of ${d} (HTTP ${r.status})`);
    const map = (await r.json()) as { pieces: string[] };
    progress(`  piece map ${i + 1}/${blobs.length}: ${d.slice(0, 19)}… ${map.pieces.length} piece(s)`);
  }
  return blobs.length;
}

function bar(done: number, total: number, width = 24): string {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  return `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${(f * 100).toFixed(0).padStart(3)}%`;
}

const mib = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MiB`;

export function register(program: Command): void {
  const image = program.command('image').description("Images on the Docker Deliver Network: fetch an app's image through the peers and load it into Docker");
  image
    .command('pull')
    .description(
      "Fetch APP@VERSION's image through the local node from its DDN peers (pieces from many at once, each verified), check it against the manifest digest on the chain, and load it into the local Docker engine",
    )
    .argument('<app@version>', 'a published app version, e.g. render@1.0.0')
    .option('--peers <urls>', "comma-separated API URLs of nodes to fetch from (default: the node's configured DDN peers)")
    .option('--tag <name:tag>', 'name the loaded image gets (default: APP:VERSION)')
    .option('--no-load', 'fetch into the node only; do not load into Docker')
    .action(async (ref: string, o: { peers?: string; tag?: string; load: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const { fetchImageThroughNode, isDigest, loadFetchedImage } = await ddnPart();
      const at = ref.lastIndexOf('@');
      if (at <= 0 || at === ref.length - 1) throw new Error(`expected APP@VERSION, got "${ref}"`);
      const [name, version] = [ref.slice(0, at), ref.slice(at + 1)];
      const app = await client(g).app(name);
      const v = app.versions.find((x) => x.version === version);
      if (!v) throw new Error(`app ${name} has no version ${version} on the chain (versions: ${app.versions.map((x) => x.version).join(', ') || 'none'})`);
      if (!isDigest(v.digest)) throw new Error(`the chain records an invalid digest for ${ref}: ${v.digest}`);
      if (v.deprecated) progress(`note: ${ref} is deprecated`);
      const digest = v.digest as Digest;
      const node = nodeUrl(g);
      const peers = o.peers
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      progress(`fetching ${ref} (${digest}) through ${node}…`);
      const t0 = Date.now();
      const job = await fetchImageThroughNode(
        node,
        { repository: name, digest, ...(peers ? { peers } : {}) },
        {
          onProgress: ({ progress: p }) => {
            if (process.stderr.isTTY) {
              process.stderr.write(
                `\r  ${bar(p.bytesDone, p.bytesTotal)} ${mib(p.bytesDone)}/${mib(p.bytesTotal)}  blobs ${p.blobsDone}/${p.blobs}  pieces ${p.piecesDone}/${p.piecesTotal}  peers ${p.peers}  `,
              );
            }
          },
        },
      );
      if (process.stderr.isTTY) process.stderr.write('\n');
      const p = job.progress;
      progress(
        `  fetched ${p.blobs} blob(s), ${mib(p.bytesTotal)} in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${mib(p.bytesFromOrigin)} from the origin${job.origin ? ` (${job.origin})` : ''}, the rest from peers`,
      );
      // The CLI runs beside its node: it reads the verified blobs from the node's store.
      const id = o.load ? await loadFetchedImage(g.home, job, o.tag ?? `${name}:${version}`) : undefined;
      output(
        g,
        {
          app: name,
          version,
          digest,
          manifest: job.manifest,
          image: id ?? null,
          tag: o.load ? (o.tag ?? `${name}:${version}`) : null,
          progress: job.progress,
          origin: job.origin ?? null,
        },
        () =>
          o.load
            ? `loaded ${o.tag ?? `${name}:${version}`} (image ${id}) — manifest ${digest} as on the chain`
            : `fetched ${ref} into the node (manifest ${digest})`,
      );
    });
}
