import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup } from './helpers/processes.ts';
import {
  credentials,
  errorCode,
  RegistryClient,
  sha256,
  startRegistryNode,
  utf8,
  withQuery,
  type OciDescriptor,
  type RegistryAnswer,
  type RegistryNode,
} from './helpers/registry.ts';

// The OCI distribution-spec conformance suite (github.com/opencontainers/distribution-spec,
// folder conformance/, Go + Ginkgo) ported to TypeScript against a real node process, because
// this machine has no Go toolchain. Each `it` names the suite file and the Ginkgo spec it ports;
// the expectations are the suite's, status for status. The test data mirrors setup.go: unique
// config blobs per workflow, one gzip layer, a 42-byte blob A (streamed), a 42-byte blob B
// (chunked 22 + 20), and the artifacts with a `subject` for the referrers API. As the suite does
// with OCI_USERNAME/OCI_PASSWORD, every request carries the credentials (here Basic
// address:token, what `docker login` stores); the four workflows share one namespace and run in
// the suite's order: pull, push, content discovery, content management.

const spec = (file: string, title: string): string => `${title}  [conformance/${file}]`;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ERROR_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'MANIFEST_UNVERIFIED',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'TAG_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
];

// --- test data (setup.go) ---
const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64');
interface Blob {
  content: Uint8Array;
  digest: string;
}
const blob = (bytes: Uint8Array): Blob => ({ content: new Uint8Array(bytes), digest: sha256(bytes) });
const descriptor = (mediaType: string, b: Blob): { mediaType: string; size: number; digest: string } => ({
  mediaType,
  size: b.content.length,
  digest: b.digest,
});
const json = (v: unknown): Uint8Array => utf8(JSON.stringify(v, null, '\t'));

const configs = Array.from({ length: 5 }, () =>
  blob(json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, author: randomBytes(12).toString('base64url') })),
);
const layer = blob(gzipSync(utf8('you bothered to find out what was in here. Congratulations!\n')));
const layerDescriptor = descriptor('application/vnd.oci.image.layer.v1.tar+gzip', layer);
const configDescriptor = (c: Blob): Record<string, unknown> => ({
  ...descriptor('application/vnd.oci.image.config.v1+json', c),
  data: b64(c.content), // must be the config content
  newUnspecifiedField: b64('hello world'), // a registry must keep fields it does not know
});
const manifests = configs.map((c) => blob(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDescriptor(c), layers: [layerDescriptor] })));
const emptyLayerManifest = blob(json({ schemaVersion: 2, config: configDescriptor(configs[1]), layers: [] }));
const nonexistentManifest = '.INVALID_MANIFEST_NAME';
const invalidManifestContent = utf8('blablabla');
const testBlobA = blob(randomBytes(42));
const testBlobB = blob(randomBytes(42));
const chunk1 = testBlobB.content.subarray(0, 22);
const chunk2 = testBlobB.content.subarray(22);
const chunk1Range = `0-${chunk1.length - 1}`;
const chunk2Range = `${chunk1.length}-${testBlobB.content.length - 1}`;
const dummyDigest = sha256('hello world');

