import {
  addressFromPublicKey,
  bytesEqual,
  concatBytes,
  encodeAddress,
  fromHex,
  signBytes,
  toHex,
  utf8,
  verifySignature,
  type KeyPair,
} from '../crypto/index.ts';

// Registry tokens: how an account proves to a node's registry that it may push. `docker login`
// stores HTTP Basic credentials; ZeusNet's are the account's znc1… address as user name and, as
// password, a short-lived token the account's Ed25519 key signed:
//
//   zrt1.<base64url(claims JSON)>.<base64url(signature)>
//   claims = {"v":1,"sub":"znc1…","pk":"<public key hex>","aud":"<node audience>","iat":s,"exp":s}
//   signature = Ed25519(key, "zeusnet/registry-token/v1\n" || claims JSON bytes)
//
// The node checks the signature over the exact bytes sent, that the key hashes to `sub` (and to
// the Basic user name), that `aud` names this node (a token shown to one node cannot be replayed
// at another), and the time window. No server-side state: the token is the whole credential.

export const TOKEN_PREFIX = 'zrt1';
/** Longest lifetime a node accepts: tokens are meant to be short-lived. */
export const MAX_TOKEN_TTL_SECONDS = 24 * 3600;
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
/** Clock difference tolerated between the signer and the node. */
const SKEW_SECONDS = 300;
const DOMAIN = utf8('zeusnet/registry-token/v1\n');

export interface RegistryTokenClaims {
  v: 1;
  /** The account's znc1… address. */
  sub: string;
  /** The account's Ed25519 public key, hex. */
  pk: string;
  /** The node the token is for (see `registryAudience`). */
  aud: string;
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** Expires at, seconds since the epoch. */
  exp: number;
}

export class RegistryTokenError extends Error {}

/** What a node's tokens must name: its chain and its own key. */
export function registryAudience(chainId: string, nodePublicKey: Uint8Array): string {
  return `zeusnet-registry:${chainId}:${toHex(nodePublicKey)}`;
}

const b64url = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

export function createRegistryToken(key: KeyPair, o: { audience: string; nowMs: number; ttlSeconds?: number }): string {
  const ttl = o.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS)
    throw new RegistryTokenError(`token lifetime must be 1 to ${MAX_TOKEN_TTL_SECONDS} seconds`);
  const iat = Math.floor(o.nowMs / 1000);
  const claims: RegistryTokenClaims = {
    v: 1,
    sub: encodeAddress(addressFromPublicKey(key.publicKey)),
    pk: toHex(key.publicKey),
    aud: o.audience,
    iat,
    exp: iat + ttl,
  };
  const body = utf8(JSON.stringify(claims));
  return `${TOKEN_PREFIX}.${b64url(body)}.${b64url(signBytes(key.secretKey, concatBytes(DOMAIN, body)))}`;
}

/** Checks a token for this node; returns its claims or throws with the reason. */
export function verifyRegistryToken(token: string, o: { audience: string; nowMs: number; address?: string }): RegistryTokenClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX || token.length > 4096)
    throw new RegistryTokenError('not a ZeusNet registry token (zrt1.…): create one with `zeus registry token`');
  const body = new Uint8Array(Buffer.from(parts[1], 'base64url'));
  const signature = new Uint8Array(Buffer.from(parts[2], 'base64url'));
  let c: Partial<RegistryTokenClaims>;
  try {
    c = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)) as Partial<RegistryTokenClaims>;
  } catch {
    throw new RegistryTokenError('registry token claims are not JSON');
  }
  if (c.v !== 1 || typeof c.sub !== 'string' || typeof c.pk !== 'string' || typeof c.aud !== 'string' || !Number.isInteger(c.iat) || !Number.isInteger(c.exp)) {
    throw new RegistryTokenError('registry token claims are incomplete');
  }
  let publicKey: Uint8Array;
  try {
    publicKey = fromHex(c.pk);
  } catch {
    throw new RegistryTokenError('registry token public key is not hex');
  }
  if (publicKey.length !== 32 || encodeAddress(addressFromPublicKey(publicKey)) !== c.sub)
    throw new RegistryTokenError('registry token key does not belong to its address');
  if (o.address !== undefined && o.address !== c.sub) throw new RegistryTokenError(`registry token is for ${c.sub}, not for user ${o.address}`);
  if (!verifySignature(publicKey, concatBytes(DOMAIN, body), signature)) throw new RegistryTokenError('registry token signature is invalid');
  if (c.aud !== o.audience) throw new RegistryTokenError('registry token is for another node: log in to this node again');
  const now = Math.floor(o.nowMs / 1000);
  const iat = c.iat as number;
  const exp = c.exp as number;
  if (exp <= now) throw new RegistryTokenError('registry token has expired: log in again (zeus registry login)');
  if (iat > now + SKEW_SECONDS) throw new RegistryTokenError('registry token is issued in the future: check the clock');
  if (exp - iat > MAX_TOKEN_TTL_SECONDS) throw new RegistryTokenError(`registry token lives longer than ${MAX_TOKEN_TTL_SECONDS} seconds`);
  return c as RegistryTokenClaims;
}

/** The public key a verified token carries. */
export const tokenPublicKey = (c: RegistryTokenClaims): Uint8Array => fromHex(c.pk);

export const isKeyOf = (c: RegistryTokenClaims, publicKey: Uint8Array): boolean => bytesEqual(tokenPublicKey(c), publicKey);
