import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from './keys.ts';
import { openSealed, sealKeyOfSigningKey, sealKeyPairFromSeed, sealKeyPairOfSigningSeed, sealTo } from './seal.ts';

describe('seal keys', () => {
  it('derive the same X25519 pair from the same seed and different ones from different seeds', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(sealKeyPairFromSeed(a.secretKey)).toEqual(sealKeyPairFromSeed(a.secretKey));
    expect(sealKeyPairFromSeed(a.secretKey).publicKey).not.toEqual(sealKeyPairFromSeed(b.secretKey).publicKey);
    expect(sealKeyPairFromSeed(a.secretKey).publicKey).not.toEqual(a.publicKey);
  });

  it('agree on a shared secret with a sender that knows only the public key', () => {
    const worker = sealKeyPairFromSeed(generateKeyPair().secretKey);
    const sender = generateKeyPairSync('x25519');
    const workerPub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), worker.publicKey]), format: 'der', type: 'spki' });
    const workerPriv = createPrivateKey({
      key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), worker.secretKey]),
      format: 'der',
      type: 'pkcs8',
    });
    const bySender = diffieHellman({ privateKey: sender.privateKey, publicKey: workerPub });
    const byWorker = diffieHellman({ privateKey: workerPriv, publicKey: sender.publicKey });
    expect(bySender.length).toBe(32);
    expect(byWorker).toEqual(bySender);
  });

  it('seal task secrets to several candidate workers: each can open, nobody else, and no change goes unnoticed', () => {
    const [w1, w2, w3, outsider] = [0, 1, 2, 3].map(() => sealKeyPairFromSeed(generateKeyPair().secretKey));
    const secret = new TextEncoder().encode('DB_PASSWORD=hunter2');
    const sealed = sealTo([w1.publicKey, w2.publicKey, w3.publicKey], secret);
    expect(Buffer.from(sealed).includes(Buffer.from('hunter2'))).toBe(false);
    for (const w of [w1, w2, w3]) expect(new TextDecoder().decode(openSealed(w, sealed))).toBe('DB_PASSWORD=hunter2');
    expect(() => openSealed(outsider, sealed)).toThrow(/not sealed to this key/);
    // Any flipped bit — in a wrapped key or in the body — fails authentication.
    for (const at of [60, sealed.length - 1]) {
      const bad = Uint8Array.from(sealed);
      bad[at] ^= 1;
      expect(() => openSealed(w1, bad)).toThrow();
    }
    expect(() => openSealed(w1, sealed.subarray(0, 50))).toThrow(/truncated|too short/);
    // Two seals of the same secret differ (fresh one-time key and nonces).
    expect(Buffer.from(sealTo([w1.publicKey], secret)).equals(Buffer.from(sealTo([w1.publicKey], secret)))).toBe(false);
  });

  it('seal to an account by its Ed25519 public key: its seed opens it, another key cannot', () => {
    const poster = generateKeyPair();
    const other = generateKeyPair();
    const logs = new TextEncoder().encode('password=hunter2 in a log line');
    const sealed = sealTo([sealKeyOfSigningKey(poster.publicKey)], logs);
    expect(sealKeyPairOfSigningSeed(poster.secretKey).publicKey).toEqual(sealKeyOfSigningKey(poster.publicKey));
    expect(new TextDecoder().decode(openSealed(sealKeyPairOfSigningSeed(poster.secretKey), sealed))).toBe('password=hunter2 in a log line');
    expect(() => openSealed(sealKeyPairOfSigningSeed(other.secretKey), sealed)).toThrow(/not sealed to this key/);
    // The worker seal key of the same seed is a different key: it cannot open it either.
    expect(() => openSealed(sealKeyPairFromSeed(poster.secretKey), sealed)).toThrow(/not sealed to this key/);
  });
});