const emptyJSON = blob(utf8('{}'));
const emptyJSONDescriptor = descriptor('application/vnd.oci.empty.v1+json', emptyJSON);
const refBlobA = blob(utf8('the referrers API finds what points at an image'));
const refBlobB = blob(utf8('and it finds it by the subject field'));
const artifactTypeA = 'application/vnd.zeusnet.test.signature';
const artifactTypeB = 'application/vnd.zeusnet.test.sbom';
const annotationKey = 'org.opencontainers.conformance.test';
const subjectOf = (m: Blob): Record<string, unknown> => descriptor(OCI_MANIFEST, m);
const refsManifestAConfigArtifact = blob(
  json({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptor(artifactTypeA, refBlobA),
    subject: subjectOf(manifests[4]),
    layers: [emptyJSONDescriptor],
    annotations: { [annotationKey]: 'test config a' },
  }),
);
const refsManifestBConfigArtifact = blob(
  json({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptor(artifactTypeB, refBlobB),
    subject: subjectOf(manifests[4]),
    layers: [emptyJSONDescriptor],
    annotations: { [annotationKey]: 'test config b' },
  }),
);
const refsManifestALayerArtifact = blob(
  json({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: artifactTypeA,
    config: emptyJSONDescriptor,
    subject: subjectOf(manifests[4]),
    layers: [descriptor(artifactTypeA, refBlobA)],
    annotations: { [annotationKey]: 'test layer a' },
  }),
);
const refsManifestBLayerArtifact = blob(
  json({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: artifactTypeB,
    config: emptyJSONDescriptor,
    subject: subjectOf(manifests[4]),
    layers: [descriptor(artifactTypeB, refBlobB)],
    annotations: { [annotationKey]: 'test layer b' },
  }),
);
// Like B, but its subject (manifests[3]) is not pushed in this workflow.
const refsManifestCLayerArtifact = blob(
  json({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: artifactTypeB,
    config: emptyJSONDescriptor,
    subject: subjectOf(manifests[3]),
    layers: [descriptor(artifactTypeB, refBlobB)],
  }),
);
const refsIndexArtifact = blob(
  json({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    artifactType: 'application/vnd.food.stand',
    manifests: [descriptor(OCI_MANIFEST, refsManifestAConfigArtifact), descriptor(OCI_MANIFEST, refsManifestALayerArtifact)],
    subject: subjectOf(manifests[4]),
    annotations: { [annotationKey]: 'test index' },
  }),
);
const annotationValues: Record<string, string> = {
  [refsManifestAConfigArtifact.digest]: 'test config a',
  [refsManifestBConfigArtifact.digest]: 'test config b',
  [refsManifestALayerArtifact.digest]: 'test layer a',
  [refsManifestBLayerArtifact.digest]: 'test layer b',
  [refsIndexArtifact.digest]: 'test index',
};

// Under the pusher's own address: a namespace nobody owns takes no deletes (docs/DDN.md), and the
// suite deletes. The cross-mount target stays a name of its own, to mount into an open namespace.
let NAME = '';
const CROSSMOUNT = `conformance-${randomUUID()}`;

let r: RegistryNode;
let client: RegistryClient;

beforeAll(async () => {
  r = await startRegistryNode('zeus-ddn-conf-');
  const alice = await credentials(r, 'alice', 3600);
  NAME = `${alice.address}/oci-test`;
  client = new RegistryClient(r.url, alice);
});
afterAll(cleanup);

const req = (method: string, path: string, o: { headers?: Record<string, string>; body?: Uint8Array | string } = {}): Promise<RegistryAnswer> =>
  client.request(method, path.replace('<name>', NAME), o);
const octets = { 'content-type': 'application/octet-stream' };
const is2xx = (s: number): boolean => s >= 200 && s < 300;
/** Setup steps: POST for a session, then PUT the blob with ?digest= (the suite's monolithic upload). */
async function populateBlob(b: Blob): Promise<void> {
  const post = await req('POST', '/v2/<name>/blobs/uploads/');
  const put = await req('PUT', withQuery(post.header('location')!, { digest: b.digest }), { headers: octets, body: b.content });
  expect(is2xx(put.status), put.text).toBe(true);
}
async function populateManifest(reference: string, m: Blob, mediaType = OCI_MANIFEST): Promise<RegistryAnswer> {
  const put = await req('PUT', `/v2/<name>/manifests/${reference}`, { headers: { 'content-type': mediaType }, body: m.content });
  expect(is2xx(put.status), put.text).toBe(true);
  return put;
}
const deleteAccepted = (a: RegistryAnswer, ...also: number[]): void =>
  expect(is2xx(a.status) || [405, ...also].includes(a.status), `${a.status} ${a.text}`).toBe(true);

describe('Base API route', () => {
  it(spec('01_base_api_route_test.go', 'GET request to base API route must return 200 response'), async () => {
    const a = await req('GET', '/v2/');
    expect(a.status).toBe(200);
    expect(a.header('docker-distribution-api-version')).toBe('registry/2.0');
  });
});

