import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as resolved from '#crypto-impl';
import * as browser from './impl.browser.ts';
import * as nodeImpl from './impl.node.ts';
import { openSealed, sealKeyOfSigningKey, sealKeyPairFromSeed, sealKeyPairOfSigningSeed, sealTo } from './seal.ts';
import { signTx, TxKind } from '../ledger/index.ts';
import { addressFromPublicKey, encodeAddress } from './address.ts';
import { keyPairFromSeed } from './keys.ts';
import { merkleRoot } from './merkle.ts';

// The two implementations of the crypto primitives (impl.ts) must agree byte for byte: a key
// made in a browser must sign what a node verifies, and an envelope sealed in a browser must open
// on a worker. Each primitive runs in both on the same inputs; then the whole crypto part and a
// signed transaction are run in a Node process started with the "browser" condition (which
// resolves #crypto-impl to impl.browser.ts, as a bundler does) and compared with this one.

const impls = { node: nodeImpl, browser } as const;
const hex = (b: Uint8Array): string => nodeImpl.toHex(b);
const bytes = fc.uint8Array({ minLength: 0, maxLength: 300 });
const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

interface KeyVector {
  seed: string;
  publicKey: string;
  message: string;
  signature: string;
}
const vectors = JSON.parse(readFileSync(new URL('../../test/vectors/keys.json', import.meta.url), 'utf8')) as KeyVector[];

