import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryToken, registryAudience } from '../src/ddn/index.ts';
import { generateKeyPair } from '../src/crypto/index.ts';
import { cleanup, loadDevKeys, postOversized, sleep, zeus } from './helpers/processes.ts';
import {
  credentials,
  errorCode,
  RegistryClient,
  sha256,
  startRegistryNode,
  utf8,
  withQuery,
  type Credentials,
  type OciJson,
  type RegistryAnswer,
  type RegistryNode,
} from './helpers/registry.ts';

// Everything a registry client can get wrong, sent to a real node: wrong and unsupported digests,
// truncated, interrupted and oversized uploads, malformed manifests and manifests missing their
// blobs, names that try to leave the store, ranges beyond the end, chunks out of order, pushes
// without or with forged credentials. Each gets the OCI error code and status the spec gives it;
// afterwards every image pushed before still pulls byte for byte, and every file the store would
// serve hashes to its name.

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
// Under alice's own address: the namespace is hers on every node (docs/DDN.md).
let GOOD = '';

let r: RegistryNode;
let alice: Credentials;
let bob: Credentials;
let a: RegistryClient;
let anonymous: RegistryClient;
const config = utf8(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
const layers = [randomBytes(3000), randomBytes(70_000)].map((b) => new Uint8Array(b));
const descriptor = (mediaType: string, b: Uint8Array) => ({ mediaType, digest: sha256(b), size: b.length });
const imageManifest = (cfg: Uint8Array, ls: Uint8Array[], extra: Record<string, unknown> = {}): Uint8Array =>
  utf8(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptor('application/vnd.oci.image.config.v1+json', cfg),
      layers: ls.map((l) => descriptor('application/vnd.oci.image.layer.v1.tar', l)),
      ...extra,
    }),
  );
const goodManifest = imageManifest(config, layers);
let bigBlob: Uint8Array;

beforeAll(async () => {
  r = await startRegistryNode('zeus-ddn-bad-');
  alice = await credentials(r, 'alice');
  bob = await credentials(r, 'bob');
  GOOD = `${alice.address}/good`;
  a = new RegistryClient(r.url, alice);
  anonymous = new RegistryClient(r.url);
  for (const b of [config, ...layers]) await a.pushBlob(GOOD, b);
  expect((await a.pushManifest(GOOD, 'v1', goodManifest, OCI_MANIFEST)).status).toBe(201);
});
afterAll(cleanup);

function expectOci(res: RegistryAnswer, status: number, code: string, message?: RegExp): void {
  const what = `${status} ${code} expected, got ${res.status}: ${res.text.slice(0, 300)}`;
  expect(res.status, what).toBe(status);
  expect(res.header('content-type'), what).toMatch(/^application\/json/);
  expect(errorCode(res), what).toBe(code);
  expect(String(res.json.errors![0].message).length, what).toBeGreaterThan(0);
  if (message) expect(res.json.errors![0].message, what).toMatch(message);
}

async function startUpload(name = GOOD): Promise<string> {
  const post = await a.request('POST', `/v2/${name}/blobs/uploads/`);
  expect(post.status, post.text).toBe(202);
  return post.header('location')!;
}

describe('wrong and unsupported digests', () => {
  it('a monolithic upload whose bytes do not match ?digest= is refused and leaves nothing', async () => {
    const body = utf8('these bytes are not what the digest says');
    const claimed = sha256('something else entirely');
    expectOci(await a.request('POST', withQuery(`/v2/${GOOD}/blobs/uploads/`, { digest: claimed }), { body }), 400, 'DIGEST_INVALID', /not sha256:/);
    for (const d of [claimed, sha256(body)]) expect((await anonymous.request('HEAD', `/v2/${GOOD}/blobs/${d}`)).status).toBe(404);
  });

  it('digests of other algorithms or of the wrong shape are refused with the reason', async () => {
    const loc = await startUpload();
    expectOci(await a.request('PUT', withQuery(loc, { digest: `sha512:${'a'.repeat(128)}` }), { body: 'x' }), 400, 'DIGEST_INVALID', /sha512.*not supported/);
    expectOci(await a.request('PUT', withQuery(loc, { digest: 'sha256:xyz' }), { body: 'x' }), 400, 'DIGEST_INVALID', /64 lowercase hex/);
    expectOci(await a.request('PUT', loc, { body: 'x' }), 400, 'DIGEST_INVALID', /needs \?digest=/);
    expectOci(await anonymous.request('GET', `/v2/${GOOD}/blobs/sha256:${'A'.repeat(64)}`), 400, 'DIGEST_INVALID');
    expectOci(await anonymous.request('GET', `/v2/${GOOD}/blobs/md5:d41d8cd98f00b204e9800998ecf8427e`), 400, 'DIGEST_INVALID', /md5/);
  });

  it('a manifest pushed by a digest that is not its own is refused', async () => {
    expectOci(await a.pushManifest(GOOD, sha256('another manifest'), goodManifest, OCI_MANIFEST), 400, 'DIGEST_INVALID', /not sha256:/);
  });
});

