// The Docker Deliver Network (DDN): every node's OCI registry (`/v2/…`) over a content-addressed
// blob store on disk, registry tokens for pushing, and delivery of blobs by verified pieces from
// many peers at once. contracts.ts is the seam between the store and the fetcher; pieces.ts cuts
// blobs into pieces; partial.ts keeps downloads in progress; fetch.ts fetches; serve.ts serves
// /ddn; node.ts wires it into a node.
export * from './contracts.ts';
export { RegistryError, type OciErrorCode } from './errors.ts';
export { MediaType, readManifest, type Descriptor, type ManifestFacts } from './manifest.ts';
export { isDigest, isRepositoryName, isTag, parseDigest } from './names.ts';
export { registryPlugin, registryErrorDialect, MAX_BLOB_BYTES, MAX_MANIFEST_BYTES, type RegistryChain, type RegistryOptions } from './registry.ts';
export { DEFAULT_UPLOAD_LIMITS, uploadAllowance, type AccountStanding, type UploadAllowance, type UploadLimits } from './quota.ts';
export { namespaceOwner, type ChainApps, type NamespaceOwner } from './namespaces.ts';
export { DiskBlobStore, type GcOptions, type GcReport } from './store.ts';
export { Bitfield } from './bitfield.ts';
export { DdnNodeClient } from './client.ts';
export {
  DEFAULT_LIMITS,
  fetchBlob,
  fetchBlobs,
  type BlobRef,
  type FetchLimits,
  type FetchOptions,
  type FetchResult,
  type FetchStatus,
  type SourceStatus,
} from './fetch.ts';
export { FetchManager, type FetchJob, type FetchRequest } from './fetches.ts';
export { ImageFetches, type ImageJob, type ImageRequest } from './images.ts';
export { ImageLoadError, loadIntoDocker, newDockerClient, type LoadableImage } from './dockerLoad.ts';
export { fetchImageThroughNode, loadFetchedImage } from './imagePull.ts';
export { probeImage, UNFETCHABLE_IMAGE_CODES, type ImageProbe } from './probe.ts';
export { HttpClient } from './http.ts';
export { MapStore } from './maps.ts';
export { createDdnContext, ddnPaths, openNodeDdn } from './nodeDdn.ts';
export { PartialBlob, PieceStore } from './partial.ts';
export * from './pieces.ts';
export { ddnRoutes, type DdnContext, type ServeStats } from './serve.ts';
export {
  createRegistryToken,
  verifyRegistryToken,
  registryAudience,
  RegistryTokenError,
  DEFAULT_TOKEN_TTL_SECONDS,
  MAX_TOKEN_TTL_SECONDS,
  type RegistryTokenClaims,
} from './token.ts';
