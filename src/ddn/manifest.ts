import type { Digest } from './contracts.ts';
import { RegistryError } from './errors.ts';
import { isDigest } from './names.ts';

// What the registry needs to know of a manifest before it stores one: that it is JSON of one
// of the four image formats Docker and OCI clients push, which blobs it needs, which manifests
// an index lists, and the subject it refers to (for the referrers API). Pure: bytes in, facts out.

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const IMAGE_TYPES: ReadonlySet<string> = new Set([MediaType.OciManifest, MediaType.DockerManifest]);
const INDEX_TYPES: ReadonlySet<string> = new Set([MediaType.OciIndex, MediaType.DockerManifestList]);
/** RFC 6838 type/subtype, as the OCI image spec requires of every descriptor. */
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isManifestMediaType(t: string): boolean {
  return IMAGE_TYPES.has(t) || INDEX_TYPES.has(t);
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ManifestFacts {
  mediaType: string;
  kind: 'image' | 'index';
  /** Blobs an image manifest needs stored (config and layers; non-distributable layers left out). */
  blobs: Descriptor[];
  /** Manifests an index lists. */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** What the referrers API reports: `artifactType`, else an image's config media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

const invalid = (message: string, detail?: unknown): RegistryError => new RegistryError('MANIFEST_INVALID', message, { detail });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function annotationsOf(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) throw invalid(`${where}.annotations must map strings to strings`);
  return v as Record<string, string>;
}

function descriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size, artifactType } = v;
  if (typeof mediaType !== 'string' || !MEDIA_TYPE_RE.test(mediaType))
    throw invalid(`${where}.mediaType must be a media type such as application/vnd.oci.image.layer.v1.tar+gzip`);
  if (typeof digest !== 'string') throw invalid(`${where}.digest must be a string`);
  if (!isDigest(digest))
    throw invalid(
      `${where}.digest "${digest.slice(0, 100)}" is not a sha256 digest (sha256: and 64 lowercase hex digits), the only algorithm this registry stores`,
      { digest: digest.slice(0, 100) },
    );
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a whole number of bytes`);
  if (artifactType !== undefined && (typeof artifactType !== 'string' || !MEDIA_TYPE_RE.test(artifactType)))
    throw invalid(`${where}.artifactType must be a media type`);
  const annotations = annotationsOf(v.annotations, where);
  return { mediaType, digest, size, ...(artifactType === undefined ? {} : { artifactType }), ...(annotations ? { annotations } : {}) };
}

function descriptors(v: unknown, where: string): Descriptor[] {
  if (!Array.isArray(v)) throw invalid(`${where} must be an array of descriptors`);
  return v.map((d, i) => descriptor(d, `${where}[${i}]`));
}

/** Layers a registry need not hold: their bytes live elsewhere (Windows base layers and the like). */
const nonDistributable = (d: Descriptor): boolean => d.mediaType.includes('nondistributable') || d.mediaType.includes('foreign');

/**
 * Checks a pushed manifest and tells what it references. `contentType` is the request's
 * Content-Type (parameters ignored); when the body names its own `mediaType` the two must agree.
 */
export function readManifest(bytes: Uint8Array, contentType: string | undefined): ManifestFacts {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw invalid(`manifest is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');
  if (doc.schemaVersion !== 2) throw invalid('manifest schemaVersion must be 2 (Docker image manifest v2 schema 2 or OCI); schema 1 is not supported');
  const declared = contentType?.split(';')[0].trim().toLowerCase() || undefined;
  const own = doc.mediaType;
  if (own !== undefined && typeof own !== 'string') throw invalid('manifest mediaType must be a string');
  if (own !== undefined && declared !== undefined && isManifestMediaType(declared) && own !== declared) {
    throw invalid(`manifest says mediaType "${own}" but was sent as Content-Type "${declared}"; they must be the same`);
  }
  const mediaType = declared !== undefined && isManifestMediaType(declared) ? declared : own;
  if (mediaType === undefined || !isManifestMediaType(mediaType)) {
    throw invalid(`unsupported manifest media type "${(declared ?? own ?? '').slice(0, 100)}": send one of ${[...IMAGE_TYPES, ...INDEX_TYPES].join(', ')}`);
  }
  if ((mediaType === MediaType.DockerManifest || mediaType === MediaType.DockerManifestList) && own !== mediaType) {
    throw invalid(`a Docker manifest must carry "mediaType": "${mediaType}" in its body`);
  }
  const subject = doc.subject === undefined ? undefined : descriptor(doc.subject, 'subject');
  const annotations = annotationsOf(doc.annotations, 'manifest');
  const ownArtifactType = doc.artifactType;
  if (ownArtifactType !== undefined && (typeof ownArtifactType !== 'string' || !MEDIA_TYPE_RE.test(ownArtifactType)))
    throw invalid('artifactType must be a media type');
  if (IMAGE_TYPES.has(mediaType)) {
    if (doc.manifests !== undefined) throw invalid('an image manifest has no "manifests"; push an index with an index media type');
    const config = descriptor(doc.config, 'config');
    const layers = descriptors(doc.layers, 'layers');
    return {
      mediaType,
      kind: 'image',
      blobs: [config, ...layers.filter((l) => !nonDistributable(l))],
      manifests: [],
      subject,
      artifactType: ownArtifactType ?? config.mediaType,
      annotations,
    };
  }
  if (doc.config !== undefined || doc.layers !== undefined)
    throw invalid('an index has no "config" or "layers"; push an image manifest with an image media type');
  return { mediaType, kind: 'index', blobs: [], manifests: descriptors(doc.manifests, 'manifests'), subject, artifactType: ownArtifactType, annotations };
}