describe('truncated, interrupted and oversized uploads', () => {
  it('a truncated upload (PUT names the digest of the whole blob) is discarded, never served', async () => {
    const whole = new Uint8Array(randomBytes(5000));
    const loc = await startUpload();
    const patch = await a.request('PATCH', loc, { body: whole.subarray(0, 2500) });
    expect(patch.status).toBe(202);
    expect(patch.header('range')).toBe('0-2499');
    expectOci(
      await a.request('PUT', withQuery(loc, { digest: sha256(whole) }), { headers: { 'content-length': '0' } }),
      400,
      'DIGEST_INVALID',
      /2500 uploaded bytes/,
    );
    expectOci(await a.request('GET', loc), 404, 'BLOB_UPLOAD_UNKNOWN');
    expect((await anonymous.request('HEAD', `/v2/${GOOD}/blobs/${sha256(whole)}`)).status).toBe(404);
    expect((await anonymous.request('HEAD', `/v2/${GOOD}/blobs/${sha256(whole.subarray(0, 2500))}`)).status).toBe(404);
  });

  it('a chunk cut off by a client that goes away is dropped; the upload resumes from the last good chunk', async () => {
    const loc = await startUpload();
    expect((await a.request('PATCH', loc, { body: 'first chunk|' })).status).toBe(202);
    await new Promise<void>((resolve) => {
      const { hostname, port } = new URL(r.url);
      const req = httpRequest({ host: hostname, port, method: 'PATCH', path: loc, headers: { authorization: alice.basic, 'content-length': '100000' } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(30_000, 1));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
    let status: RegistryAnswer | undefined;
    for (let i = 0; i < 50; i++) {
      status = await a.request('GET', loc);
      if (status.header('range') === '0-11') break;
      await sleep(50);
    }
    expect(status?.status).toBe(204);
    expect(status?.header('range')).toBe('0-11');
    const done = await a.request('PUT', withQuery(loc, { digest: sha256('first chunk|second chunk') }), {
      headers: { 'content-range': '12-23' },
      body: 'second chunk',
    });
    expect(done.status, done.text).toBe(201);
  });

  it('a Content-Range that disagrees with the body is refused and cut back off', async () => {
    const loc = await startUpload();
    expectOci(await a.request('PATCH', loc, { headers: { 'content-range': '0-99' }, body: 'only ten b' }), 400, 'SIZE_INVALID');
    expectOci(await a.request('PATCH', loc, { headers: { 'content-range': 'bytes 0-x' }, body: 'abc' }), 400, 'BLOB_UPLOAD_INVALID', /<start>-<end>/);
    expect((await a.request('GET', loc)).header('range')).toBe('0-0');
  });

  it('a manifest over 4 MiB is refused with 413 before it is read', async () => {
    const huge = utf8(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, annotations: { pad: 'x'.repeat(4 * 1024 * 1024) } }));
    const res = await postOversized<OciJson>(r.url, `/v2/${GOOD}/manifests/huge`, huge, OCI_MANIFEST, {
      method: 'PUT',
      headers: { authorization: alice.basic },
    });
    expect(res.status).toBe(413);
    expect(res.json.errors![0].code).toBe('SIZE_INVALID');
    expect((await anonymous.request('GET', `/v2/${GOOD}/manifests/huge`)).status).toBe(404);
  });

  it("a 24 MiB blob streams in one chunked PATCH without Content-Length, past the API's 16 MiB body limit", async () => {
    bigBlob = new Uint8Array(randomBytes(24 * 1024 * 1024));
    const loc = await startUpload();
    const range = await new Promise<string | undefined>((resolve, reject) => {
      const { hostname, port } = new URL(r.url);
      const req = httpRequest(
        { host: hostname, port, method: 'PATCH', path: loc, headers: { authorization: alice.basic, 'content-type': 'application/octet-stream' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers.range));
        },
      );
      req.on('error', reject);
      for (let at = 0; at < bigBlob.length; at += 1 << 20) req.write(bigBlob.subarray(at, at + (1 << 20)));
      req.end();
    });
    expect(range).toBe(`0-${bigBlob.length - 1}`);
    expect((await a.request('PUT', withQuery(loc, { digest: sha256(bigBlob) }))).status).toBe(201);
  });
});

