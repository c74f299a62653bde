import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, encodeAddress, generateKeyPair } from '../crypto/index.ts';
import { createRegistryToken, registryAudience, verifyRegistryToken } from './token.ts';

const alice = generateKeyPair();
const mallory = generateKeyPair();
const node = generateKeyPair();
const audience = registryAudience('zeus-dev-1', node.publicKey);
const now = 1_800_000_000_000;
const aliceAddress = encodeAddress(addressFromPublicKey(alice.publicKey));

const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

describe('registry tokens', () => {
  it('verify for the account that signed them, at the node they name, while they live', () => {
    const t = createRegistryToken(alice, { audience, nowMs: now, ttlSeconds: 600 });
    const c = verifyRegistryToken(t, { audience, nowMs: now + 599_000, address: aliceAddress });
    expect(c.sub).toBe(aliceAddress);
    expect(c.exp - c.iat).toBe(600);
    expect(reason(() => verifyRegistryToken(t, { audience, nowMs: now + 600_000 }))).toMatch(/expired/);
    expect(reason(() => verifyRegistryToken(t, { audience: registryAudience('zeus-dev-1', mallory.publicKey), nowMs: now }))).toMatch(/another node/);
    expect(reason(() => verifyRegistryToken(t, { audience, nowMs: now, address: encodeAddress(addressFromPublicKey(mallory.publicKey)) }))).toMatch(
      /not for user/,
    );
  });

  it('cannot be forged: claims naming another key, edited claims and foreign signatures fail', () => {
    const t = createRegistryToken(mallory, { audience, nowMs: now });
    const [prefix, body, sig] = t.split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    // Mallory's signature over claims that name Alice's key and address.
    const asAlice = Buffer.from(JSON.stringify({ ...claims, sub: aliceAddress, pk: Buffer.from(alice.publicKey).toString('hex') })).toString('base64url');
    expect(reason(() => verifyRegistryToken(`${prefix}.${asAlice}.${sig}`, { audience, nowMs: now }))).toMatch(/signature/);
    // Mallory's own key with Alice's address.
    const wrongSub = Buffer.from(JSON.stringify({ ...claims, sub: aliceAddress })).toString('base64url');
    expect(reason(() => verifyRegistryToken(`${prefix}.${wrongSub}.${sig}`, { audience, nowMs: now }))).toMatch(/does not belong/);
    const longer = Buffer.from(JSON.stringify({ ...claims, exp: (claims.exp as number) + 3600 })).toString('base64url');
    expect(reason(() => verifyRegistryToken(`${prefix}.${longer}.${sig}`, { audience, nowMs: now }))).toMatch(/signature/);
    expect(reason(() => verifyRegistryToken('zrt1.e30.AAAA', { audience, nowMs: now }))).toMatch(/incomplete/);
    expect(reason(() => verifyRegistryToken('hunter2', { audience, nowMs: now }))).toMatch(/not a ZeusNet registry token/);
  });

  it('are short-lived: a lifetime over a day is refused when made and when checked', () => {
    expect(reason(() => createRegistryToken(alice, { audience, nowMs: now, ttlSeconds: 2 * 86_400 }))).toMatch(/lifetime/);
    expect(reason(() => verifyRegistryToken(createRegistryToken(alice, { audience, nowMs: now + 3_600_000 }), { audience, nowMs: now }))).toMatch(/future/);
  });
});
