import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDockerd } from './helpers/docker.ts';
import { docker } from './helpers/worker.ts';
import { zeus as zeusIn } from './helpers/processes.ts';

// An app's image from its developer to other nodes, on a devnet of three bookkeeper processes:
// `zeus app publish IMAGE` pushes a multi-layer image (built FROM scratch with busybox) from the
// local Docker engine into node0's registry, builds its piece maps and records the manifest
// digest on the chain; `zeus image pull APP@VERSION` on node2 has node2 fetch it by pieces from
// its peers, checks it against the chain's digest and loads it into Docker, where it runs; then
// node1 fetches it too, with pieces from node2 as well as node0. A version whose digest no peer
// can back is refused.

const dir = mkdtempSync(join(tmpdir(), 'zeus-ddn-image-'));
const devnet = join(dir, 'net');
const home = (i: number): string => join(devnet, `node${i}`);
const IMAGE = `zeus-test/ddn-image:${process.pid}`;
const cleanup: string[] = [IMAGE];
let api: string[] = [];

function ok(r: { code: number; out: string; err: string }): string {
  expect(r.code, `${r.err}\n${r.out}`).toBe(0);
  return r.out;
}

const zeus = (i: number, ...args: string[]) => zeusIn(home(i), '--node', api[i], ...args);

beforeAll(() => {
  ensureDockerd();
  // Two data layers of 6 MiB (two pieces each) over busybox.
  const ctx = join(dir, 'ctx');
  mkdirSync(ctx);
  copyFileSync('/bin/busybox', join(ctx, 'busybox'));
  writeFileSync(join(ctx, 'a.bin'), randomBytes(6 * 1024 * 1024));
  writeFileSync(join(ctx, 'b.bin'), randomBytes(6 * 1024 * 1024));
  writeFileSync(
    join(ctx, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'COPY a.bin /data/a.bin',
      'COPY b.bin /data/b.bin',
      'CMD ["/bin/busybox", "sh", "-c", "echo hello from ddn; /bin/busybox wc -c /data/a.bin"]',
      '',
    ].join('\n'),
  );
  docker('build', '-q', '-t', IMAGE, ctx);
  const r = zeusIn(join(dir, 'unused'), 'devnet', 'start', '--workers', '0', '--dir', devnet, '--validators', '3', '--block-time', '500');
  expect(r.code, r.err).toBe(0);
  api = (JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8')) as { nodes: { api: string }[] }).nodes.map((n) => n.api);
}, 180_000);

afterAll(() => {
  zeusIn(join(dir, 'unused'), 'devnet', 'stop', '--dir', devnet);
  for (const t of cleanup) {
    try {
      docker('rmi', '-f', t);
    } catch {
      // not there
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('images through the Docker Deliver Network', () => {
  let digest = '';

  it('publishes an image: pushed to the node, piece maps built, digest on the chain', () => {
    const r = zeus(0, '--json', 'app', 'publish', IMAGE, '--from', 'alice', '--name', 'hello', '--version', '1.0', '--license-fee', '0.01', '--wait');
    const out = JSON.parse(ok(r)) as { digest: string };
    digest = out.digest;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.err).toMatch(/piece map 3\/4/);
    const app = JSON.parse(ok(zeus(1, '--json', 'app', 'show', 'hello'))) as { versions: { version: string; digest: string }[] };
    expect(app.versions[0]).toMatchObject({ version: '1.0', digest });
    docker('rmi', '-f', IMAGE);
  }, 120_000);

  it('pulls it on another node from its peers, verified against the chain, and runs it', () => {
    const r = zeus(2, '--json', 'image', 'pull', 'hello@1.0', '--tag', `${IMAGE}-pulled`);
    cleanup.push(`${IMAGE}-pulled`);
    const out = JSON.parse(ok(r)) as { digest: string; image: string; origin: string; progress: { blobs: number; bytesTotal: number } };
    expect(out.digest).toBe(digest);
    expect(out.origin).toBe(api[0]);
    expect(out.progress.blobs).toBe(4);
    expect(docker('run', '--rm', `${IMAGE}-pulled`)).toBe('hello from ddn\n6291456 /data/a.bin\n');
  }, 120_000);

  it('a third node gets pieces from the node that fetched before it, not only from the publisher', async () => {
    const before = (await (await fetch(`${api[2]}/ddn/stats`)).json()) as { piecesServed: number };
    const r = zeus(1, '--json', 'image', 'pull', 'hello@1.0', '--no-load');
    ok(r);
    const after = (await (await fetch(`${api[2]}/ddn/stats`)).json()) as { piecesServed: number };
    expect(after.piecesServed).toBeGreaterThan(before.piecesServed);
  }, 120_000);

  it('refuses a version whose manifest digest no peer can back', () => {
    ok(zeus(0, 'app', 'publish', '--from', 'alice', '--name', 'hello', '--version', '2.0', '--digest', `sha256:${'ab'.repeat(32)}`, '--wait'));
    const r = zeus(2, 'image', 'pull', 'hello@2.0');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/MANIFEST_UNAVAILABLE: no peer served manifest sha256:abab/);
  }, 60_000);
});
