// The seams between the parts of the Docker Deliver Network (DDN): the content-addressed blob
// store behind every node's OCI registry, and the peer-to-peer fetcher that fills it. Each side
// is built against these types only.

/** `sha256:` + 64 lowercase hex digits. */
export type Digest = `sha256:${string}`;

/** The node's content-addressed blob store (what its `/v2/` registry serves). */
export interface BlobStore {
  /** Whether a verified blob is stored. */
  has(digest: Digest): Promise<boolean>;
  /** Size in bytes of a stored blob, or undefined. */
  size(digest: Digest): Promise<number | undefined>;
  /** Path of a stored, verified blob file (read-only for the caller), or undefined. */
  path(digest: Digest): Promise<string | undefined>;
  /**
   * Adopts a complete file the caller wrote and verified elsewhere on the same filesystem: the
   * store checks its digest again and moves it in atomically (rename). Idempotent.
   */
  importFile(digest: Digest, file: string): Promise<void>;
  /** Stores a manifest (or index) under `repository` by digest and, if given, a tag. */
  putManifest(repository: string, bytes: Uint8Array, mediaType: string, tag?: string): Promise<Digest>;
  /** A stored manifest by tag or digest. */
  getManifest(repository: string, reference: string): Promise<{ bytes: Uint8Array; mediaType: string; digest: Digest } | undefined>;
}

/**
 * How a blob is cut for delivery: fixed 4 MiB pieces, each with its SHA-256, so a fetcher can
 * verify every piece on arrival from any peer. Published alongside the app's manifest.
 */
export interface PieceMap {
  digest: Digest;
  size: number;
  pieceSize: number;
  /** SHA-256 of each piece, hex, in order. */
  pieces: string[];
}

export const PIECE_SIZE = 4 * 1024 * 1024;

/** Progress of a fetch, for progress bars. */
export interface FetchProgress {
  digest: Digest;
  bytesTotal: number;
  bytesDone: number;
  piecesTotal: number;
  piecesDone: number;
  /** Peers currently serving pieces. */
  peers: number;
  /** Bytes that came from the origin rather than peers. */
  bytesFromOrigin: number;
}
