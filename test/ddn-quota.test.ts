import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, encodeAddress, generateKeyPair, type KeyPair } from '../src/crypto/index.ts';
import { createRegistryToken, type UploadLimits } from '../src/ddn/index.ts';
import { ZNC_UNIT } from '../src/ledger/index.ts';
import { Tx, ZeusClient } from '../src/sdk/index.ts';
import type { AccountAnswer } from '../src/sdk/wire.ts';
import { api, cleanup, initDevHome, loadDevKeys, sleep, startNode, waitFor, type DevHome } from './helpers/processes.ts';
import { errorCode, RegistryClient, sha256, withQuery, type Credentials, type RegistryAnswer } from './helpers/registry.ts';

// Uploads in progress are bounded per account, per class of account and per node, against real
// node processes. An account holding no ZNC gets a small allowance (8 uploads, 32 MiB: the defaults),
// one holding ZNC more, and stake adds to it; a refusal is 429 TOOMANYREQUESTS with the reason
// UPLOAD_QUOTA and a message saying the limit and how to get more; the quota frees as uploads
// complete, are cancelled or expire. Node A keeps the default limits except smaller byte allowances
// for accounts with ZNC (so a test need not upload GiBs); node B has a tiny node-wide bound and
// uploads that expire after 1.5 s idle.

const MIB = 1024 * 1024;
let a: { home: DevHome; url: string };
let b: { home: DevHome; url: string };

