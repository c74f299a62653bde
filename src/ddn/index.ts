// The Docker Deliver Network (DDN): every node's OCI registry (`/v2/…`) over a content-addressed
// blob store on disk, registry tokens for pushing, and the contracts with the peer-to-peer fetcher.
export * from './contracts.ts';
export { RegistryError, type OciErrorCode } from './errors.ts';
export { MediaType, readManifest, type Descriptor, type ManifestFacts } from './manifest.ts';
export { isDigest, isRepositoryName, isTag, parseDigest } from './names.ts';
export { registryPlugin, registryFrameworkError, MAX_BLOB_BYTES, MAX_MANIFEST_BYTES, type RegistryOptions } from './registry.ts';
export { DiskBlobStore, type GcOptions, type GcReport } from './store.ts';
export {
  createRegistryToken,
  verifyRegistryToken,
  registryAudience,
  RegistryTokenError,
  DEFAULT_TOKEN_TTL_SECONDS,
  MAX_TOKEN_TTL_SECONDS,
  type RegistryTokenClaims,
} from './token.ts';