describe('ranges', () => {
  const path = () => `/v2/${GOOD}/blobs/${sha256(layers[1])}`;
  it('serves one range with 206 and Content-Range, a suffix, and ignores a reversed range', async () => {
    const part = await anonymous.request('GET', path(), { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.header('content-range')).toBe(`bytes 100-199/${layers[1].length}`);
    expect(part.body).toEqual(layers[1].subarray(100, 200));
    const tail = await anonymous.request('GET', path(), { headers: { range: 'bytes=-10' } });
    expect(tail.body).toEqual(layers[1].subarray(layers[1].length - 10));
    const clamped = await anonymous.request('GET', path(), { headers: { range: `bytes=${layers[1].length - 5}-999999999` } });
    expect([clamped.status, clamped.body.length]).toEqual([206, 5]);
    const reversed = await anonymous.request('GET', path(), { headers: { range: 'bytes=50-10' } });
    expect([reversed.status, reversed.body.length]).toEqual([200, layers[1].length]);
  });

  it('a range beyond the end gets 416 with the size, not a cacheable answer', async () => {
    const res = await anonymous.request('GET', path(), { headers: { range: `bytes=${layers[1].length}-` } });
    expectOci(res, 416, 'SIZE_INVALID', /beyond the end/);
    expect(res.header('content-range')).toBe(`bytes */${layers[1].length}`);
    expect(res.header('cache-control')).toBeUndefined();
  });
});

describe('chunks out of order', () => {
  it('a chunk that does not start where the upload stands gets 416 with the current Range and Location', async () => {
    const loc = await startUpload();
    const early = await a.request('PATCH', loc, { headers: { 'content-range': '10-19' }, body: '0123456789' });
    expect(early.status).toBe(416);
    expect(early.header('range')).toBe('0-0');
    expect(early.header('location')).toBe(loc);
    expect(errorCode(early)).toBe('BLOB_UPLOAD_INVALID');
    expect((await a.request('PATCH', loc, { headers: { 'content-range': '0-9' }, body: '0123456789' })).status).toBe(202);
    const overlap = await a.request('PATCH', loc, { headers: { 'content-range': '5-14' }, body: '5678901234' });
    expect([overlap.status, overlap.header('range')]).toEqual([416, '0-9']);
  });

  it('an upload is found only under its own repository and id', async () => {
    const loc = await startUpload();
    const uuid = loc.split('/').pop()!;
    expectOci(await a.request('PATCH', `/v2/alice/other/blobs/uploads/${uuid}`, { body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN');
    expectOci(await a.request('PATCH', `/v2/${GOOD}/blobs/uploads/not-a-uuid`, { body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('malformed manifests and missing blobs', () => {
  it('each is refused with MANIFEST_INVALID, MANIFEST_BLOB_UNKNOWN or TAG_INVALID', async () => {
    const missing = new Uint8Array(randomBytes(100));
    const cases: [Uint8Array | string, string, string, RegExp][] = [
      ['blablabla', OCI_MANIFEST, 'MANIFEST_INVALID', /not valid UTF-8 JSON/],
      ['{"schemaVersion": 2, "config": ', OCI_MANIFEST, 'MANIFEST_INVALID', /JSON/],
      [JSON.stringify({ schemaVersion: 1, name: 'x', fsLayers: [] }), OCI_MANIFEST, 'MANIFEST_INVALID', /schemaVersion must be 2/],
      [
        utf8(new TextDecoder().decode(goodManifest).replace(`"mediaType":"${OCI_MANIFEST}",`, '')),
        'application/json',
        'MANIFEST_INVALID',
        /unsupported manifest media type/,
      ],
      [goodManifest, 'application/vnd.docker.distribution.manifest.v2+json', 'MANIFEST_INVALID', /Content-Type/],
      [imageManifest(config, [layers[0], missing]), OCI_MANIFEST, 'MANIFEST_BLOB_UNKNOWN', /push the blob first/],
      [
        utf8(new TextDecoder().decode(goodManifest).replace(`"size":${layers[0].length}`, `"size":${layers[0].length + 1}`)),
        OCI_MANIFEST,
        'MANIFEST_INVALID',
        /bytes, but it has/,
      ],
      [
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor(OCI_MANIFEST, utf8('never pushed'))] }),
        OCI_INDEX,
        'MANIFEST_BLOB_UNKNOWN',
        /push it first/,
      ],
    ];
    for (const [body, type, code, message] of cases)
      expectOci(await a.pushManifest(GOOD, 'broken', typeof body === 'string' ? utf8(body) : body, type), 400, code, message);
    expectOci(await a.pushManifest(GOOD, '-bad', goodManifest, OCI_MANIFEST), 400, 'TAG_INVALID');
    expectOci(await a.pushManifest(GOOD, 'x'.repeat(129), goodManifest, OCI_MANIFEST), 400, 'TAG_INVALID');
    const tags = await anonymous.request('GET', `/v2/${GOOD}/tags/list`);
    expect(tags.json.tags).toEqual(['v1']);
  });
});

describe('names that try to leave the store', () => {
  it('traversal, uppercase, illegal characters, escapes and overlong names get NAME_INVALID', async () => {
    const paths = [
      '/v2/alice/../../etc/manifests/latest',
      '/v2/../manifests/latest',
      '/v2/alice/./good/manifests/v1',
      '/v2/%2e%2e/%2e%2e/etc/manifests/latest',
      '/v2/alice%2f..%2f..%2fetc/manifests/latest',
      '/v2/alice%2F..%2Fgood/blobs/uploads/',
      '/v2/Alice/good/manifests/v1',
      '/v2/alice/go$od/manifests/v1',
      '/v2/alice/go%20od/tags/list',
      '/v2/alice//good/tags/list',
      '/v2/_zeus/tags/list',
      '/v2/alice/a%zz/manifests/v1',
      `/v2/${'a'.repeat(256)}/tags/list`,
    ];
    for (const p of paths) {
      expectOci(await a.request('GET', p), 400, 'NAME_INVALID');
      expectOci(await a.request('POST', p.replace(/\/(manifests\/[^/]+|tags\/list|blobs\/uploads\/)$/, '/blobs/uploads/')), 400, 'NAME_INVALID');
    }
    expect(readdirSync(join(r.home.home, 'ddn', 'repositories'))).toEqual([alice.address]);
    expect(existsSync(join(r.home.home, 'etc'))).toBe(false);
  });

  it('a tag of ".." names nothing and cannot be pushed', async () => {
    expectOci(await anonymous.request('GET', `/v2/${GOOD}/manifests/..`), 404, 'MANIFEST_UNKNOWN');
    expectOci(await a.pushManifest(GOOD, '..', goodManifest, OCI_MANIFEST), 400, 'TAG_INVALID');
  });
});

describe('who may push', () => {
  it('without credentials a push gets 401 UNAUTHORIZED with the Basic challenge; reads stay open', async () => {
    const res = await anonymous.request('POST', `/v2/${GOOD}/blobs/uploads/`);
    expectOci(res, 401, 'UNAUTHORIZED', /zeus registry login/);
    expect(res.header('www-authenticate')).toContain('Basic realm="zeusnet"');
    expect(res.header('www-authenticate')).toContain('Bearer realm=');
    expectOci(await anonymous.request('DELETE', `/v2/${GOOD}/manifests/v1`), 401, 'UNAUTHORIZED');
    expect((await anonymous.request('GET', `/v2/${GOOD}/manifests/v1`)).status).toBe(200);
  });

  it('expired, foreign and forged tokens get 401 with the reason', async () => {
    const key = loadDevKeys(r.home.home, ['alice']).alice;
    const { audience } = (await (await fetch(`${r.url}/v2/_auth/info`)).json()) as { audience: string };
    const basic = (user: string, token: string) =>
      new RegistryClient(r.url, { address: user, token, basic: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}` });
    const expired = createRegistryToken(key, { audience, nowMs: Date.now() - 7200_000, ttlSeconds: 60 });
    const otherNode = createRegistryToken(key, { audience: registryAudience('zeus-dev-1', generateKeyPair().publicKey), nowMs: Date.now() });
    const cases: [RegistryClient, RegExp][] = [
      [basic(key.address, expired), /expired/],
      [basic(key.address, otherNode), /another node/],
      [basic(bob.address, alice.token), /not for user/],
      [basic(key.address, `${alice.token.slice(0, -4)}AAAA`), /signature/],
      [basic(key.address, 'password'), /not a ZeusNet registry token/],
    ];
    for (const [client, reason] of cases) expectOci(await client.request('POST', `/v2/${GOOD}/blobs/uploads/`), 401, 'UNAUTHORIZED', reason);
    expectOci(
      await new RegistryClient(r.url).request('GET', '/v2/', {
        headers: { authorization: `Basic ${Buffer.from(`${key.address}:${expired}`).toString('base64')}` },
      }),
      401,
      'UNAUTHORIZED',
    );
  });

  it("an address's namespace is its own: another account is DENIED there and pushes under its own address", async () => {
    const b = new RegistryClient(r.url, bob);
    expectOci(await b.request('POST', `/v2/${GOOD}/blobs/uploads/`), 403, 'DENIED', /only its own key/);
    expectOci(await b.request('DELETE', `/v2/${GOOD}/manifests/v1`), 403, 'DENIED');
    expect((await b.request('POST', withQuery(`/v2/${bob.address}/mine/blobs/uploads/`, { mount: sha256(config), from: GOOD }))).status).toBe(201);
    expectOci(await a.request('POST', '/v2/_zeus/gc'), 403, 'DENIED', /node's own key/);
  });

  it("in a namespace nobody owns, anyone adds, nobody deletes, and an upload is its starter's alone", async () => {
    const b = new RegistryClient(r.url, bob);
    const shared = 'nobodys/app';
    await a.pushBlob(shared, config);
    await b.pushBlob(shared, layers[0]);
    expect((await a.pushManifest(shared, 'v1', imageManifest(config, [layers[0]]), OCI_MANIFEST)).status).toBe(201);
    for (const c of [a, b]) {
      expectOci(await c.request('DELETE', `/v2/${shared}/manifests/v1`), 403, 'DENIED', /no app of that name is on the chain/);
      expectOci(await c.request('DELETE', `/v2/${shared}/blobs/${sha256(config)}`), 403, 'DENIED');
    }
    const loc = await startUpload(shared);
    expectOci(await b.request('PATCH', loc, { body: 'not yours' }), 403, 'DENIED', /was started by/);
    expectOci(await b.request('PUT', withQuery(loc, { digest: sha256('') })), 403, 'DENIED', /was started by/);
    expectOci(await b.request('DELETE', loc), 403, 'DENIED', /was started by/);
    expect((await a.request('PATCH', loc, { body: 'mine' })).status).toBe(202);
    expect((await a.request('DELETE', loc)).status).toBe(204);
  });
});

describe('afterwards', () => {
  it('garbage collection drops what no manifest needs and keeps the image; every stored file verifies', async () => {
    const gc = zeus(r.home.home, '--json', '--node', r.url, 'registry', 'gc', '--grace', '0');
    expect(gc.code, gc.err).toBe(0);
    const report = JSON.parse(gc.out) as { blobsRemoved: number; bytesFreed: number };
    expect(report.blobsRemoved).toBeGreaterThanOrEqual(2); // the 24 MiB blob and the resumed one
    expect(report.bytesFreed).toBeGreaterThanOrEqual(bigBlob.length);
    expect((await anonymous.request('HEAD', `/v2/${GOOD}/blobs/${sha256(bigBlob)}`)).status).toBe(404);

    const m = await anonymous.request('GET', `/v2/${GOOD}/manifests/v1`);
    expect(m.status).toBe(200);
    expect(m.body).toEqual(goodManifest);
    expect(m.header('docker-content-digest')).toBe(sha256(goodManifest));
    for (const b of [config, ...layers]) {
      const got = await anonymous.request('GET', `/v2/${GOOD}/blobs/${sha256(b)}`);
      expect(got.status).toBe(200);
      expect(sha256(got.body)).toBe(sha256(b));
    }
    const blobs = join(r.home.home, 'ddn', 'blobs', 'sha256');
    for (const prefix of readdirSync(blobs)) {
      for (const hex of readdirSync(join(blobs, prefix))) expect(sha256(readFileSync(join(blobs, prefix, hex)))).toBe(`sha256:${hex}`);
    }
    expect(readdirSync(join(r.home.home, 'ddn', 'tmp'))).toEqual([]);
  });
});
