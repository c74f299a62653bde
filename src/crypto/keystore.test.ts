import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addressFromPublicKey, encodeAddress } from './address.ts';
import { toHex } from './hash.ts';
import { signBytes, verifySignature } from './keys.ts';
import { Keystore, readPassphrase, WrongPassphraseError } from './keystore.ts';

// RFC 8032 TEST 1
const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const PUB = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

let root: string;
let dir: string;
let ks: Keystore;
const savedFast = process.env.ZEUS_KEYSTORE_FAST_KDF;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'zeus-keystore-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  if (savedFast === undefined) delete process.env.ZEUS_KEYSTORE_FAST_KDF;
  else process.env.ZEUS_KEYSTORE_FAST_KDF = savedFast;
});
let seq = 0;
beforeEach(() => {
  process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
  dir = join(root, `ks-${seq++}`, 'keys'); // does not exist yet: create() must make it
  ks = new Keystore(dir);
});

const fileOf = (name: string): string => join(dir, `${name}.json`);
/** A key file as read back: the fields the tests inspect or tamper with, loosely typed so they can break them. */
interface KeyFileJson {
  version: number;
  name: string;
  address: string;
  publicKey: string;
  crypto: {
    kdf: string;
    cipher: string;
    iv: string;
    ciphertext: string;
    tag: string;
    kdfparams: { N: number; r: number; p: number; salt: string; dklen: number };
  };
}
const readJson = (name: string): KeyFileJson => JSON.parse(readFileSync(fileOf(name), 'utf8')) as KeyFileJson;
const writeJson = (name: string, v: unknown): void => writeFileSync(fileOf(name), JSON.stringify(v));

