import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, encodeAddress, Keystore, keyPairFromSeed } from '../crypto/index.ts';
import {
  addAllocation,
  addBookkeeper,
  buildDevGenesis,
  DEV_GENESIS_KEYS,
  GENESIS_SHARES,
  genesisHash,
  newGenesisDraft,
  shareOf,
  signBookkeeperStatement,
  ZNC_UNIT,
  type Genesis,
} from '../ledger/index.ts';
import { DEV_PASSPHRASE } from './home.ts';
import { initJoinHome, type JoinOptions } from './join.ts';
import { parseTcpMultiaddr } from './netAddresses.ts';
import { peerIdFromKey } from '../p2p/index.ts';

// The writing side of `zeus init --genesis` in process (test/join.test.ts runs the CLI): which
// genesis and options it refuses, and that a refusal at any step leaves the home as it was.

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const dir = mkdtempSync(join(tmpdir(), 'zeus-join-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const op = keyPairFromSeed(new Uint8Array(32).fill(7));
const opAddress = encodeAddress(addressFromPublicKey(op.publicKey));
const CHAIN = 'zeus-unit-1';

function publicGenesis(): Genesis {
  let d = newGenesisDraft({ chainId: CHAIN, genesisTime: 1_800_000_000_000 });
  for (const share of ['cornerstone', 'pe', 'market', 'team'] as const) {
    d = addAllocation(d, { share, holders: [{ address: opAddress, amount: shareOf(GENESIS_SHARES[share]) }] });
  }
  d = addAllocation(d, { share: 'reserve', reserveMembers: [opAddress], threshold: 1 });
  const stake = (100_000n * ZNC_UNIT).toString();
  return addBookkeeper(d, signBookkeeperStatement(op, { chainId: CHAIN, name: 'op', p2p: '/ip4/10.0.0.1/tcp/26656', stake }));
}

const files = (d: string): string[] => (existsSync(d) ? (readdirSync(d, { recursive: true }) as string[]).sort() : []);
let n = 0;
const fresh = (): string => join(dir, `home-${n++}`);
const opts = (genesis: unknown, o: Partial<JoinOptions> = {}): JoinOptions => ({ genesis, source: 'the test genesis', moniker: 'm', passphrase: 'pw', ...o });

/** Refused with `message`, and the home holds exactly what it held before. */
function refused(home: string, o: JoinOptions, message: RegExp): void {
  const before = files(home);
  const existed = existsSync(home);
  expect(() => initJoinHome(home, o)).toThrow(message);
  expect(files(home)).toEqual(before);
  expect(existsSync(home)).toBe(existed);
}

describe('initJoinHome', () => {
  const genesis = publicGenesis();
  let opPeer = '';
  beforeAll(async () => {
    // The peer id a node running op's key has.
    opPeer = await peerIdFromKey(op.secretKey);
  });

  it('writes the genesis, a config without a dev passphrase and a key under the passphrase given', () => {
    const home = fresh();
    const r = initJoinHome(home, opts(genesis, { bookkeeperKey: 'bk', p2pAnnounce: ['/dns4/a.example/tcp/26656'], blockIntervalMs: 700 }));
    expect(r.config.blockIntervalMs).toBe(700);
    expect(r.hash).toBe(genesisHash(genesis));
    expect(files(home)).toEqual(['config.json', 'genesis.json', 'keys', 'keys/bk.json']);
    expect(r.config.devPassphrase).toBeUndefined();
    // No --bootstrap: the genesis bookkeeper's statement says where it listens, its key what its peer id is.
    expect(r.config.p2p).toEqual({
      listen: '/ip4/0.0.0.0/tcp/26656',
      bootstrap: [`/ip4/10.0.0.1/tcp/26656/p2p/${opPeer}`],
      announce: ['/dns4/a.example/tcp/26656'],
    });
    expect(r.bootstrapFrom).toBe('genesis');
    expect(new Keystore(join(home, 'keys')).load('bk', 'pw').publicKey).toHaveLength(32);
    expect(() => new Keystore(join(home, 'keys')).load('bk', DEV_PASSPHRASE)).toThrow(/wrong passphrase/);
    expect(readFileSync(join(home, 'config.json'), 'utf8')).not.toContain(DEV_PASSPHRASE);
    expect(r.key).toMatchObject({ created: true, genesisBookkeeper: false });
  });

  it('uses the genesis bookkeeper key already in the home when the passphrase opens it', () => {
    const home = fresh();
    new Keystore(join(home, 'keys')).import('op', Buffer.from(op.secretKey).toString('hex'), 'pw');
    refused(home, opts(genesis, { bookkeeperKey: 'op', passphrase: 'not it' }), /wrong passphrase for key "op"/);
    expect(readdirSync(home)).toEqual(['keys']); // the staging directory is gone too
    const own = initJoinHome(home, opts(genesis, { bookkeeperKey: 'op' }));
    expect(own.key).toMatchObject({ created: false, genesisBookkeeper: true, address: opAddress });
    // Its own statement is not a peer to dial.
    expect(own.config.p2p?.bootstrap).toEqual([]);
    // Peers given replace the genesis's.
    const given = `/ip4/10.0.0.9/tcp/26656/p2p/${opPeer}`;
    const r = initJoinHome(fresh(), opts(genesis, { bootstrap: [given] }));
    expect([r.config.p2p?.bootstrap, r.bootstrapFrom]).toEqual([[given], 'options']);
    refused(home, opts(genesis), /is already a node home \(it has .*config\.json\)/);
  });

  it('refuses a malformed genesis, one edited, and a dev genesis (its bookkeepers signed nothing)', () => {
    refused(fresh(), opts({ chainId: CHAIN }), /the test genesis is not a valid genesis \(\d+ problems\):\n {2}- genesisTime: /);
    refused(fresh(), opts('not an object'), /is not a valid genesis/);
    const edited = structuredClone(genesis);
    edited.bookkeepers[0].p2p = '/ip4/10.6.6.6/tcp/26656';
    refused(fresh(), opts(edited), /bookkeeper "op": the signature is not its key's/);
    const keys = Object.fromEntries([...DEV_GENESIS_KEYS, 'bookkeeper-0'].map((k, i) => [k, keyPairFromSeed(new Uint8Array(32).fill(40 + i)).publicKey]));
    const dev = buildDevGenesis({
      chainId: 'zeus-dev-1',
      genesisTime: 1,
      keys,
      devAccounts: [],
      bookkeepers: [{ name: 'bookkeeper-0', publicKey: keys['bookkeeper-0'] }],
    });
    refused(fresh(), opts(dev), /bookkeeper "bookkeeper-0" has no signed statement/);
  });

  it('refuses a genesis whose hash is not the one expected, naming both', () => {
    const other = { ...genesis, genesisTime: genesis.genesisTime + 1 };
    const want = genesisHash(genesis);
    refused(fresh(), opts(other, { expectHash: want }), new RegExp(`\\(chain ${CHAIN}\\) has hash ${genesisHash(other)}, not the expected ${want}`));
    expect(initJoinHome(fresh(), opts(genesis, { expectHash: want.toUpperCase() })).hash).toBe(want);
  });

  it('refuses bad names and addresses before anything is written', () => {
    refused(fresh(), opts(genesis, { moniker: '' }), /--moniker: "" must be/);
    refused(fresh(), opts(genesis, { p2pListen: '10.0.0.1:26656' }), /--p2p-listen: "10\.0\.0\.1:26656" is not a multiaddr/);
    refused(fresh(), opts(genesis, { p2pAnnounce: ['/ip4/10.0.0.1/udp/9'] }), /--p2p-announce: .* is not a TCP address/);
    refused(fresh(), opts(genesis, { bootstrap: ['/ip4/10.0.0.1/tcp/26656'] }), /--bootstrap: .* lacks \/p2p\/<peer id>/);
    refused(fresh(), opts(genesis, { bookkeeperKey: '../evil' }), /invalid key name "\.\.\/evil"/);
    refused(fresh(), opts(genesis, { bookkeeperKey: 'k', passphrase: undefined }), /--bookkeeper-key k: no passphrase/);
    // An existing directory that is not a home (an empty state directory made by systemd) is fine.
    const empty = fresh();
    mkdirSync(empty);
    refused(empty, opts(genesis, { moniker: 'bad/name' }), /--moniker/);
    expect(initJoinHome(empty, opts(genesis)).config.moniker).toBe('m');
    expect(parseTcpMultiaddr('/ip6/::1/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN', '--x', 'required')).toMatch(/^\/ip6/);
  });
});