describe('Pull', () => {
  const F = '01_pull_test.go';
  const tag = 'tagtest0';

  describe('Setup', () => {
    it(spec(F, 'Populate registry with test blob (configs[0], configs[1])'), async () => {
      await populateBlob(configs[0]);
      await populateBlob(configs[1]);
    });
    it(spec(F, 'Populate registry with test layer'), () => populateBlob(layer));
    it(spec(F, 'Populate registry with test manifest (manifests[0] by tag, manifests[1] by digest)'), async () => {
      await populateManifest(tag, manifests[0]);
      await populateManifest(manifests[1].digest, manifests[1]);
    });
  });

  describe('Pull blobs', () => {
    it(spec(F, 'HEAD request to nonexistent blob should result in 404 response'), async () => {
      expect((await req('HEAD', `/v2/<name>/blobs/${dummyDigest}`)).status).toBe(404);
    });
    it(spec(F, 'HEAD request to existing blob should yield 200'), async () => {
      const a = await req('HEAD', `/v2/<name>/blobs/${configs[0].digest}`);
      expect(a.status).toBe(200);
      expect(a.header('docker-content-digest')).toBe(configs[0].digest);
      expect(a.header('content-length')).toBe(String(configs[0].content.length));
    });
    it(spec(F, 'GET nonexistent blob should result in 404 response'), async () => {
      expect((await req('GET', `/v2/<name>/blobs/${dummyDigest}`)).status).toBe(404);
    });
    it(spec(F, 'GET request to existing blob URL should yield 200'), async () => {
      const a = await req('GET', `/v2/<name>/blobs/${configs[0].digest}`);
      expect(a.status).toBe(200);
      expect(a.body).toEqual(configs[0].content);
    });
  });

  describe('Pull manifests', () => {
    it(spec(F, 'HEAD request to nonexistent manifest should return 404'), async () => {
      expect((await req('HEAD', `/v2/<name>/manifests/${nonexistentManifest}`)).status).toBe(404);
    });
    for (const i of [0, 1]) {
      it(spec(F, `HEAD request to manifest[${i}] path (digest) should yield 200 response`), async () => {
        const a = await req('HEAD', `/v2/<name>/manifests/${manifests[i].digest}`, { headers: { accept: OCI_MANIFEST } });
        expect(a.status).toBe(200);
        expect(a.header('docker-content-digest')).toBe(manifests[i].digest);
        expect(a.header('content-type')).toBe(OCI_MANIFEST);
        expect(a.header('content-length')).toBe(String(manifests[i].content.length));
      });
    }
    it(spec(F, 'HEAD request to manifest path (tag) should yield 200 response'), async () => {
      const a = await req('HEAD', `/v2/<name>/manifests/${tag}`, { headers: { accept: OCI_MANIFEST } });
      expect(a.status).toBe(200);
      expect(a.header('docker-content-digest')).toBe(manifests[0].digest);
    });
    it(spec(F, 'GET nonexistent manifest should return 404'), async () => {
      expect((await req('GET', `/v2/<name>/manifests/${nonexistentManifest}`)).status).toBe(404);
    });
    for (const i of [0, 1]) {
      it(spec(F, `GET request to manifest[${i}] path (digest) should yield 200 response`), async () => {
        const a = await req('GET', `/v2/<name>/manifests/${manifests[i].digest}`, { headers: { accept: OCI_MANIFEST } });
        expect(a.status).toBe(200);
        expect(a.body).toEqual(manifests[i].content);
      });
    }
    it(spec(F, 'GET request to manifest path (tag) should yield 200 response'), async () => {
      const a = await req('GET', `/v2/<name>/manifests/${tag}`, { headers: { accept: OCI_MANIFEST } });
      expect(a.status).toBe(200);
      expect(a.body).toEqual(manifests[0].content);
    });
  });

  describe('Error codes', () => {
    it(spec(F, '400 response body should contain OCI-conforming JSON message'), async () => {
      const a = await req('GET', '/v2/<name>/manifests/sha256:totallywrong', { headers: { 'content-type': OCI_MANIFEST }, body: invalidManifestContent });
      expect([400, 404]).toContain(a.status);
      if (a.status === 400) expect(ERROR_CODES).toContain(errorCode(a));
    });
    it(spec('07_error_codes_test.go', '400 response body should contain OCI-conforming JSON message (PUT)'), async () => {
      const a = await req('PUT', '/v2/<name>/manifests/sha256:totallywrong', { headers: { 'content-type': OCI_MANIFEST }, body: invalidManifestContent });
      expect(a.status).toBe(400);
      expect(ERROR_CODES).toContain(errorCode(a));
    });
  });

  describe('Teardown', () => {
    it(spec(F, 'Delete manifest[0] and manifest[1] created in setup'), async () => {
      for (const m of [manifests[0], manifests[1]]) deleteAccepted(await req('DELETE', `/v2/<name>/manifests/${m.digest}`));
    });
    it(spec(F, 'Delete config[0], config[1] and layer blob created in setup'), async () => {
      for (const b of [configs[0], configs[1], layer]) deleteAccepted(await req('DELETE', `/v2/<name>/blobs/${b.digest}`), 404);
    });
  });
});

