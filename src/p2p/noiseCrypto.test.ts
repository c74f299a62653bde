import { randomBytes } from 'node:crypto';
import { identify } from '@libp2p/identify';
import type { Libp2p } from '@libp2p/interface';
import { noise, pureJsCrypto } from '@libp2p/noise';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import { createLibp2p } from 'libp2p';
import { Uint8ArrayList } from 'uint8arraylist';
import { afterEach, describe, expect, it } from 'vitest';
import { noiseCrypto } from './noiseCrypto.ts';

const flat = (d: Uint8Array | Uint8ArrayList): Buffer => Buffer.from(d instanceof Uint8Array ? d : d.subarray());

describe("the Noise channel's ciphers", () => {
  it('agree with @libp2p/noise pure-JS ChaCha20-Poly1305 both ways, for every size class and for split input', () => {
    const k = randomBytes(32);
    const ad = randomBytes(32);
    for (const size of [0, 1, 15, 16, 200, 1199, 1200, 1201, 4096, 65_519]) {
      const nonce = randomBytes(12);
      const text = randomBytes(size);
      const ours = flat(noiseCrypto.chaCha20Poly1305Encrypt(text, nonce, ad, k));
      const theirs = flat(pureJsCrypto.chaCha20Poly1305Encrypt(text, nonce, ad, k));
      expect(ours.equals(theirs), `size ${size}`).toBe(true);
      // The same key array again (a session's): the cached key must still be the right one.
      expect(flat(noiseCrypto.chaCha20Poly1305Decrypt(theirs, nonce, ad, k)).equals(text), `size ${size}`).toBe(true);
      // Input that arrives in pieces, as Noise hands over what the socket read.
      const cut = Math.floor(size / 3);
      const pieces = new Uint8ArrayList(theirs.subarray(0, cut), theirs.subarray(cut));
      expect(flat(noiseCrypto.chaCha20Poly1305Decrypt(pieces, nonce, ad, k)).equals(text), `size ${size} in pieces`).toBe(true);
      const plainPieces = new Uint8ArrayList(text.subarray(0, cut), text.subarray(cut));
      expect(flat(noiseCrypto.chaCha20Poly1305Encrypt(plainPieces, nonce, ad, k)).equals(theirs), `size ${size} in pieces`).toBe(true);
      // A flipped bit, or another key of the same session object's size, is refused.
      const tampered = Buffer.from(theirs);
      tampered[Math.floor(tampered.length / 2)] ^= 1;
      expect(() => noiseCrypto.chaCha20Poly1305Decrypt(tampered, nonce, ad, k), `size ${size} tampered`).toThrow();
      expect(() => noiseCrypto.chaCha20Poly1305Decrypt(theirs, nonce, ad, randomBytes(32)), `size ${size} other key`).toThrow();
    }
  });

  it('derive the same X25519 keys and shared secrets as @libp2p/noise', () => {
    const a = noiseCrypto.generateX25519KeyPair();
    const seed = randomBytes(32);
    const b = noiseCrypto.generateX25519KeyPairFromSeed(seed);
    expect(Buffer.from(b.publicKey).equals(Buffer.from(pureJsCrypto.generateX25519KeyPairFromSeed(seed).publicKey))).toBe(true);
    expect(Buffer.from(pureJsCrypto.generateX25519KeyPairFromSeed(a.privateKey).publicKey).equals(Buffer.from(a.publicKey))).toBe(true);
    const ab = Buffer.from(noiseCrypto.generateX25519SharedKey(a.privateKey, b.publicKey));
    expect(ab.equals(Buffer.from(pureJsCrypto.generateX25519SharedKey(b.privateKey, a.publicKey)))).toBe(true);
    expect(Buffer.from(noiseCrypto.hashSHA256(new Uint8ArrayList(ab.subarray(0, 5), ab.subarray(5)))).equals(Buffer.from(pureJsCrypto.hashSHA256(ab)))).toBe(
      true,
    );
  });
});

const nodes: Libp2p[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

describe('a libp2p connection between a node with these ciphers and one with the default', () => {
  it('carries small and large messages both ways intact', async () => {
    const make = async (ours: boolean): Promise<Libp2p> => {
      const n = await createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [ours ? noise({ crypto: noiseCrypto }) : noise()],
        streamMuxers: [yamux()],
        services: { identify: identify() },
      });
      nodes.push(n);
      return n;
    };
    const [ours, theirs] = await Promise.all([make(true), make(false)]);
    const messages = [randomBytes(100), randomBytes(5_000), randomBytes(200_000), randomBytes(3)];
    const total = messages.reduce((a, m) => a + m.length, 0);
    const expected = Buffer.concat(messages);
    const echo = async (from: Libp2p, to: Libp2p): Promise<Buffer> => {
      const got = new Uint8ArrayList();
      let done!: () => void;
      const all = new Promise<void>((r) => (done = r));
      await to.handle(
        '/zeus-test/noise/1',
        (stream) => {
          stream.addEventListener('message', (evt) => {
            got.append(evt.data);
            if (got.byteLength >= total) done();
          });
        },
        { force: true },
      );
      const stream = await from.dialProtocol(to.getMultiaddrs()[0], '/zeus-test/noise/1');
      for (const m of messages) stream.send(m);
      await all;
      return Buffer.from(got.subarray());
    };
    expect((await echo(ours, theirs)).equals(expected)).toBe(true);
    expect((await echo(theirs, ours)).equals(expected)).toBe(true);
  }, 30_000);
});
