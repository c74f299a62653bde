import type { Digest } from './contracts.ts';
import { RegistryError } from './errors.ts';

// The OCI distribution spec's grammar (v1.1) for repository names, tags and digests. Names and
// tags become directory and file names in the store, so nothing that fails these checks ever
// reaches the filesystem: no `..`, no `.`, no empty or absolute component, no separator.

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
/** Clients put `host:port/` in front of the name; 255 keeps the whole reference usable. */
export const MAX_NAME_LENGTH = 255;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
/** The spec's general digest grammar: any algorithm a client might send. */
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function checkRepositoryName(name: string): string {
  if (name.length > MAX_NAME_LENGTH) {
    throw new RegistryError('NAME_INVALID', `repository name is ${name.length} characters; at most ${MAX_NAME_LENGTH} are allowed`);
  }
  if (!NAME_RE.test(name)) {
    throw new RegistryError(
      'NAME_INVALID',
      `invalid repository name "${name.slice(0, 300)}": use lowercase path components [a-z0-9] separated by ".", "_", "__" or "-", joined by "/"`,
      { detail: { name: name.slice(0, 300) } },
    );
  }
  return name;
}

export function isTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function isDigest(s: string): s is Digest {
  return SHA256_RE.test(s);
}

/** A `sha256:<64 hex>` digest; anything else is refused with the reason. */
export function parseDigest(s: string): Digest {
  if (SHA256_RE.test(s)) return s as Digest;
  if (DIGEST_RE.test(s) && !s.startsWith('sha256:')) {
    throw new RegistryError('DIGEST_INVALID', `digest algorithm "${s.slice(0, s.indexOf(':'))}" is not supported: this registry stores sha256 digests only`, {
      detail: { digest: s.slice(0, 200) },
    });
  }
  throw new RegistryError('DIGEST_INVALID', `invalid digest "${s.slice(0, 200)}": expected sha256: followed by 64 lowercase hex digits`, {
    detail: { digest: s.slice(0, 200) },
  });
}

/** The hex part of a sha256 digest. */
export const digestHex = (d: Digest): string => d.slice('sha256:'.length);
