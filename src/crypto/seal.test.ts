import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from './keys.ts';
import { sealKeyPairFromSeed } from './seal.ts';

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
    const workerPriv = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), worker.secretKey]), format: 'der', type: 'pkcs8' });
    const bySender = diffieHellman({ privateKey: sender.privateKey, publicKey: workerPub });
    const byWorker = diffieHellman({ privateKey: workerPriv, publicKey: sender.publicKey });
    expect(bySender.length).toBe(32);
    expect(byWorker).toEqual(bySender);
  });
});