describe('Push', () => {
  const F = '02_push_test.go';
  let last: RegistryAnswer;
  let prev: RegistryAnswer;
  let emptyLayerLocation = '';

  describe('Blob Upload Streamed', () => {
    it(spec(F, 'PATCH request with blob in body should yield 202 response'), async () => {
      const post = await req('POST', '/v2/<name>/blobs/uploads/');
      expect(post.header('location')).toBeTruthy();
      last = await req('PATCH', post.header('location')!, { headers: octets, body: testBlobA.content });
      expect(last.status).toBe(202);
      expect(last.header('range')).toBe(`0-${testBlobA.content.length - 1}`);
    });
    it(spec(F, 'PUT request to session URL with digest should yield 201 response'), async () => {
      const a = await req('PUT', withQuery(last.header('location')!, { digest: testBlobA.digest }), { headers: octets });
      expect(a.status).toBe(201);
      expect(a.header('location')).toBeTruthy();
    });
  });

  describe('Blob Upload Monolithic', () => {
    it(spec(F, 'GET nonexistent blob should result in 404 response'), async () => {
      expect((await req('GET', `/v2/<name>/blobs/${dummyDigest}`)).status).toBe(404);
    });
    it(spec(F, 'POST request with digest and blob should yield a 201 or 202'), async () => {
      last = await req('POST', withQuery('/v2/<name>/blobs/uploads/', { digest: configs[1].digest }), { headers: octets, body: configs[1].content });
      expect(last.header('location')).toBeTruthy();
      expect([201, 202]).toContain(last.status);
    });
    it(spec(F, 'GET request to blob URL from prior request should yield 200 or 404 based on response code'), async () => {
      const a = await req('GET', `/v2/<name>/blobs/${configs[1].digest}`);
      expect(a.status).toBe(last.status === 202 ? 404 : 200);
    });
    it(spec(F, 'POST request should yield a session ID'), async () => {
      last = await req('POST', '/v2/<name>/blobs/uploads/');
      expect(last.status).toBe(202);
      expect(last.header('docker-upload-uuid')).toMatch(/^[0-9a-f-]{36}$/);
      expect(last.header('location')).toContain(last.header('docker-upload-uuid'));
    });
    it(spec(F, 'PUT upload of a blob should yield a 201 Response'), async () => {
      const a = await req('PUT', withQuery(last.header('location')!, { digest: configs[1].digest }), { headers: octets, body: configs[1].content });
      expect(a.header('location')).toBeTruthy();
      expect(a.status).toBe(201);
    });
    it(spec(F, 'GET request to existing blob should yield 200 response'), async () => {
      expect((await req('GET', `/v2/<name>/blobs/${configs[1].digest}`)).status).toBe(200);
    });
    it(spec(F, 'PUT upload of a layer blob should yield a 201 Response'), async () => {
      const post = await req('POST', '/v2/<name>/blobs/uploads/');
      const a = await req('PUT', withQuery(post.header('location')!, { digest: layer.digest }), { headers: octets, body: layer.content });
      expect(a.header('location')).toBeTruthy();
      expect(a.status).toBe(201);
    });
    it(spec(F, 'GET request to existing layer should yield 200 response'), async () => {
      const a = await req('GET', `/v2/<name>/blobs/${layer.digest}`);
      expect(a.status).toBe(200);
      expect(a.body).toEqual(layer.content);
    });
  });

  describe('Blob Upload Chunked', () => {
    it(spec(F, 'Out-of-order blob upload should return 416'), async () => {
      const post = await req('POST', '/v2/<name>/blobs/uploads/', { headers: { 'content-length': '0' } });
      expect(post.header('location')).toBeTruthy();
      // No OCI-Chunk-Min-Length: this registry takes chunks of any size.
      expect(post.header('oci-chunk-min-length')).toBeUndefined();
      const a = await req('PATCH', post.header('location')!, { headers: { ...octets, 'content-range': chunk2Range }, body: chunk2 });
      expect(a.status).toBe(416);
    });
    it(spec(F, 'PATCH request with first chunk should return 202'), async () => {
      prev = await req('POST', '/v2/<name>/blobs/uploads/', { headers: { 'content-length': '0' } });
      expect(prev.header('location')).toBeTruthy();
      last = await req('PATCH', prev.header('location')!, { headers: { ...octets, 'content-range': chunk1Range }, body: chunk1 });
      expect(last.status).toBe(202);
      expect(last.header('range')).toBe(chunk1Range);
    });
    it(spec(F, 'Retry previous blob chunk should return 416'), async () => {
      const a = await req('PATCH', prev.header('location')!, { headers: { ...octets, 'content-range': chunk1Range }, body: chunk1 });
      expect(a.status).toBe(416);
    });
    it(spec(F, 'Get on stale blob upload should return 204 with a range and location'), async () => {
      last = await req('GET', prev.header('location')!);
      expect(last.status).toBe(204);
      expect(last.header('location')).toBeTruthy();
      expect(last.header('range')).toBe(chunk1Range);
    });
    it(spec(F, 'PATCH request with second chunk should return 202'), async () => {
      last = await req('PATCH', last.header('location')!, { headers: { ...octets, 'content-range': chunk2Range }, body: chunk2 });
      expect(last.status).toBe(202);
      expect(last.header('location')).toBeTruthy();
    });
    it(spec(F, 'PUT request with digest should return 201'), async () => {
      const a = await req('PUT', withQuery(last.header('location')!, { digest: testBlobB.digest }), { headers: { ...octets, 'content-length': '0' } });
      expect(a.status).toBe(201);
      expect(a.header('location')).toBeTruthy();
      expect((await req('GET', a.header('location')!)).body).toEqual(testBlobB.content);
    });
    it(spec('04_blob_upload_chunked_test.go', 'PUT request with final chunk should return 201'), async () => {
      const post = await req('POST', '/v2/<name>/blobs/uploads/', { headers: { 'content-length': '0' } });
      const patch = await req('PATCH', post.header('location')!, { headers: { ...octets, 'content-range': chunk1Range }, body: chunk1 });
      expect(patch.status).toBe(202);
      const a = await req('PUT', withQuery(patch.header('location')!, { digest: testBlobB.digest }), {
        headers: { ...octets, 'content-range': chunk2Range },
        body: chunk2,
      });
      expect(a.status).toBe(201);
      expect(a.header('location')).toBeTruthy();
    });
  });

  describe('Cross-Repository Blob Mount', () => {
    it(spec(F, 'Cross-mounting of a blob without the from argument should yield session id'), async () => {
      const a = await req('POST', withQuery(`/v2/${CROSSMOUNT}/blobs/uploads/`, { mount: dummyDigest }));
      expect(a.status).toBe(202);
      expect(a.header('location')).toBeTruthy();
    });
    it(spec(F, "POST request to mount another repository's blob should return 201 or 202"), async () => {
      last = await req('POST', withQuery(`/v2/${CROSSMOUNT}/blobs/uploads/`, { mount: testBlobA.digest, from: NAME }));
      expect([201, 202]).toContain(last.status);
      // This registry mounts what the source repository holds.
      expect(last.status).toBe(201);
    });
    it(spec(F, 'GET request to test digest within cross-mount namespace should return 200'), async () => {
      expect(last.header('location')).toBe(`/v2/${CROSSMOUNT}/blobs/${testBlobA.digest}`);
      const a = await req('GET', last.header('location')!);
      expect(a.status).toBe(200);
      expect(a.body).toEqual(testBlobA.content);
    });
    it(spec(F, 'Cross-mounting without from, and automatic content discovery disabled should return a 202'), async () => {
      const a = await req('POST', withQuery(`/v2/${CROSSMOUNT}/blobs/uploads/`, { mount: testBlobA.digest }));
      expect(a.status).toBe(202);
    });
  });

  describe('Manifest Upload', () => {
    it(spec(F, 'GET nonexistent manifest should return 404'), async () => {
      expect((await req('GET', `/v2/<name>/manifests/${nonexistentManifest}`)).status).toBe(404);
    });
    it(spec(F, 'PUT should accept a manifest upload'), async () => {
      for (let i = 0; i < 4; i++) {
        const a = await req('PUT', `/v2/<name>/manifests/test${i}`, { headers: { 'content-type': OCI_MANIFEST }, body: manifests[1].content });
        expect(a.header('location')).toBeTruthy();
        expect(a.status).toBe(201);
        expect(a.header('docker-content-digest')).toBe(manifests[1].digest);
      }
    });
    it(spec(F, 'Registry should accept a manifest upload with no layers'), async () => {
      const a = await req('PUT', '/v2/<name>/manifests/emptylayer', { headers: { 'content-type': OCI_MANIFEST }, body: emptyLayerManifest.content });
      expect(a.status).toBe(201);
      emptyLayerLocation = a.header('location')!;
      expect(emptyLayerLocation).toBeTruthy();
    });
    it(spec(F, 'GET request to manifest URL (digest) should yield 200 response'), async () => {
      const a = await req('GET', `/v2/<name>/manifests/${manifests[1].digest}`, { headers: { accept: OCI_MANIFEST } });
      expect(a.status).toBe(200);
      expect(a.body).toEqual(manifests[1].content);
    });
  });

  describe('Teardown', () => {
    it(spec(F, 'Delete manifest created in tests'), async () => {
      deleteAccepted(await req('DELETE', `/v2/<name>/manifests/${manifests[1].digest}`));
      if (emptyLayerLocation) deleteAccepted(await req('DELETE', `/v2/<name>/manifests/${emptyLayerManifest.digest}`));
    });
    it(spec(F, 'Delete config blob created in tests'), async () => {
      deleteAccepted(await req('DELETE', `/v2/<name>/blobs/${configs[1].digest}`), 404);
    });
    it(spec(F, 'Delete layer blob created in setup'), async () => {
      deleteAccepted(await req('DELETE', `/v2/<name>/blobs/${layer.digest}`), 404);
    });
  });
});

