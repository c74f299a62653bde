import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';

// Helpers for image-delivery benchmarks: a synthetic multi-layer OCI image written to disk, an
// OCI push over plain HTTP, and Debian's `docker-registry` (the CNCF distribution server) bound
// to 127.0.0.1 as the central-registry baseline.

export interface Blob {
  digest: `sha256:${string}`;
  size: number;
  mediaType: string;
  file: string;
}

export interface BenchImage {
  layers: Blob[];
  config: Blob;
  manifest: { bytes: Buffer; digest: `sha256:${string}`; mediaType: string };
  totalBytes: number;
}

/** A ustar header for one regular file. */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number): void => void h.write(s, off, len, 'ascii');
  put(name, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(`${size.toString(8).padStart(11, '0')}\0`, 124, 12);
  put('00000000000\0', 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** Writes a layer: a tar holding one file of random bytes (incompressible, like real payloads). */
async function writeLayer(file: string, name: string, bytes: number): Promise<Blob> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  const write = async (b: Buffer): Promise<void> => {
    hash.update(b);
    if (!out.write(b)) await once(out, 'drain');
  };
  await write(tarHeader(name, bytes));
  const chunk = 1 << 20;
  for (let done = 0; done < bytes; done += chunk) await write(randomBytes(Math.min(chunk, bytes - done)));
  const pad = (512 - (bytes % 512)) % 512;
  await write(Buffer.alloc(pad + 1024, 0));
  out.end();
  await once(out, 'finish');
  return { digest: `sha256:${hash.digest('hex')}`, size: statSync(file).size, mediaType: 'application/vnd.oci.image.layer.v1.tar', file };
}

/** A multi-layer OCI image of about `totalMiB` MiB in `dir`. */
export async function makeImage(dir: string, totalMiB: number, layerCount: number): Promise<BenchImage> {
  mkdirSync(dir, { recursive: true });
  const per = Math.floor((totalMiB * 1024 * 1024) / layerCount);
  const layers: Blob[] = [];
  for (let i = 0; i < layerCount; i++) layers.push(await writeLayer(join(dir, `layer${i}.tar`), `data/part${i}.bin`, per));
  const diffIds = layers.map((l) => l.digest);
  const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, configBytes);
  const config: Blob = {
    digest: `sha256:${createHash('sha256').update(configBytes).digest('hex')}`,
    size: configBytes.length,
    mediaType: 'application/vnd.oci.image.config.v1+json',
    file: configFile,
  };
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  return {
    layers,
    config,
    manifest: { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, mediaType },
    totalBytes: layers.reduce((s, l) => s + l.size, 0) + config.size + bytes.length,
  };
}

/** Pushes an image to an OCI registry: one monolithic upload per blob, then the manifest. */
export async function pushImage(base: string, repo: string, tag: string, image: BenchImage, authorization?: string): Promise<void> {
  const headers = (h: Record<string, string>): Record<string, string> => (authorization ? { ...h, authorization } : h);
  for (const blob of [image.config, ...image.layers]) {
    const head = await fetch(`${base}/v2/${repo}/blobs/${blob.digest}`, { method: 'HEAD', headers: headers({}) });
    if (head.ok) continue;
    const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: headers({}) });
    if (start.status !== 202) throw new Error(`upload start: ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get('location')!, base);
    location.searchParams.set('digest', blob.digest);
    const put = await fetch(location, {
      method: 'PUT',
      headers: headers({ 'content-type': 'application/octet-stream', 'content-length': String(blob.size) }),
      body: createReadStream(blob.file) as unknown as RequestInit['body'],
      duplex: 'half',
    } as RequestInit);
    if (put.status !== 201) throw new Error(`upload ${blob.digest}: ${put.status} ${await put.text()}`);
  }
  const put = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: headers({ 'content-type': image.manifest.mediaType }),
    body: image.manifest.bytes,
  });
  if (put.status !== 201) throw new Error(`manifest: ${put.status} ${await put.text()}`);
}

export interface CentralRegistry {
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Debian's docker-registry (distribution 2.8) serving `dataDir`, bound to 127.0.0.1. */
export async function startDockerRegistry(dataDir: string, port: number): Promise<CentralRegistry> {
  mkdirSync(dataDir, { recursive: true });
  const config = join(dataDir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dataDir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  // It logs every 404 of a HEAD probe as an error: keep its output out of the benchmark's.
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    process: child,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
  };
}

/** Pulls with skopeo (daemonless; verifies every blob's digest) into `dir`; resolves on success. */
export function skopeoPull(base: string, repo: string, tag: string, dir: string): Promise<void> {
  const child = spawn('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${base.replace(/^https?:\/\//, '')}/${repo}:${tag}`, `dir:${dir}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`skopeo: ${err.trim()}`)))));
}
