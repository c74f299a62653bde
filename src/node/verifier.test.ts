import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPair, signBytes } from '../crypto/index.ts';
import { packChecks, SignatureVerifier, unpackChecks, type SignatureCheck } from './verifier.ts';

// The verifier threads get a batch packed into one buffer: every answer must still be the answer
// for its own check, in order, whatever the messages' lengths and wherever the bad ones sit.

const verifier = new SignatureVerifier(2);
afterAll(() => verifier.close());

function checks(n: number, bad: (i: number) => boolean): SignatureCheck[] {
  const keys = Array.from({ length: 5 }, () => generateKeyPair());
  return Array.from({ length: n }, (_, i) => {
    const k = keys[i % keys.length];
    const msg = new Uint8Array(1 + ((i * 37) % 300)).fill(i & 0xff);
    const sig = signBytes(k.secretKey, msg);
    if (bad(i)) sig[i % 64] ^= 1;
    return { pk: k.publicKey, msg, sig };
  });
}

describe('signature verifier threads', () => {
  it('answers each check of a large batch in order, valid and not', async () => {
    const bad = (i: number): boolean => i % 7 === 3 || i === 0 || i === 199;
    const items = checks(200, bad);
    const answers = await verifier.verify(items);
    expect(answers).toEqual(items.map((_, i) => !bad(i)));
    expect(verifier.checked).toBeGreaterThanOrEqual(200);
  });

  it('refuses a check whose key or signature has the wrong size, and the rest still count', async () => {
    const items = checks(20, () => false);
    items[5] = { ...items[5], pk: items[5].pk.subarray(0, 31) };
    items[9] = { ...items[9], sig: new Uint8Array(65) };
    expect(await verifier.verify(items)).toEqual(items.map((_, i) => i !== 5 && i !== 9));
  });

  it('packs and unpacks checks byte for byte', () => {
    const items = checks(12, (i) => i === 4);
    const back = unpackChecks(packChecks(items));
    expect(back.map((c) => [c.pk, c.sig, c.msg].map((b) => Buffer.from(b).toString('hex')))).toEqual(
      items.map((c) => [c.pk, c.sig, c.msg].map((b) => Buffer.from(b).toString('hex'))),
    );
  });
});