describe('Content Discovery', () => {
  const F = '03_discovery_test.go';
  const tagtest0 = 'tagtest0';
  let numTags = 4;
  let tagList: string[] = [];

  describe('Setup', () => {
    it(spec(F, 'Populate registry with test blob'), () => populateBlob(configs[2]));
    it(spec(F, 'Populate registry with test layer'), () => populateBlob(layer));
    it(spec(F, 'Populate registry with test tags'), async () => {
      for (let i = 0; i < numTags; i++) await populateManifest(`test${i}`, manifests[2]);
      tagList = (await req('GET', '/v2/<name>/tags/list')).json.tags as string[];
    });
    it(spec(F, 'References setup'), async () => {
      expect(emptyJSONDescriptor.digest).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
      await populateBlob(emptyJSON);
      await populateBlob(refBlobA); // before the image manifest is pushed
      expect((await populateManifest(refsManifestAConfigArtifact.digest, refsManifestAConfigArtifact)).header('oci-subject')).toBe(manifests[4].digest);
      expect((await populateManifest(refsManifestALayerArtifact.digest, refsManifestALayerArtifact)).header('oci-subject')).toBe(manifests[4].digest);
      expect((await populateManifest(refsIndexArtifact.digest, refsIndexArtifact, OCI_INDEX)).header('oci-subject')).toBe(manifests[4].digest);
      await populateBlob(configs[4]);
      await populateBlob(layer);
      await populateManifest(tagtest0, manifests[4]);
      await populateBlob(refBlobB); // after the image manifest is pushed
      expect((await populateManifest(refsManifestBConfigArtifact.digest, refsManifestBConfigArtifact)).header('oci-subject')).toBe(manifests[4].digest);
      expect((await populateManifest(refsManifestBLayerArtifact.digest, refsManifestBLayerArtifact)).header('oci-subject')).toBe(manifests[4].digest);
      // a subject that was never pushed
      expect((await populateManifest(refsManifestCLayerArtifact.digest, refsManifestCLayerArtifact)).header('oci-subject')).toBe(manifests[3].digest);
    });
  });

  describe('Test content discovery endpoints (listing tags)', () => {
    it(spec(F, 'GET request to list tags should yield 200 response'), async () => {
      const a = await req('GET', '/v2/<name>/tags/list');
      expect(a.status).toBe(200);
      expect(a.json.name).toBe(NAME);
      tagList = a.json.tags as string[];
      numTags = tagList.length;
      expect(tagList).toEqual([...tagList].sort());
      expect(tagList).toEqual(expect.arrayContaining(['test0', 'test1', 'test2', 'test3', tagtest0]));
    });
    it(spec(F, 'GET number of tags should be limitable by `n` query parameter'), async () => {
      const numResults = Math.floor(numTags / 2);
      const a = await req('GET', withQuery('/v2/<name>/tags/list', { n: String(numResults) }));
      expect(a.status).toBe(200);
      expect(a.json.tags).toHaveLength(numResults);
    });
    it(spec(F, 'GET start of tag is set by `last` query parameter'), async () => {
      const numResults = Math.floor(numTags / 2);
      const first = (await req('GET', withQuery('/v2/<name>/tags/list', { n: String(numResults) }))).json.tags as string[];
      const a = await req('GET', withQuery('/v2/<name>/tags/list', { n: String(numResults), last: first[numResults - 1] }));
      expect(a.status).toBe(200);
      const next = a.json.tags as string[];
      expect(next.length).toBeLessThanOrEqual(numResults);
      // Beyond the suite (spec "Listing Tags"): the page starts strictly after `last`.
      expect(next).toEqual(tagList.slice(numResults, numResults * 2));
    });
  });

  describe('Test content discovery endpoints (listing references)', () => {
    const index = (a: RegistryAnswer): OciDescriptor[] => {
      expect(a.status).toBe(200);
      expect(a.header('content-type')).toBe(OCI_INDEX);
      return a.json.manifests!;
    };
    it(spec(F, 'GET request to nonexistent blob should result in empty 200 response'), async () => {
      expect(index(await req('GET', `/v2/<name>/referrers/${dummyDigest}`))).toHaveLength(0);
    });
    it(spec(F, 'GET request to existing blob should yield 200'), async () => {
      const m = index(await req('GET', `/v2/<name>/referrers/${manifests[4].digest}`));
      expect(m).toHaveLength(5);
      expect(m[0].digest).not.toBe(m[1].digest);
      for (const d of m) {
        expect(Object.keys(d.annotations ?? {})).toHaveLength(1);
        expect(d.annotations?.[annotationKey]).toBe(annotationValues[d.digest]);
      }
    });
    it(spec(F, 'GET request to existing blob with filter should yield 200'), async () => {
      const a = await req('GET', withQuery(`/v2/<name>/referrers/${manifests[4].digest}`, { artifactType: artifactTypeA }));
      const m = index(a);
      expect(a.header('oci-filters-applied')).toBe('artifactType');
      expect(m).toHaveLength(2);
      for (const d of m) expect(d.annotations?.[annotationKey]).toBe(annotationValues[d.digest]);
    });
    it(spec(F, 'GET request to missing manifest should yield 200'), async () => {
      const m = index(await req('GET', `/v2/<name>/referrers/${manifests[3].digest}`));
      expect(m.map((d) => d.digest)).toEqual([refsManifestCLayerArtifact.digest]);
    });
  });

  describe('Teardown', () => {
    it(spec(F, 'Delete created manifest & associated tags'), async () => {
      for (const ref of [
        refsIndexArtifact.digest,
        manifests[2].digest,
        manifests[4].digest,
        refsManifestAConfigArtifact.digest,
        refsManifestALayerArtifact.digest,
        tagtest0,
        refsManifestBConfigArtifact.digest,
        refsManifestBLayerArtifact.digest,
        refsManifestCLayerArtifact.digest,
      ]) {
        deleteAccepted(await req('DELETE', `/v2/<name>/manifests/${ref}`), 404);
      }
    });
    it(spec(F, 'Delete config blob created in tests'), async () => {
      deleteAccepted(await req('DELETE', `/v2/<name>/blobs/${configs[2].digest}`));
    });
    it(spec(F, 'Delete layer blob created in setup'), async () => {
      deleteAccepted(await req('DELETE', `/v2/<name>/blobs/${layer.digest}`));
    });
    it(spec(F, 'References teardown'), async () => {
      for (const b of [configs[4], refBlobA, refBlobB, emptyJSON]) deleteAccepted(await req('DELETE', `/v2/<name>/blobs/${b.digest}`), 404);
    });
  });
});

