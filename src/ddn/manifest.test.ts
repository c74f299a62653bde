import { describe, expect, it } from 'vitest';
import { RegistryError } from './errors.ts';
import { MediaType, readManifest } from './manifest.ts';
import { isRepositoryName, isTag, parseDigest } from './names.ts';

const D = `sha256:${'a'.repeat(64)}`;
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const code = (f: () => unknown): string => {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return e instanceof RegistryError ? e.code : String(e);
  }
};

describe('names, tags and digests (OCI distribution spec grammar)', () => {
  it('accepts what the spec allows and nothing that could leave the store', () => {
    for (const n of ['a', 'library/ubuntu', 'a.b_c__d---e/f0', 'x/y/z']) expect(isRepositoryName(n), n).toBe(true);
    for (const n of ['', '..', 'a/..', 'a/../b', '.a', 'a.', 'A', 'a//b', '/a', 'a/', 'a___b', 'a%2e', 'a b', 'a:b', '_a', 'a'.repeat(256)]) {
      expect(isRepositoryName(n), n).toBe(false);
    }
    for (const t of ['latest', 'v1.0.0', '_x', 'A-b_c.d', 'x'.repeat(128)]) expect(isTag(t), t).toBe(true);
    for (const t of ['', '.x', '-x', 'a/b', 'x'.repeat(129), '..']) expect(isTag(t), t).toBe(false);
    expect(parseDigest(D)).toBe(D);
    expect(code(() => parseDigest(`sha512:${'a'.repeat(128)}`))).toBe('DIGEST_INVALID');
    expect(() => parseDigest(`sha512:${'a'.repeat(128)}`)).toThrow(/not supported/);
    for (const d of ['sha256:totallywrong', `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, 'sha256', ''])
      expect(
        code(() => parseDigest(d)),
        d,
      ).toBe('DIGEST_INVALID');
  });
});

describe('readManifest', () => {
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D, size: 2 };
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'b'.repeat(64)}`, size: 10 };

  it('reads the blobs of an image and the manifests of an index, keeping unknown fields', () => {
    const m = readManifest(enc({ schemaVersion: 2, config: { ...config, data: 'e30=', newField: 1 }, layers: [layer] }), MediaType.OciManifest);
    expect(m.kind).toBe('image');
    expect(m.blobs.map((b) => b.digest)).toEqual([D, layer.digest]);
    expect(m.artifactType).toBe(config.mediaType);
    const foreign = { ...layer, mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' };
    expect(
      readManifest(enc({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config, layers: [foreign] }), MediaType.DockerManifest).blobs,
    ).toHaveLength(1);
    const i = readManifest(
      enc({ schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [{ ...config, mediaType: MediaType.DockerManifest }] }),
      `${MediaType.DockerManifestList}; charset=utf-8`,
    );
    expect([i.kind, i.manifests.length]).toEqual(['index', 1]);
  });

  it('refuses what is not a v2 image manifest or index', () => {
    const bad: [unknown, string | undefined][] = [
      ['blablabla', MediaType.OciManifest],
      [[], MediaType.OciManifest],
      [{ schemaVersion: 1, config, layers: [] }, MediaType.OciManifest],
      [{ schemaVersion: 2, config, layers: [] }, 'application/json'],
      [{ schemaVersion: 2, mediaType: MediaType.OciIndex, config, layers: [] }, MediaType.OciManifest],
      [{ schemaVersion: 2, config, layers: [] }, MediaType.DockerManifest],
      [{ schemaVersion: 2, layers: [] }, MediaType.OciManifest],
      [{ schemaVersion: 2, config: { ...config, digest: 'sha256:short' }, layers: [] }, MediaType.OciManifest],
      [{ schemaVersion: 2, config: { ...config, size: -1 }, layers: [] }, MediaType.OciManifest],
      [{ schemaVersion: 2, config, layers: [{ ...layer, mediaType: 'not a media type' }] }, MediaType.OciManifest],
      [{ schemaVersion: 2, config, layers: {} }, MediaType.OciManifest],
      [{ schemaVersion: 2, manifests: [config], config }, MediaType.OciIndex],
      [{ schemaVersion: 2, config, layers: [], annotations: { a: 1 } }, MediaType.OciManifest],
    ];
    for (const [doc, type] of bad)
      expect(
        code(() => readManifest(enc(doc), type)),
        JSON.stringify(doc),
      ).toBe('MANIFEST_INVALID');
  });
});
