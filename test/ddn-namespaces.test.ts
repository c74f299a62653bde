import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, stopDevnet, type DevnetInfo } from '../src/cli/devnet.ts';
import { createRegistryToken } from '../src/ddn/index.ts';
import { Tx, ZeusClient } from '../src/sdk/index.ts';
import { loadDevKeys, type NamedKey } from './helpers/processes.ts';
import { errorCode, RegistryClient, sha256, utf8, type Credentials, type RegistryAnswer } from './helpers/registry.ts';

// Who may push where, on a devnet of two bookkeeper processes. The answer must be the same on every
// node, so it can only come from what every node shares: an address's namespace belongs to that
// address (the key whose hash it is); a name's namespace belongs to whoever the chain says owns the
// app of that name. Nobody can claim a name by pushing first: before the chain names an owner, a
// name's namespace is open to every account for adding and closed to everyone for deleting.

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY_CONFIG = utf8('{}');

let dir: string;
let net: DevnetInfo;
let keys: Record<string, NamedKey>;

/** A registry client for `key` at node `i`, with a token for that node's audience. */
async function client(i: number, key: NamedKey): Promise<RegistryClient> {
  const url = net.nodes[i].api;
  const { audience } = (await (await fetch(`${url}/v2/_auth/info`)).json()) as { audience: string };
  const token = createRegistryToken(key, { audience, nowMs: Date.now() });
  const creds: Credentials = { address: key.address, token, basic: `Basic ${Buffer.from(`${key.address}:${token}`).toString('base64')}` };
  return new RegistryClient(url, creds);
}

/** An image manifest whose one layer is `layer` (pushed with it), as bytes. */
async function pushImage(c: RegistryClient, repo: string, tag: string, layer: string): Promise<{ answer: RegistryAnswer; manifest: Uint8Array }> {
  const l = utf8(layer);
  await c.pushBlob(repo, EMPTY_CONFIG);
  await c.pushBlob(repo, l);
  const manifest = utf8(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(EMPTY_CONFIG), size: EMPTY_CONFIG.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length }],
    }),
  );
  return { answer: await c.pushManifest(repo, tag, manifest, OCI_MANIFEST), manifest };
}

function expectDenied(a: RegistryAnswer, owner?: string): void {
  const what = `403 DENIED expected, got ${a.status}: ${a.text.slice(0, 300)}`;
  expect(a.status, what).toBe(403);
  expect(errorCode(a), what).toBe('DENIED');
  if (owner) expect(a.json.errors![0].message, what).toContain(owner);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zeus-ddn-ns-'));
  net = await startDevnet({ dir, validators: 2, blockTimeMs: 300 });
  keys = loadDevKeys(net.nodes[0].home, ['alice', 'bob']);
}, 120_000);

afterAll(async () => {
  if (net) await stopDevnet(dir);
  rmSync(dir, { recursive: true, force: true });
});

describe('namespaces on every node', () => {
  it("an address's namespace belongs to that address: another account cannot push there on any node, even first", async () => {
    const repo = `${keys.alice.address}/logs`;
    for (let i = 0; i < net.nodes.length; i++) {
      const bob = await client(i, keys.bob);
      // bob goes first: a first-push claim would have made the namespace his.
      expectDenied(await bob.request('POST', `/v2/${repo}/blobs/uploads/`), keys.alice.address);
      expectDenied(await bob.request('POST', `/v2/${repo}/blobs/uploads/?digest=${sha256('x')}`, { body: 'x' }), keys.alice.address);
      expectDenied(await bob.pushManifest(repo, 'v1', utf8('{}'), OCI_MANIFEST), keys.alice.address);
      expectDenied(await bob.request('DELETE', `/v2/${repo}/manifests/v1`), keys.alice.address);
      const alice = await client(i, keys.alice);
      const { answer } = await pushImage(alice, repo, 'v1', `alice's logs on node ${i}`);
      expect(answer.status, answer.text).toBe(201);
      // Still bob's own address is his, on the same node.
      const own = await pushImage(bob, `${keys.bob.address}/logs`, 'v1', `bob's logs on node ${i}`);
      expect(own.answer.status, own.answer.text).toBe(201);
    }
  });

  it("a name's namespace belongs to the app's owner on the chain, on every node; pushing first claims nothing", async () => {
    const name = `web-${process.pid}`;
    const bobAt1 = await client(1, keys.bob);
    const aliceAt1 = await client(1, keys.alice);
    // Before the chain knows the name: bob pushes into it first on node1 (a squatter's move) …
    const squat = await pushImage(bobAt1, `${name}/junk`, 'latest', 'squatted');
    expect(squat.answer.status, squat.answer.text).toBe(201);
    // … and the developer can still push there, on that node too.
    const image = await pushImage(aliceAt1, name, '1.0', 'the real app');
    expect(image.answer.status, image.answer.text).toBe(201);
    const digest = image.answer.header('docker-content-digest')!;
    // Unowned, the namespace takes additions only: nobody may delete what another pushed.
    expectDenied(await bobAt1.request('DELETE', `/v2/${name}/manifests/${digest}`));
    expectDenied(await bobAt1.request('DELETE', `/v2/${name}/manifests/1.0`));
    expect((await bobAt1.request('GET', `/v2/${name}/manifests/1.0`)).status).toBe(200);
    // Tags in an open namespace are anyone's to write: bob points `1.0` at his image just before the
    // publication. Once published, `1.0` is what the chain says it is, on every node.
    const bobs = await pushImage(bobAt1, name, '1.0', 'an impostor');
    expect(bobs.answer.status, bobs.answer.text).toBe(201);

    // The developer publishes the app: now the chain says whose the name is.
    const c = new ZeusClient(net.nodes[0].api);
    await c.execute(keys.alice, Tx.publishApp({ name, version: '1.0', digest }));
    for (let i = 0; i < net.nodes.length; i++) {
      const url = net.nodes[i].api;
      for (let t = 0; t < 100 && (await fetch(`${url}/apps/${name}`)).status !== 200; t++) await new Promise((r) => setTimeout(r, 100));
      const bob = await client(i, keys.bob);
      const alice = await client(i, keys.alice);
      expectDenied(await bob.request('POST', `/v2/${name}/blobs/uploads/`), keys.alice.address);
      expectDenied(await bob.request('POST', `/v2/${name}/junk/blobs/uploads/`), keys.alice.address);
      expectDenied(await bob.pushManifest(name, 'latest', image.manifest, OCI_MANIFEST), keys.alice.address);
      expectDenied(await bob.request('DELETE', `/v2/${name}/manifests/1.0`), keys.alice.address);
      if (i === 1) {
        const served = await bob.request('GET', `/v2/${name}/manifests/1.0`);
        expect([served.status, served.header('docker-content-digest')]).toEqual([200, digest]);
        expect(sha256(served.body)).toBe(digest);
      }
      const pushed = await pushImage(alice, name, `2.0-node${i}`, `version 2 on node ${i}`);
      expect(pushed.answer.status, pushed.answer.text).toBe(201);
    }
    // The owner may now clear what the squatter left.
    expect((await aliceAt1.request('DELETE', `/v2/${name}/junk/manifests/latest`)).status).toBe(202);
  });
});
