import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Keystore, WrongPassphraseError } from '../crypto/index.ts';
import { DEV_PASSPHRASE, homePaths, keyPassphrases, loadKeyWithAny, loadOrCreateNodeKey } from './home.ts';

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const dir = mkdtempSync(join(tmpdir(), 'zeus-home-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the passphrases tried for a home key', () => {
  const ks = new Keystore(join(dir, 'keys'));
  const dev = ks.create('bookkeeper-0', DEV_PASSPHRASE);
  const own = ks.create('mine', 'my own passphrase');

  it('a dev home opens its dev keys with the dev passphrase even when ZEUS_PASSPHRASE is something else, and keys made under ZEUS_PASSPHRASE with that', () => {
    const tried = keyPassphrases({ devPassphrase: DEV_PASSPHRASE }, 'my own passphrase');
    expect(tried).toEqual([DEV_PASSPHRASE, 'my own passphrase']);
    expect(loadKeyWithAny(ks, 'bookkeeper-0', tried).publicKey).toEqual(Uint8Array.from(Buffer.from(dev.publicKey, 'hex')));
    expect(loadKeyWithAny(ks, 'mine', tried).publicKey).toEqual(Uint8Array.from(Buffer.from(own.publicKey, 'hex')));
  });

  it('a home that is not a dev home never tries the well-known dev passphrase', () => {
    expect(keyPassphrases({}, 'a guess')).toEqual(['a guess']);
    expect(keyPassphrases(undefined, undefined)).toEqual([]);
    expect(() => loadKeyWithAny(ks, 'bookkeeper-0', keyPassphrases({}, 'a guess'))).toThrow(WrongPassphraseError);
    expect(() => loadKeyWithAny(ks, 'bookkeeper-0', [])).toThrow(/no passphrase for key "bookkeeper-0"/);
  });

  it('says which passphrases it tried when none fits, and passes other errors on', () => {
    expect(() => loadKeyWithAny(ks, 'mine', keyPassphrases({ devPassphrase: DEV_PASSPHRASE }, 'wrong'))).toThrow(
      /wrong passphrase for key "mine" \(tried the dev home's passphrase and ZEUS_PASSPHRASE\)/,
    );
    expect(() => loadKeyWithAny(ks, 'absent', [DEV_PASSPHRASE])).toThrow(/absent/);
  });
});

describe("a full node's node key", () => {
  it('is made once, kept in node_key.json (0600, apart from the keystore), and the same key on every later start', () => {
    const home = join(dir, 'full');
    mkdirSync(home);
    const first = loadOrCreateNodeKey(home);
    const p = homePaths(home).nodeKey;
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(p, 'utf8'))).toEqual({ type: 'ed25519-seed', seed: Buffer.from(first.secretKey).toString('hex') });
    expect(loadOrCreateNodeKey(home).publicKey).toEqual(first.publicKey);
  });

  it('a damaged node key file is an error naming the file, never silently replaced', () => {
    const home = join(dir, 'damaged');
    mkdirSync(home);
    writeFileSync(homePaths(home).nodeKey, JSON.stringify({ type: 'ed25519-seed', seed: 'abc' }));
    expect(() => loadOrCreateNodeKey(home)).toThrow(/node_key\.json is not a node key/);
    expect(JSON.parse(readFileSync(homePaths(home).nodeKey, 'utf8')).seed).toBe('abc');
  });
});
