import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerInstalled, ensureDockerd } from './helpers/docker.ts';
import { api, cleanup, initDevHome, startNode, zeus } from './helpers/processes.ts';
import { buildBusyboxImage, docker } from './helpers/worker.ts';

// `zeus app publish IMAGE --direct`: the CLI pushes the image over the registry API itself (read
// from the engine as `docker save` does) instead of having the Docker engine push it — how a
// developer publishes to a node the engine cannot reach or will not push to over plain HTTP
// (test/market-hosts.test.ts does so across network hosts). Here on loopback: the manifest on the
// node names the engine's own config and uncompressed layers, the chain records its digest, and the
// image pulled back through the node runs.

const IMAGE = `zeus-test/publish-direct:${process.pid}`;
const PULLED = `zeus-test/publish-direct-pulled:${process.pid}`;
let home = '';
let url = '';
let dir = '';

describe.skipIf(!dockerInstalled())('zeus app publish --direct', () => {
  beforeAll(async () => {
    ensureDockerd();
    const h = await initDevHome({ blockTimeMs: 200, prefix: 'zeus-publish-direct-' });
    ({ home, dir } = h);
    buildBusyboxImage(IMAGE, dir, 'echo direct push');
    url = (await startNode(home)).url;
  }, 120_000);
  afterAll(async () => {
    await cleanup();
    for (const i of [IMAGE, PULLED]) {
      try {
        docker('rmi', i);
      } catch {
        // not there
      }
    }
  });

  it("pushes the engine's config and layers over the registry API and records the manifest's digest", async () => {
    const r = zeus(home, '--node', url, '--json', 'app', 'publish', IMAGE, '--direct', '--from', 'alice', '--name', 'direct', '--version', '1.0', '--wait');
    expect(r.code, r.err).toBe(0);
    const { digest } = JSON.parse(r.out) as { digest: string };
    const res = await fetch(`${url}/v2/direct/manifests/${digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(digest);
    const manifest = JSON.parse(bytes.toString('utf8')) as { mediaType: string; config: { digest: string }; layers: { digest: string; mediaType: string }[] };
    const inspected = JSON.parse(docker('image', 'inspect', IMAGE))[0] as { Id: string; RootFS: { Layers: string[] } };
    // The engine's own image: its id is the config's digest, its layers' diff ids the layers' digests (uncompressed).
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.config.digest).toBe(inspected.Id);
    expect(manifest.layers.map((l) => l.digest)).toEqual(inspected.RootFS.Layers);
    expect(new Set(manifest.layers.map((l) => l.mediaType))).toEqual(new Set(['application/vnd.oci.image.layer.v1.tar']));
    const app = await api<{ versions: { version: string; digest: string }[] }>(url, 'GET', '/apps/direct');
    expect(app.json.versions).toEqual([expect.objectContaining({ version: '1.0', digest })]);

    // Pulled back through the node into the engine under another name, it runs.
    docker('rmi', IMAGE);
    const pulled = zeus(home, '--node', url, 'image', 'pull', 'direct@1.0', '--tag', PULLED);
    expect(pulled.code, pulled.err).toBe(0);
    expect(docker('run', '--rm', '--network', 'none', PULLED).trim()).toBe('direct push');
  }, 120_000);

  it('refuses --direct without an image, and names an image the engine does not have', () => {
    const without = zeus(
      home,
      '--node',
      url,
      'app',
      'publish',
      '--direct',
      '--digest',
      `sha256:${'a'.repeat(64)}`,
      '--from',
      'alice',
      '--name',
      'x',
      '--version',
      '1',
    );
    expect(without.code).not.toBe(0);
    expect(without.err).toMatch(/--direct goes with an IMAGE/);
    const missing = zeus(home, '--node', url, 'app', 'publish', 'zeus-test/no-such-image:0', '--direct', '--from', 'alice', '--name', 'x', '--version', '1');
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/the Docker engine cannot export zeus-test\/no-such-image:0/);
  });
});
