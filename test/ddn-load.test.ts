import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage } from '../bench/ociImage.ts';
import { loadIntoDocker } from '../src/ddn/dockerLoad.ts';
import { ensureDockerd } from './helpers/docker.ts';
import { docker } from './helpers/worker.ts';

// Loading into the real Docker engine: the engine's own image id must match the verified
// manifest's config digest, and errors it reports inside its 200 stream fail the load.

const dir = mkdtempSync(join(tmpdir(), 'zeus-load-'));
const tags: string[] = [];

afterAll(() => {
  for (const t of tags) {
    try {
      docker('rmi', '-f', t);
    } catch {
      // not loaded
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

beforeAll(() => {
  ensureDockerd();
}, 90_000);

describe('loading a fetched image into Docker', () => {
  it('loads a multi-layer image and checks the engine agrees on its id', async () => {
    const img = await makeImage(join(dir, 'a'), 6, 3);
    const tag = `zeus-test/load-a:${process.pid}`;
    tags.push(tag);
    const id = await loadIntoDocker({ configDigest: img.config.digest, configFile: img.config.file, layerFiles: img.layers, repoTag: tag });
    expect(id).toBe(img.config.digest);
    expect(docker('image', 'inspect', '--format', '{{.Id}} {{len .RootFS.Layers}}', tag).trim()).toBe(`${img.config.digest} 3`);

    // The engine holds it now: a second load under another tag only tags it (the layer files
    // are gone, so a real load could not even be sent).
    for (const l of img.layers) rmSync(l.file);
    const again = `zeus-test/load-a:${process.pid}-again`;
    tags.push(again);
    expect(await loadIntoDocker({ configDigest: img.config.digest, configFile: img.config.file, layerFiles: img.layers, repoTag: again })).toBe(
      img.config.digest,
    );
    expect(docker('image', 'inspect', '--format', '{{.Id}}', again).trim()).toBe(img.config.digest);
  });

  it('fails when the engine reports an error inside its 200 stream, and when the ids differ', async () => {
    const img = await makeImage(join(dir, 'b'), 1, 1);
    const tag = `zeus-test/load-b:${process.pid}`;
    tags.push(tag);
    await expect(
      loadIntoDocker({ configDigest: `sha256:${'0'.repeat(64)}`, configFile: img.config.file, layerFiles: img.layers, repoTag: tag }),
    ).rejects.toThrow(/the verified manifest names config sha256:0000/);
    expect(() => docker('image', 'inspect', tag)).toThrow();
    const broken = await makeImage(join(dir, 'c'), 1, 1);
    writeFileSync(broken.layers[0].file, Buffer.alloc(4096, 7));
    await expect(
      loadIntoDocker({ configDigest: broken.config.digest, configFile: broken.config.file, layerFiles: broken.layers, repoTag: `${tag}-bad` }),
    ).rejects.toThrow(/the Docker engine refused the image: .*invalid tar header/);
  });
});