describe('crypto implementations (node:crypto and @noble) agree', () => {
  it('Node resolves #crypto-impl to the node:crypto implementation', () => {
    expect(resolved.sha256).toBe(nodeImpl.sha256);
    expect(resolved.ed25519Verify).toBe(nodeImpl.ed25519Verify);
  });

  it('sha256 of one part, several parts, nothing, and of UTF-8 text', () => {
    fc.assert(
      fc.property(fc.array(bytes, { maxLength: 4 }), fc.string({ unit: 'grapheme' }), (parts, text) => {
        expect(hex(browser.sha256(...parts))).toBe(hex(nodeImpl.sha256(...parts)));
        expect(hex(browser.sha256Utf8(text))).toBe(hex(nodeImpl.sha256Utf8(text)));
        for (const p of parts) {
          expect(nodeImpl.sha256Hex(p)).toBe(hex(nodeImpl.sha256(p)));
          expect(browser.sha256Hex(p)).toBe(hex(nodeImpl.sha256(p)));
          // Into the middle of a buffer, leaving the rest as it was.
          for (const impl of [nodeImpl, browser]) {
            const out = new Uint8Array(40).fill(0xee);
            impl.sha256Into(out, 5, p);
            expect(hex(out.subarray(5, 37))).toBe(hex(nodeImpl.sha256(p)));
            expect([...out.subarray(0, 5), ...out.subarray(37)].every((x) => x === 0xee)).toBe(true);
          }
        }
      }),
    );
    expect(hex(browser.sha256())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(browser.sha256(new Uint8Array(1 << 20).fill(7)))).toBe(hex(nodeImpl.sha256(new Uint8Array(1 << 20).fill(7))));
    // Parts that outgrow the scratch buffer the Node one copies small parts into, and parts past its
    // limit (hashed incrementally), every byte value (the digest crosses as a latin1 string), views
    // into larger buffers; and a digest is never shared with the next one.
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    const large = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);
    for (const parts of [
      [every, every],
      [new Uint8Array(5000).fill(1), every, new Uint8Array(9000).fill(2)],
      [large, every],
      [every.subarray(7, 99), large.subarray(3, 1003)],
    ])
      expect(hex(nodeImpl.sha256(...parts))).toBe(hex(browser.sha256(...parts)));
    const first = nodeImpl.sha256(every, every);
    const firstHex = hex(first);
    nodeImpl.sha256(large.subarray(0, 100), every);
    expect(hex(first)).toBe(firstHex);
    expect(first.buffer.byteLength).toBe(32);
  });

  it('hex in both directions, and the same refusals', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        expect(browser.toHex(b)).toBe(nodeImpl.toHex(b));
        expect(browser.fromHex(nodeImpl.toHex(b))).toEqual(b);
      }),
    );
    expect(browser.fromHex('AbCd')).toEqual(nodeImpl.fromHex('AbCd'));
    for (const bad of ['abc', 'zz', '0x00', ' 00']) {
      expect(() => browser.fromHex(bad)).toThrow(/invalid hex/);
      expect(() => nodeImpl.fromHex(bad)).toThrow(/invalid hex/);
    }
  });

  it('Ed25519: the RFC 8032 vectors, then the same key and signature from the same seed, each verifying the other', () => {
    for (const v of vectors) {
      for (const impl of Object.values(impls)) {
        expect(hex(impl.ed25519PublicKey(nodeImpl.fromHex(v.seed)))).toBe(v.publicKey);
        expect(hex(impl.ed25519Sign(nodeImpl.fromHex(v.seed), nodeImpl.fromHex(v.message)))).toBe(v.signature);
      }
    }
    fc.assert(
      fc.property(key32, bytes, (seed, msg) => {
        const pub = nodeImpl.ed25519PublicKey(seed);
        expect(hex(browser.ed25519PublicKey(seed))).toBe(hex(pub));
        const sig = nodeImpl.ed25519Sign(seed, msg);
        expect(hex(browser.ed25519Sign(seed, msg))).toBe(hex(sig));
        expect(browser.ed25519Verify(pub, msg, sig)).toBe(true);
        expect(nodeImpl.ed25519Verify(pub, msg, browser.ed25519Sign(seed, msg))).toBe(true);
        const bad = Uint8Array.from(sig);
        bad[msg.length % 64] ^= 1;
        expect(browser.ed25519Verify(pub, msg, bad)).toBe(false);
        expect(nodeImpl.ed25519Verify(pub, msg, bad)).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('Ed25519: malformed keys and signatures are refused alike (no throw), including a non-canonical S', () => {
    const seed = new Uint8Array(32).fill(3);
    const msg = new Uint8Array([1, 2, 3]);
    const pub = nodeImpl.ed25519PublicKey(seed);
    const sig = nodeImpl.ed25519Sign(seed, msg);
    // S + L (the group order) is the same scalar mod L: RFC 8032 (and OpenSSL) refuse S ≥ L.
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]);
    const sPlusL = s + L;
    const malleated = Uint8Array.from(sig);
    for (let i = 0; i < 32; i++) malleated[32 + i] = Number((sPlusL >> BigInt(8 * i)) & 0xffn);
    const cases: [Uint8Array, Uint8Array][] = [
      [pub, malleated],
      [pub.subarray(0, 31), sig],
      [pub, sig.subarray(0, 63)],
      [new Uint8Array(32).fill(0xff), sig],
      [new Uint8Array(32), sig],
    ];
    for (const [p, g] of cases) {
      expect(nodeImpl.ed25519Verify(p, msg, g)).toBe(false);
      expect(browser.ed25519Verify(p, msg, g)).toBe(false);
    }
  });

  it('X25519 public keys and shared secrets, HKDF-SHA256', () => {
    fc.assert(
      fc.property(key32, key32, bytes, bytes, (a, b, salt, info) => {
        const pubB = nodeImpl.x25519PublicKey(b);
        expect(hex(browser.x25519PublicKey(b))).toBe(hex(pubB));
        const shared = nodeImpl.x25519SharedSecret(a, pubB);
        expect(hex(browser.x25519SharedSecret(a, pubB))).toBe(hex(shared));
        expect(hex(browser.x25519SharedSecret(b, browser.x25519PublicKey(a)))).toBe(hex(shared));
        expect(hex(browser.hkdfSha256(shared, salt, info, 32))).toBe(hex(nodeImpl.hkdfSha256(shared, salt, info, 32)));
        expect(hex(browser.hkdfSha256(shared, new Uint8Array(0), info, 77))).toBe(hex(nodeImpl.hkdfSha256(shared, new Uint8Array(0), info, 77)));
      }),
      { numRuns: 30 },
    );
  });

  it('AES-256-GCM: the same ciphertext and tag, each opening the other, and both refusing any change', () => {
    fc.assert(
      fc.property(key32, fc.uint8Array({ minLength: 12, maxLength: 12 }), bytes, fc.option(bytes, { nil: undefined }), (key, nonce, pt, aad) => {
        const sealed = nodeImpl.aesGcmSeal(key, nonce, pt, aad);
        expect(hex(browser.aesGcmSeal(key, nonce, pt, aad))).toBe(hex(sealed));
        expect(hex(browser.aesGcmOpen(key, nonce, sealed, aad))).toBe(hex(pt));
        expect(hex(nodeImpl.aesGcmOpen(key, nonce, browser.aesGcmSeal(key, nonce, pt, aad), aad))).toBe(hex(pt));
        const bad = Uint8Array.from(sealed);
        bad[pt.length % bad.length] ^= 0x80;
        expect(() => browser.aesGcmOpen(key, nonce, bad, aad)).toThrow();
        expect(() => nodeImpl.aesGcmOpen(key, nonce, bad, aad)).toThrow();
      }),
      { numRuns: 50 },
    );
  });

  it('a Node process with the "browser" condition (the @noble implementation) makes the same keys, addresses and transactions, and its envelopes open here and ours there', () => {
    const seed = new Uint8Array(32).map((_, i) => i * 7 + 1);
    const worker = sealKeyPairFromSeed(seed);
    const ours = sealTo([worker.publicKey, sealKeyOfSigningKey(keyPairFromSeed(seed).publicKey)], new TextEncoder().encode('sealed by node:crypto'));
    const url = (p: string): string => new URL(p, import.meta.url).href;
    const script = `
      import * as c from ${JSON.stringify(url('./portable.ts'))};
      import { signTx, TxKind } from ${JSON.stringify(url('../ledger/index.ts'))};
      import { sha256 } from '#crypto-impl';
      import * as b from ${JSON.stringify(url('./impl.browser.ts'))};
      const seed = c.fromHex(process.argv[1]);
      const kp = c.keyPairFromSeed(seed);
      const worker = c.sealKeyPairFromSeed(seed);
      const owner = c.sealKeyPairOfSigningSeed(seed);
      const tx = signTx(kp, { chainId: 'zeus-dev-1', kind: TxKind.Transfer, nonce: 3n, payload: { to: c.addressFromPublicKey(kp.publicKey), token: 'ZNC', amount: 12345n, memo: 'both ways' } });
      console.log(JSON.stringify({
        browserImpl: sha256 === b.sha256,
        publicKey: c.toHex(kp.publicKey),
        address: c.encodeAddress(c.addressFromPublicKey(kp.publicKey)),
        sealKey: c.toHex(worker.publicKey),
        ownerSealKey: c.toHex(owner.publicKey),
        tx: c.toHex(tx),
        opened: new TextDecoder().decode(c.openSealed(worker, c.fromHex(process.argv[2]))),
        openedByOwner: new TextDecoder().decode(c.openSealed(owner, c.fromHex(process.argv[2]))),
        sealed: c.toHex(c.sealTo([worker.publicKey], new TextEncoder().encode('sealed by @noble'))),
        merkle: c.toHex(c.merkleRoot([seed, seed.subarray(1), new Uint8Array(0)])),
      }));`;
    const out = execFileSync(process.execPath, ['--conditions=browser', '--input-type=module', '-e', script, hex(seed), hex(ours)], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    });
    const r = JSON.parse(out) as Record<string, string | boolean>;
    expect(r.browserImpl).toBe(true);
    const kp = keyPairFromSeed(seed);
    expect(r.publicKey).toBe(hex(kp.publicKey));
    expect(r.sealKey).toBe(hex(worker.publicKey));
    expect(r.ownerSealKey).toBe(hex(sealKeyPairOfSigningSeed(seed).publicKey));
    expect(r.opened).toBe('sealed by node:crypto');
    expect(r.openedByOwner).toBe('sealed by node:crypto');
    expect(new TextDecoder().decode(openSealed(worker, nodeImpl.fromHex(r.sealed as string)))).toBe('sealed by @noble');
    expect(r.address).toBe(encodeAddress(addressFromPublicKey(kp.publicKey)));
    expect(r.tx).toBe(
      hex(
        signTx(kp, {
          chainId: 'zeus-dev-1',
          kind: TxKind.Transfer,
          nonce: 3n,
          payload: { to: addressFromPublicKey(kp.publicKey), token: 'ZNC', amount: 12345n, memo: 'both ways' },
        }),
      ),
    );
    expect(r.merkle).toBe(hex(merkleRoot([seed, seed.subarray(1), new Uint8Array(0)])));
  });
});
