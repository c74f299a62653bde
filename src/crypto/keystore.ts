import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeAddress, addressFromPublicKey } from './address.ts';
import { fromHex, toHex } from './hash.ts';
import { generateKeyPair, keyPairFromSeed, type KeyPair } from './keys.ts';

// Passphrase-encrypted keystore: one JSON file per key, the Ed25519 seed sealed with
// AES-256-GCM under a key derived from the passphrase with scrypt.

export interface StoredKey {
  name: string;
  address: string;
  /** Hex. */
  publicKey: string;
}

interface KeyFile {
  version: 1;
  name: string;
  address: string;
  publicKey: string;
  crypto: {
    kdf: 'scrypt';
    kdfparams: { N: number; r: number; p: number; salt: string; dklen: 32 };
    cipher: 'aes-256-gcm';
    iv: string;
    ciphertext: string;
    tag: string;
  };
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

// N = 2^15 (r = 8, p = 1) costs ~32 MiB and ~0.1 s per derivation: a reasonable work factor
// against offline guessing of a stolen key file. Test suites and throw-away devnets derive
// keys hundreds of times with passphrases that protect nothing, so ZEUS_KEYSTORE_FAST_KDF=1
// lowers N to 2^10 to keep them fast. N is stored in each file, so files written in either
// mode stay readable in the other.
const SCRYPT_N_DEFAULT = 1 << 15;
const SCRYPT_N_FAST = 1 << 10;
// Upper bound on N accepted from a file, so a crafted file cannot make load() allocate gigabytes.
const SCRYPT_N_MAX = 1 << 20;
const SCRYPT_MEM_MAX = 1 << 30;

function scryptN(): number {
  return process.env.ZEUS_KEYSTORE_FAST_KDF === '1' ? SCRYPT_N_FAST : SCRYPT_N_DEFAULT;
}

// NFKC so the same passphrase typed on different keyboards/terminals derives the same key.
/** The passphrase does not open the key (GCM authentication failed); anything else is another error. */
export class WrongPassphraseError extends Error {
  override name = 'WrongPassphraseError';
  readonly key: string;
  constructor(key: string, detail = '') {
    super(`wrong passphrase for key "${key}"${detail}`);
    this.key = key;
  }
}

function deriveKey(passphrase: string, salt: Uint8Array, N: number, r: number, p: number): Buffer {
  return scryptSync(passphrase.normalize('NFKC'), salt, 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
}

function checkName(name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new Error(`invalid key name "${name}": use 1-64 characters from a-z A-Z 0-9 _ . - starting with a letter or digit`);
  }
}

function toStored(f: KeyFile): StoredKey {
  return { name: f.name, address: f.address, publicKey: f.publicKey };
}

/**
 * The passphrase a dev home's keys (a devnet's, `zeus init --dev`) are encrypted under: well known on
 * purpose, so that tests, examples and SDK programs open a devnet's funded keys. Never for real money.
 */
export const DEV_PASSPHRASE = 'zeus-devnet-insecure';

export class Keystore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  private path(name: string): string {
    checkName(name);
    return join(this.dir, `${name}.json`);
  }

  list(): StoredKey[] {
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries
      .filter((f) => f.endsWith('.json') && NAME_RE.test(f.slice(0, -5)))
      .map((f) => f.slice(0, -5))
      .sort()
      .map((name) => this.show(name));
  }

  has(name: string): boolean {
    try {
      readFileSync(this.path(name));
      return true;
    } catch {
      return false;
    }
  }

  create(name: string, passphrase: string): StoredKey {
    return this.store(name, generateKeyPair(), passphrase);
  }

  import(name: string, secretKeyHex: string, passphrase: string): StoredKey {
    let seed: Uint8Array;
    try {
      seed = fromHex(secretKeyHex.trim().replace(/^0x/, ''));
    } catch {
      throw new Error('secret key must be hex');
    }
    if (seed.length !== 32) throw new Error('secret key must be a 32-byte Ed25519 seed (64 hex characters)');
    return this.store(name, keyPairFromSeed(seed), passphrase);
  }

  load(name: string, passphrase: string): KeyPair {
    const f = this.read(name);
    const { kdfparams: kp } = f.crypto;
    const key = deriveKey(passphrase, fromHex(kp.salt), kp.N, kp.r, kp.p);
    let seed: Uint8Array;
    try {
      const d = createDecipheriv('aes-256-gcm', key, fromHex(f.crypto.iv));
      d.setAAD(Buffer.from(f.address, 'utf8'));
      d.setAuthTag(fromHex(f.crypto.tag));
      seed = new Uint8Array(Buffer.concat([d.update(fromHex(f.crypto.ciphertext)), d.final()]));
    } catch {
      throw new WrongPassphraseError(name);
    }
    if (seed.length !== 32) throw new Error(`key file for "${name}" is corrupt: seed is not 32 bytes`);
    const kp2 = keyPairFromSeed(seed);
    if (toHex(kp2.publicKey) !== f.publicKey || encodeAddress(addressFromPublicKey(kp2.publicKey)) !== f.address) {
      throw new Error(`key file for "${name}" is corrupt: public key does not match secret key`);
    }
    return kp2;
  }