describe('Keystore', () => {
  it('create / list / show / load / exportSecret / import roundtrip', () => {
    expect(ks.list()).toEqual([]);
    expect(ks.has('alice')).toBe(false);
    const alice = ks.create('alice', 'pw-a');
    expect(alice.name).toBe('alice');
    expect(alice.address).toMatch(/^znc1/);
    expect(alice.publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(ks.has('alice')).toBe(true);
    expect(ks.show('alice')).toEqual(alice);

    const kp = ks.load('alice', 'pw-a');
    expect(toHex(kp.publicKey)).toBe(alice.publicKey);
    expect(encodeAddress(addressFromPublicKey(kp.publicKey))).toBe(alice.address);
    const sig = signBytes(kp.secretKey, new Uint8Array([1, 2, 3]));
    expect(verifySignature(kp.publicKey, new Uint8Array([1, 2, 3]), sig)).toBe(true);

    const secret = ks.exportSecret('alice', 'pw-a');
    expect(secret).toBe(toHex(kp.secretKey));
    // the exported seed imports to the same key under another name and passphrase
    const copy = ks.import('alice.copy', secret, 'other');
    expect(copy.address).toBe(alice.address);
    expect(copy.publicKey).toBe(alice.publicKey);
    expect(ks.exportSecret('alice.copy', 'other')).toBe(secret);

    const bob = ks.create('Bob_2', 'pw-b');
    expect(bob.address).not.toBe(alice.address);
    expect(ks.list().map((k) => k.name)).toEqual(['Bob_2', 'alice', 'alice.copy']);
    expect(ks.list()).toContainEqual(alice);
  });

  it('import of a known seed yields the RFC 8032 public key and exports it back', () => {
    const k = ks.import('rfc', SEED, 'pw');
    expect(k.publicKey).toBe(PUB);
    expect(k.address).toBe(encodeAddress(addressFromPublicKey(Buffer.from(PUB, 'hex'))));
    expect(ks.exportSecret('rfc', 'pw')).toBe(SEED);
    expect(ks.import('rfc2', `0x${SEED.toUpperCase()}`, 'pw').publicKey).toBe(PUB);
    expect(() => ks.import('short', SEED.slice(2), 'pw')).toThrow(/32-byte/);
    expect(() => ks.import('nothex', 'zz'.repeat(32), 'pw')).toThrow(/hex/);
    expect(ks.has('short')).toBe(false);
  });

  it('writes the documented file format, encrypted, with no temp files left', () => {
    const k = ks.import('fmt', SEED, 'pw');
    const f = readJson('fmt');
    expect(f).toMatchObject({ version: 1, name: 'fmt', address: k.address, publicKey: PUB });
    expect(f.crypto).toMatchObject({ kdf: 'scrypt', cipher: 'aes-256-gcm' });
    expect(f.crypto.kdfparams).toMatchObject({ N: 1024, r: 8, p: 1, dklen: 32 });
    expect(f.crypto.kdfparams.salt).toMatch(/^[0-9a-f]{64}$/);
    expect(f.crypto.iv).toMatch(/^[0-9a-f]{24}$/);
    expect(f.crypto.ciphertext).toMatch(/^[0-9a-f]{64}$/);
    expect(f.crypto.tag).toMatch(/^[0-9a-f]{32}$/);
    expect(f.crypto.ciphertext).not.toBe(SEED);
    expect(readFileSync(fileOf('fmt'), 'utf8')).not.toContain(SEED);
    expect(readdirSync(dir)).toEqual(['fmt.json']);
    // salt and iv are fresh for every file
    ks.import('fmt2', SEED, 'pw');
    const g = readJson('fmt2');
    expect(g.crypto.kdfparams.salt).not.toBe(f.crypto.kdfparams.salt);
    expect(g.crypto.iv).not.toBe(f.crypto.iv);
    expect(g.crypto.ciphertext).not.toBe(f.crypto.ciphertext);
  });

  it('uses N = 2^15 unless ZEUS_KEYSTORE_FAST_KDF=1', () => {
    delete process.env.ZEUS_KEYSTORE_FAST_KDF;
    ks.import('slow', SEED, 'pw');
    expect(readJson('slow').crypto.kdfparams.N).toBe(32768);
    process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
    // N is read from the file, so it still loads in fast mode
    expect(ks.exportSecret('slow', 'pw')).toBe(SEED);
  });

  it('reports a wrong passphrase clearly', () => {
    ks.create('carol', 'right');
    expect(() => ks.load('carol', 'wrong')).toThrow(new WrongPassphraseError('carol'));
    expect(() => ks.exportSecret('carol', '')).toThrow('wrong passphrase for key "carol"');
    expect(() => ks.load('carol', 'right ')).toThrow('wrong passphrase');
    expect(() => ks.load('carol', 'right')).not.toThrow();
  });

  it('treats canonically equivalent Unicode passphrases as equal', () => {
    ks.create('uni', 'caf\u00e9');
    expect(() => ks.load('uni', 'cafe\u0301')).not.toThrow();
    expect(() => ks.load('uni', 'cafe')).toThrow('wrong passphrase');
  });

  it('fails on a tampered ciphertext, tag, iv, salt or address', () => {
    ks.import('t', SEED, 'pw');
    const orig = readJson('t');
    const flip = (h: string, i = 0): string => {
      const b = Buffer.from(h, 'hex');
      b[i] ^= 1;
      return b.toString('hex');
    };
    const tamper = (edit: (f: KeyFileJson) => void): void => {
      const f = structuredClone(orig);
      edit(f);
      writeJson('t', f);
    };
    for (let i = 0; i < 32; i += 7) {
      tamper((f) => (f.crypto.ciphertext = flip(f.crypto.ciphertext, i)));
      expect(() => ks.load('t', 'pw')).toThrow('wrong passphrase for key "t"');
    }
    tamper((f) => (f.crypto.tag = flip(f.crypto.tag, 15)));
    expect(() => ks.load('t', 'pw')).toThrow(/wrong passphrase/);
    tamper((f) => (f.crypto.iv = flip(f.crypto.iv)));
    expect(() => ks.load('t', 'pw')).toThrow(/wrong passphrase/);
    tamper((f) => (f.crypto.kdfparams.salt = flip(f.crypto.kdfparams.salt)));
    expect(() => ks.load('t', 'pw')).toThrow(/wrong passphrase/);
    // the address is authenticated data: swapping in another address is detected
    const other = ks.create('other', 'x').address;
    tamper((f) => (f.address = other));
    expect(() => ks.load('t', 'pw')).toThrow();
    tamper((f) => (f.publicKey = ks.show('other').publicKey));
    expect(() => ks.load('t', 'pw')).toThrow(/corrupt/);
    tamper((f) => (f.crypto.ciphertext = f.crypto.ciphertext.slice(0, 62)));
    expect(() => ks.load('t', 'pw')).toThrow();
    // untouched file still loads
    writeJson('t', orig);
    expect(ks.exportSecret('t', 'pw')).toBe(SEED);
  });

  it('rejects malformed key files and absurd KDF parameters', () => {
    ks.import('m', SEED, 'pw');
    const orig = readJson('m');
    writeFileSync(fileOf('m'), '{not json');
    expect(() => ks.show('m')).toThrow(/not valid JSON/);
    writeJson('m', { ...orig, version: 2 });
    expect(() => ks.load('m', 'pw')).toThrow(/malformed or of an unsupported version/);
    writeJson('m', { ...orig, name: 'other' });
    expect(() => ks.show('m')).toThrow(/malformed/);
    writeJson('m', { ...orig, crypto: { ...orig.crypto, kdfparams: { ...orig.crypto.kdfparams, N: 1 << 30 } } });
    expect(() => ks.load('m', 'pw')).toThrow(/malformed/);
    writeJson('m', { ...orig, crypto: { ...orig.crypto, kdfparams: { ...orig.crypto.kdfparams, N: 1000 } } });
    expect(() => ks.load('m', 'pw')).toThrow(/malformed/);
    writeJson('m', { ...orig, crypto: { ...orig.crypto, cipher: 'aes-128-ctr' } });
    expect(() => ks.load('m', 'pw')).toThrow(/malformed/);
    expect(() => ks.show('nobody')).toThrow(/no key named "nobody"/);
    expect(() => ks.load('nobody', 'pw')).toThrow(/no key named "nobody"/);
  });

  it('creates files with mode 0600 in a directory with mode 0700', () => {
    ks.create('perm', 'pw');
    expect(statSync(fileOf('perm')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('refuses to overwrite an existing key', () => {
    const first = ks.import('dup', SEED, 'pw');
    const before = readFileSync(fileOf('dup'), 'utf8');
    expect(() => ks.create('dup', 'pw2')).toThrow(/a key named "dup" already exists/);
    expect(() => ks.import('dup', '11'.repeat(32), 'pw2')).toThrow(/already exists/);
    expect(readFileSync(fileOf('dup'), 'utf8')).toBe(before);
    expect(ks.show('dup')).toEqual(first);
    expect(readdirSync(dir)).toEqual(['dup.json']);
  });

  it('rejects bad key names with a clear error', () => {
    const bad = ['', '.hidden', '-x', '_x', 'a/b', '../x', '..', 'a b', 'é', 'a\u0000', 'x'.repeat(65), 'a:b', 'a\\b'];
    for (const name of bad) {
      expect(() => ks.create(name, 'pw'), JSON.stringify(name)).toThrow(/invalid key name/);
      expect(() => ks.show(name)).toThrow(/invalid key name/);
      expect(ks.has(name)).toBe(false);
    }
    for (const name of ['a', 'A', '0', 'x'.repeat(64), 'a.b-c_d', 'k.json']) {
      expect(ks.create(name, 'pw').name).toBe(name);
    }
  });

  it('list ignores files that are not key files', () => {
    ks.create('k1', 'pw');
    writeFileSync(join(dir, 'README.txt'), 'hi');
    writeFileSync(join(dir, '.k2.json.123.tmp'), '{}');
    expect(ks.list().map((k) => k.name)).toEqual(['k1']);
  });
});

describe('readPassphrase', () => {
  const saved = process.env.ZEUS_PASSPHRASE;
  const savedTTY = process.stdin.isTTY;
  afterEach(() => {
    if (saved === undefined) delete process.env.ZEUS_PASSPHRASE;
    else process.env.ZEUS_PASSPHRASE = saved;
    process.stdin.isTTY = savedTTY;
  });

  it('returns ZEUS_PASSPHRASE when set (even empty)', async () => {
    process.env.ZEUS_PASSPHRASE = 'from env';
    await expect(readPassphrase('Passphrase: ')).resolves.toBe('from env');
    await expect(readPassphrase('Passphrase: ', { confirm: true })).resolves.toBe('from env');
    process.env.ZEUS_PASSPHRASE = '';
    await expect(readPassphrase('Passphrase: ')).resolves.toBe('');
  });

  it('fails clearly without a terminal or the env var', async () => {
    delete process.env.ZEUS_PASSPHRASE;
    process.stdin.isTTY = false as true;
    await expect(readPassphrase('Passphrase: ')).rejects.toThrow('no passphrase: set ZEUS_PASSPHRASE or run in a terminal');
  });
});
