import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress, systemAddress } from '../src/crypto/index.ts';
import { Tx, TxRejectedError, ZeusClient, ZNC_UNIT } from '../src/sdk/index.ts';
import type { AppAnswer } from '../src/sdk/wire.ts';
import { api, cleanup, initDevHome, loadDevKeys, startNode, zeus, type DevHome, type NamedKey } from './helpers/processes.ts';

// Who earns an app's license fee: `zeus app publish --developer ADDRESS` and the SDK's `developer`
// option, through the real CLI and SDK against a real node. Both were always refused (the ledger
// wanted 20 bytes where an address has 21) — and 20 bytes, once admitted, stopped the chain.

const digest = (n: number): string => `sha256:${n.toString(16).padStart(2, '0').repeat(32)}`;

let dev: DevHome;
let url: string;
let keys: Record<string, NamedKey>;

beforeAll(async () => {
  dev = await initDevHome({ prefix: 'zeus-developer-' });
  url = (await startNode(dev.home)).url;
  keys = loadDevKeys(dev.home, ['alice', 'bob', 'carol']);
}, 60_000);

afterAll(cleanup);

const developerOf = async (name: string, version: string): Promise<string> =>
  (await api<AppAnswer>(url, 'GET', `/apps/${name}`)).json.versions.find((v) => v.version === version)!.developer;

describe('an app developer other than the publisher', () => {
  it('zeus app publish --developer takes an address or a key name', () => {
    const byAddress = zeus(
      dev.home,
      '--json',
      'app',
      'publish',
      '--from',
      'bob',
      '--name',
      'web',
      '--version',
      '1.0',
      '--digest',
      digest(1),
      '--license-fee',
      '0.5',
      '--developer',
      keys.carol.address,
      '--wait',
    );
    expect(byAddress.code, byAddress.err).toBe(0);
    const byName = zeus(
      dev.home,
      '--json',
      'app',
      'publish',
      '--from',
      'bob',
      '--name',
      'web',
      '--version',
      '2.0',
      '--digest',
      digest(2),
      '--developer',
      'alice',
      '--wait',
    );
    expect(byName.code, byName.err).toBe(0);
    const own = zeus(dev.home, '--json', 'app', 'publish', '--from', 'bob', '--name', 'web', '--version', '3.0', '--digest', digest(3), '--wait');
    expect(own.code, own.err).toBe(0);
    return Promise.all([developerOf('web', '1.0'), developerOf('web', '2.0'), developerOf('web', '3.0')]).then((d) =>
      expect(d).toEqual([keys.carol.address, keys.alice.address, keys.bob.address]),
    );
  });

  it('zeus app publish --developer refuses an address nobody can spend from', () => {
    const r = zeus(
      dev.home,
      '--json',
      'app',
      'publish',
      '--from',
      'bob',
      '--name',
      'web',
      '--version',
      '4.0',
      '--digest',
      digest(4),
      '--developer',
      encodeAddress(systemAddress('nobody')),
      '--wait',
    );
    expect(r.code).not.toBe(0);
    expect(`${r.err}${r.out}`).toMatch(/INVALID_RECIPIENT/);
  });

  it("the SDK's publishApp({ developer }) publishes for that developer", async () => {
    const client = new ZeusClient(url);
    const final = await client.execute(
      keys.alice,
      Tx.publishApp({ name: 'sdk-app', version: '1', digest: digest(5), developer: keys.carol.address, licenseFeePerHour: ZNC_UNIT }),
    );
    expect(final.status).toBe('committed');
    const app = await client.app('sdk-app');
    expect(app.versions[0].developer).toBe(keys.carol.address);
    expect(app.owner).toBe(keys.alice.address);
    const refused = await client
      .execute(keys.alice, Tx.publishApp({ name: 'sdk-app', version: '2', digest: digest(6), developer: encodeAddress(systemAddress('nobody')) }))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TxRejectedError);
    expect((refused as TxRejectedError).code).toBe('INVALID_RECIPIENT');
  });
});