  exportSecret(name: string, passphrase: string): string {
    return toHex(this.load(name, passphrase).secretKey);
  }

  show(name: string): StoredKey {
    return toStored(this.read(name));
  }

  private read(name: string): KeyFile {
    const p = this.path(name);
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`no key named "${name}" in ${this.dir}`);
      throw e;
    }
    let f: KeyFile;
    try {
      f = JSON.parse(text) as KeyFile;
    } catch {
      throw new Error(`key file ${p} is not valid JSON`);
    }
    const c = f?.crypto;
    const kp = c?.kdfparams;
    if (
      f?.version !== 1 ||
      f.name !== name ||
      typeof f.address !== 'string' ||
      typeof f.publicKey !== 'string' ||
      c?.kdf !== 'scrypt' ||
      c.cipher !== 'aes-256-gcm' ||
      !Number.isInteger(kp?.N) ||
      kp.N < 2 ||
      kp.N > SCRYPT_N_MAX ||
      128 * kp.N * kp.r > SCRYPT_MEM_MAX ||
      (kp.N & (kp.N - 1)) !== 0 ||
      !Number.isInteger(kp.r) ||
      kp.r < 1 ||
      kp.r > 32 ||
      !Number.isInteger(kp.p) ||
      kp.p < 1 ||
      kp.p > 16 ||
      kp.dklen !== 32 ||
      typeof kp.salt !== 'string' ||
      typeof c.iv !== 'string' ||
      typeof c.ciphertext !== 'string' ||
      typeof c.tag !== 'string'
    ) {
      throw new Error(`key file ${p} is malformed or of an unsupported version`);
    }
    return f;
  }

  private store(name: string, kp: KeyPair, passphrase: string): StoredKey {
    const p = this.path(name);
    if (typeof passphrase !== 'string') throw new Error('passphrase must be a string');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (this.has(name)) throw new Error(`a key named "${name}" already exists in ${this.dir}`);
    const address = encodeAddress(addressFromPublicKey(kp.publicKey));
    const N = scryptN();
    const r = 8;
    const pp = 1;
    const salt = randomBytes(32);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', deriveKey(passphrase, salt, N, r, pp), iv);
    c.setAAD(Buffer.from(address, 'utf8'));
    const ciphertext = Buffer.concat([c.update(kp.secretKey), c.final()]);
    const file: KeyFile = {
      version: 1,
      name,
      address,
      publicKey: toHex(kp.publicKey),
      crypto: {
        kdf: 'scrypt',
        kdfparams: { N, r, p: pp, salt: salt.toString('hex'), dklen: 32 },
        cipher: 'aes-256-gcm',
        iv: iv.toString('hex'),
        ciphertext: ciphertext.toString('hex'),
        tag: c.getAuthTag().toString('hex'),
      },
    };
    writeAtomic(p, `${JSON.stringify(file, null, 2)}\n`);
    return toStored(file);
  }
}

/** Writes via a temp file, fsync and rename; never replaces an existing file. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // Re-check right before the rename: rename would silently replace a key created meanwhile.
    try {
      readFileSync(path);
      throw new Error(`a key file ${path} already exists`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  // Make the rename itself durable.
  try {
    const dfd = openSync(join(path, '..'), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the file itself is already on disk.
  }
}

/**
 * Reads a passphrase: ZEUS_PASSPHRASE if set, else from the terminal without echo.
 * With `confirm`, asks twice and requires both entries to match.
 */
export async function readPassphrase(prompt: string, opts?: { confirm?: boolean }): Promise<string> {
  const env = process.env.ZEUS_PASSPHRASE;
  if (env !== undefined) return env;
  if (!process.stdin.isTTY) throw new Error('no passphrase: set ZEUS_PASSPHRASE or run in a terminal');
  const first = await readHidden(prompt);
  if (opts?.confirm) {
    const second = await readHidden('Repeat passphrase: ');
    if (first !== second) throw new Error('passphrases do not match');
  }
  return first;
}

function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  const out = process.stderr;
  return new Promise((resolve, reject) => {
    let buf = '';
    const wasRaw = stdin.isRaw;
    const cleanup = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      out.write('\n');
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          cleanup();
          resolve(buf);
          return;
        }
        if (ch === '\u0003') {
          cleanup();
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') {
          buf = Array.from(buf).slice(0, -1).join('');
        } else if (ch >= ' ') {
          buf += ch;
        }
      }
    };
    out.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