async function startWith(prefix: string, uploads: Partial<UploadLimits>): Promise<{ home: DevHome; url: string }> {
  const home = await initDevHome({ prefix });
  const file = join(home.home, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as { ddn?: { peers?: string[] } };
  writeFileSync(file, JSON.stringify({ ...config, ddn: { ...config.ddn, uploads } }, null, 2));
  const { url } = await startNode(home.home);
  return { home, url };
}

/** A registry client for `key` at `url`. */
async function clientFor(url: string, key: KeyPair): Promise<RegistryClient> {
  const { audience } = (await (await fetch(`${url}/v2/_auth/info`)).json()) as { audience: string };
  const address = encodeAddress(addressFromPublicKey(key.publicKey));
  const token = createRegistryToken(key, { audience, nowMs: Date.now() });
  const creds: Credentials = { address, token, basic: `Basic ${Buffer.from(`${address}:${token}`).toString('base64')}` };
  return new RegistryClient(url, creds);
}

const addressOf = (key: KeyPair): string => encodeAddress(addressFromPublicKey(key.publicKey));

function expectQuota(res: RegistryAnswer, message?: RegExp, reason = 'UPLOAD_QUOTA'): void {
  const what = `429 ${reason} expected, got ${res.status}: ${res.text.slice(0, 400)}`;
  expect(res.status, what).toBe(429);
  expect(errorCode(res), what).toBe('TOOMANYREQUESTS');
  expect(res.json.errors![0].detail?.reason, what).toBe(reason);
  if (message) expect(res.json.errors![0].message, what).toMatch(message);
}

/** Opens upload sessions until one is refused or `max` were opened; returns their Locations and the refusal. */
async function openSessions(c: RegistryClient, repo: string, max: number): Promise<{ opened: string[]; refused?: RegistryAnswer }> {
  const opened: string[] = [];
  for (let i = 0; i < max; i++) {
    const r = await c.request('POST', `/v2/${repo}/blobs/uploads/`);
    if (r.status !== 202) return { opened, refused: r };
    opened.push(r.header('location')!);
  }
  return { opened };
}

/** Stakes `amount` ZNC from `key` and waits until the main chain counts it (a receipt, one height later). */
async function stake(url: string, key: KeyPair, znc: bigint): Promise<void> {
  const c = new ZeusClient(url);
  await c.execute(key, Tx.stake(znc * ZNC_UNIT));
  await waitFor(
    async () => BigInt((await api<AccountAnswer>(url, 'GET', `/accounts/${addressOf(key)}`)).json.staked) >= znc * ZNC_UNIT,
    30_000,
    'the stake on the main chain',
  );
}

/** A monolithic upload of `bytes` random bytes; the answer and the digest. */
async function pushBytes(c: RegistryClient, repo: string, bytes: number): Promise<{ res: RegistryAnswer; digest: string }> {
  const body = new Uint8Array(randomBytes(bytes));
  const digest = sha256(body);
  return { res: await c.request('POST', withQuery(`/v2/${repo}/blobs/uploads/`, { digest }), { body }), digest };
}

beforeAll(async () => {
  a = await startWith('zeus-ddn-quota-a-', {
    funded: { sessions: 32, bytes: 8 * MIB },
    perStakeUnit: { sessions: 8, bytes: 8 * MIB },
    node: { sessions: 1024, bytes: 256 * MIB },
  });
  b = await startWith('zeus-ddn-quota-b-', { node: { sessions: 12, bytes: 64 * MIB }, idleMs: 1500 });
}, 120_000);
afterAll(cleanup);

describe('upload quota on a node', () => {
  it('a new key holding no ZNC gets 8 uploads at once, not 1,000, with a message saying how to get more', async () => {
    const key = generateKeyPair();
    const c = await clientFor(a.url, key);
    const repo = `${addressOf(key)}/flood`;
    const { opened, refused } = await openSessions(c, repo, 1000);
    expect(opened.length).toBe(8);
    expectQuota(refused!, /may have 8 uploads open at once and has 8.*hold at least 1 ZNC.*stake ZNC: each 1,000 ZNC staked adds 8 uploads/);
    expect(refused!.json.errors![0].detail).toMatchObject({ usage: { sessions: 8 }, allowance: { sessions: 8, bytes: 32 * MIB } });
    // The quota frees as sessions end: completed, or cancelled.
    expect((await c.request('PUT', withQuery(opened[0], { digest: sha256('done') }), { body: 'done' })).status).toBe(201);
    expect((await c.request('POST', `/v2/${repo}/blobs/uploads/`)).status).toBe(202);
    expectQuota(await c.request('POST', `/v2/${repo}/blobs/uploads/`));
    expect((await c.request('DELETE', opened[1])).status).toBe(204);
    expect((await c.request('POST', `/v2/${repo}/blobs/uploads/`)).status).toBe(202);
    expectQuota(await c.request('POST', `/v2/${repo}/blobs/uploads/`));
    for (const loc of opened.slice(2)) expect((await c.request('DELETE', loc)).status).toBe(204);
  });

  it('a new key holding no ZNC cannot push a 64 MiB blob: it holds at most 32 MiB in progress; nothing is kept', async () => {
    const key = generateKeyPair();
    const c = await clientFor(a.url, key);
    const repo = `${addressOf(key)}/big`;
    const { res, digest } = await pushBytes(c, repo, 64 * MIB);
    expectQuota(res, /may hold 32 MiB in uploads in progress/);
    expect((await c.request('HEAD', `/v2/${repo}/blobs/${digest}`)).status).toBe(404);
    // In chunks: the chunk that would go over is refused and cut back; the upload stands where it was.
    const loc = (await c.request('POST', `/v2/${repo}/blobs/uploads/`)).header('location')!;
    expect((await c.request('PATCH', loc, { body: new Uint8Array(20 * MIB) })).status).toBe(202);
    expectQuota(await c.request('PATCH', loc, { body: new Uint8Array(20 * MIB) }), /holds 20 MiB; 20 MiB more do not fit|holds 20 MiB;/);
    expect((await c.request('GET', loc)).header('range')).toBe(`0-${20 * MIB - 1}`);
    // A body without Content-Length (chunked) is counted as it arrives and cut off where it goes over.
    const unsized = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const { hostname, port } = new URL(a.url);
      const req = httpRequest({ host: hostname, port, method: 'PATCH', path: loc, headers: { authorization: c.auth! } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += String(d)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      let sent = 0;
      const more = (): void => {
        while (sent < 40 * MIB) {
          sent += MIB;
          if (!req.write(new Uint8Array(MIB))) return void req.once('drain', more);
        }
        req.end();
      };
      more();
    });
    expect(unsized.status, unsized.text).toBe(429);
    expect(JSON.parse(unsized.text).errors[0].message).toMatch(
      /may hold 32 MiB in uploads in progress; this request brought it to 3\d(\.\d)? MiB and has more/,
    );
    expect((await c.request('GET', loc)).header('range')).toBe(`0-${20 * MIB - 1}`);
    // What fits still goes in, and completes.
    const rest = new Uint8Array(10 * MIB);
    expect((await c.request('PUT', withQuery(loc, { digest: sha256(new Uint8Array(30 * MIB)) }), { body: rest })).status).toBe(201);
    // Completed, the 30 MiB no longer count.
    expect((await pushBytes(c, repo, 30 * MIB)).res.status).toBe(201);
  });

  it('an account with ZNC gets more, and staking ZNC raises it further', async () => {
    const k = loadDevKeys(a.home.home, ['alice', 'carol']);
    const alice = await clientFor(a.url, k.alice);
    const carol = await clientFor(a.url, k.carol);
    // Funded, nothing staked: 32 uploads, 8 MiB (node A's setting).
    const aliceSessions = await openSessions(alice, `${k.alice.address}/s`, 100);
    expect(aliceSessions.opened.length).toBe(32);
    expectQuota(aliceSessions.refused!, /may have 32 uploads open at once.*stake ZNC: each 1,000 ZNC staked adds 8 uploads and 8 MiB/);
    for (const loc of aliceSessions.opened) await alice.request('DELETE', loc);
    expectQuota((await pushBytes(alice, `${k.alice.address}/b`, 9 * MIB)).res, /may hold 8 MiB/);
    expectQuota((await pushBytes(carol, `${k.carol.address}/b`, 20 * MIB)).res, /may hold 8 MiB/);

    // carol stakes 2,000 ZNC: two stake units, +16 uploads and +16 MiB.
    await stake(a.url, k.carol, 2_000n);
    expect((await pushBytes(carol, `${k.carol.address}/b`, 20 * MIB)).res.status).toBe(201);
    const carolSessions = await openSessions(carol, `${k.carol.address}/s`, 100);
    expect(carolSessions.opened.length).toBe(48);
    expectQuota(carolSessions.refused!, /may have 48 uploads open at once/);
    for (const loc of carolSessions.opened) await carol.request('DELETE', loc);
    // alice is where she was.
    expectQuota((await pushBytes(alice, `${k.alice.address}/b`, 9 * MIB)).res, /may hold 8 MiB/);
  });

  it('keys holding no ZNC together fill at most their share of the node, never what accounts with ZNC need', async () => {
    // Node A takes 256 MiB in progress; keys without ZNC share an eighth of it, 32 MiB.
    const squatters = await Promise.all([generateKeyPair(), generateKeyPair()].map(async (key) => ({ key, c: await clientFor(a.url, key) })));
    const first = squatters[0];
    const loc = (await first.c.request('POST', `/v2/${addressOf(first.key)}/hold/blobs/uploads/`)).header('location')!;
    expect((await first.c.request('PATCH', loc, { body: new Uint8Array(30 * MIB) })).status).toBe(202);
    const second = squatters[1];
    expectQuota(
      (await pushBytes(second.c, `${addressOf(second.key)}/hold`, 4 * MIB)).res,
      /all accounts holding no ZNC fill their share of this node \(128 uploads, 32 MiB\)/,
    );
    const k = loadDevKeys(a.home.home, ['alice']);
    const alice = await clientFor(a.url, k.alice);
    expect((await pushBytes(alice, `${k.alice.address}/b`, 4 * MIB)).res.status).toBe(201);
    expect((await first.c.request('DELETE', loc)).status).toBe(204);
    expect((await pushBytes(second.c, `${addressOf(second.key)}/hold`, 4 * MIB)).res.status).toBe(201);
  });
});

describe("the node's bound and expiry", () => {
  it('bounds all uploads in progress on the node, and idle ones expire and free their quota', async () => {
    const k = loadDevKeys(b.home.home, ['alice', 'dave']);
    const alice = await clientFor(b.url, k.alice);
    const dave = await clientFor(b.url, k.dave);
    await stake(b.url, k.dave, 1_000n);
    // Node B takes 12 uploads in progress; accounts without stake share half of them.
    const mine = await openSessions(alice, `${k.alice.address}/s`, 100);
    expect(mine.opened.length, mine.refused?.text).toBe(6);
    expectQuota(mine.refused!, /fill their share of this node \(6 uploads/);
    // Staked accounts may use the whole node: 6 more, then the node is full.
    const his = await openSessions(dave, `${k.dave.address}/s`, 100);
    expect(his.opened.length, his.refused?.text).toBe(6);
    expectQuota(his.refused!, /this node holds 12 uploads in progress/, 'NODE_UPLOADS_FULL');
    // Nothing arrives for 1.5 s: every session expires, and its room is free again.
    await sleep(3500);
    for (const loc of [...mine.opened, ...his.opened]) expect((await alice.request('GET', loc)).status).toBe(404);
    expect((await openSessions(alice, `${k.alice.address}/s`, 6)).opened.length).toBe(6);
  });
});
