// The Docker Deliver Network: blobs delivered by verified pieces from many peers at once.
// contracts.ts is the seam with the node's blob store; pieces.ts cuts blobs into pieces;
// partial.ts keeps downloads in progress; fetch.ts fetches; serve.ts serves /ddn; node.ts wires
// it into a node.
export * from './contracts.ts';
export { Bitfield } from './bitfield.ts';
export { DdnNodeClient } from './client.ts';
export { DEFAULT_LIMITS, fetchBlob, fetchBlobs, type BlobRef, type FetchLimits, type FetchOptions, type FetchResult, type FetchStatus, type SourceStatus } from './fetch.ts';
export { FetchManager, type FetchJob, type FetchRequest } from './fetches.ts';
export { HttpClient } from './http.ts';
export { MapStore } from './maps.ts';
export { createDdnContext, ddnPaths, openNodeDdn, provideBlobStore } from './node.ts';
export { PartialBlob, PieceStore } from './partial.ts';
export * from './pieces.ts';
export { ddnRoutes, type DdnContext, type ServeStats } from './serve.ts';