describe('Content Management', () => {
  const F = '04_management_test.go';
  const tagToDelete = 'tagtest0';
  let numTags = 0;
  let blobDeleteAllowed = true;

  describe('Setup', () => {
    it(spec(F, 'Populate registry with test config blob'), () => populateBlob(configs[3]));
    it(spec(F, 'Populate registry with test layer'), () => populateBlob(layer));
    it(spec(F, 'Populate registry with test tag'), async () => {
      await populateManifest(tagToDelete, manifests[3]);
    });
    it(spec(F, 'Check how many tags there are before anything gets deleted'), async () => {
      const a = await req('GET', '/v2/<name>/tags/list');
      expect(a.status).toBe(200);
      numTags = (a.json.tags as string[]).length;
    });
  });

  describe('Manifest delete', () => {
    it(spec(F, 'DELETE request to manifest tag should return 202, unless tag deletion is disallowed (400/405)'), async () => {
      const a = await req('DELETE', `/v2/<name>/manifests/${tagToDelete}`);
      expect([400, 202, 405]).toContain(a.status);
      if (a.status === 400) expect(errorCode(a)).toBe('UNSUPPORTED');
      expect(a.status).toBe(202);
    });
    it(spec(F, 'DELETE request to manifest (digest) should yield 202 response unless already deleted'), async () => {
      expect([202, 404]).toContain((await req('DELETE', `/v2/<name>/manifests/${manifests[3].digest}`)).status);
    });
    it(spec(F, 'GET request to deleted manifest URL should yield 404 response, unless delete is disallowed'), async () => {
      expect((await req('GET', `/v2/<name>/manifests/${manifests[3].digest}`)).status).toBe(404);
    });
    it(spec(F, 'GET request to tags list should reflect manifest deletion'), async () => {
      const a = await req('GET', '/v2/<name>/tags/list');
      expect(a.status).toBe(200);
      expect((a.json.tags as string[]).length).toBeLessThan(numTags);
    });
  });

  describe('Blob delete', () => {
    it(spec(F, 'DELETE request to blob URL should yield 202 response'), async () => {
      expect([202, 404, 405]).toContain((await req('DELETE', `/v2/<name>/blobs/${configs[3].digest}`)).status);
      const a = await req('DELETE', `/v2/<name>/blobs/${layer.digest}`);
      expect([202, 404, 405]).toContain(a.status);
      blobDeleteAllowed = a.status !== 405;
    });
    it(spec(F, 'GET request to deleted blob URL should yield 404 response'), async () => {
      expect(blobDeleteAllowed).toBe(true);
      expect((await req('GET', `/v2/<name>/blobs/${configs[3].digest}`)).status).toBe(404);
    });
  });

  describe('Error codes', () => {
    it(spec('07_error_codes_test.go', 'Response from DELETE request to manifest URL (tag) should have OCI-conforming code'), async () => {
      const a = await req('DELETE', `/v2/<name>/manifests/${tagToDelete}`);
      expect(a.status).toBe(404);
      expect(ERROR_CODES).toContain(errorCode(a));
    });
  });
});
