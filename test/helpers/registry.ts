import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createRegistryToken, type Digest } from '../../src/ddn/index.ts';
import { initDevHome, jsonOrUndefined, loadDevKeys, startNode, type DevHome, type ZeusProcess } from './processes.ts';

// Helpers for tests that talk to a real node's OCI registry over HTTP: credentials signed by a
// dev key, raw requests (paths sent exactly as written, `..` and %-escapes included), and
// pushing blobs and manifests the way registry clients do.

export const sha256 = (b: Uint8Array | string): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export interface RegistryNode {
  home: DevHome;
  node: ZeusProcess;
  url: string;
  /** `host:port`, as Docker names the registry. */
  host: string;
}

export async function startRegistryNode(prefix: string): Promise<RegistryNode> {
  const home = await initDevHome({ prefix });
  const { node, url } = await startNode(home.home);
  return { home, node, url, host: new URL(url).host };
}

export interface Credentials {
  address: string;
  token: string;
  /** `Authorization` header value: Basic address:token, as Docker sends after `docker login`. */
  basic: string;
}

/** A registry token signed by the dev key `name` of the node's home. */
export async function credentials(r: RegistryNode, name: string, ttlSeconds = 600): Promise<Credentials> {
  const { audience } = (await (await fetch(`${r.url}/v2/_auth/info`)).json()) as { audience: string };
  const key = loadDevKeys(r.home.home, [name])[name];
  const token = createRegistryToken(key, { audience, nowMs: Date.now(), ttlSeconds });
  return { address: key.address, token, basic: `Basic ${Buffer.from(`${key.address}:${token}`).toString('base64')}` };
}

export interface RegistryAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  header(name: string): string | undefined;
  body: Uint8Array;
  text: string;
  /** Parsed JSON body, or undefined. */
  json: OciJson;
}

/** One entry of an OCI refusal (`{"errors":[…]}`); ours carry a `reason` in `detail` where the code is shared. */
export interface OciError {
  code: string;
  message: string;
  detail?: { reason?: string } & Record<string, unknown>;
}

/** A descriptor in a manifest or an index. */
export interface OciDescriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
}

/**
 * The JSON bodies of the OCI distribution API that the tests read; an answer has the fields of its
 * kind: `errors` (a refusal), `name` and `tags` (tags/list), `manifests` (an index: the referrers
 * API), `config` and `layers` (an image manifest).
 */
export interface OciJson {
  errors?: OciError[];
  name?: string;
  tags?: string[];
  manifests?: OciDescriptor[];
  config?: OciDescriptor;
  layers?: OciDescriptor[];
}

/** One HTTP request with the path sent byte for byte (fetch would normalize `..` and escapes). */
export function rawRequest(
  url: string,
  method: string,
  path: string,
  o: { headers?: Record<string, string>; body?: Uint8Array | string } = {},
): Promise<RegistryAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = new Uint8Array(Buffer.concat(chunks));
        const text = Buffer.from(body).toString('utf8');
        const json = jsonOrUndefined(text) as OciJson;
        const headers = res.headers;
        const header = (n: string): string | undefined => {
          const v = headers[n.toLowerCase()];
          return Array.isArray(v) ? v.join(', ') : v;
        };
        resolve({ status: res.statusCode ?? 0, headers, header, body, text, json });
      });
    });
    req.on('error', reject);
    req.end(o.body === undefined ? undefined : Buffer.from(o.body));
  });
}

/** A registry client for one node, optionally authenticated, in the manner of the conformance suite's. */
export class RegistryClient {
  readonly url: string;
  readonly auth: string | undefined;

  constructor(url: string, auth?: Credentials) {
    this.url = url;
    this.auth = auth?.basic;
  }

  request(method: string, path: string, o: { headers?: Record<string, string>; body?: Uint8Array | string } = {}): Promise<RegistryAnswer> {
    const headers: Record<string, string> = { ...(this.auth ? { authorization: this.auth } : {}), ...o.headers };
    if (o.body !== undefined) headers['content-length'] ??= String(Buffer.byteLength(o.body));
    return rawRequest(this.url, method, path, { headers, body: o.body });
  }

  /** POST then PUT ?digest=: the monolithic upload every conformance setup step uses. */
  async pushBlob(name: string, content: Uint8Array): Promise<Digest> {
    const post = await this.request('POST', `/v2/${name}/blobs/uploads/`);
    if (post.status !== 202) throw new Error(`POST upload answered ${post.status}: ${post.text}`);
    const d = sha256(content);
    const put = await this.request('PUT', withQuery(post.header('location')!, { digest: d }), {
      headers: { 'content-type': 'application/octet-stream' },
      body: content,
    });
    if (put.status !== 201) throw new Error(`PUT upload answered ${put.status}: ${put.text}`);
    return d;
  }

  async pushManifest(name: string, reference: string, content: Uint8Array, mediaType: string): Promise<RegistryAnswer> {
    return this.request('PUT', `/v2/${name}/manifests/${reference}`, { headers: { 'content-type': mediaType }, body: content });
  }
}

/** Adds query parameters to a (relative) Location. */
export function withQuery(location: string, params: Record<string, string>): string {
  return `${location}${location.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`;
}

/** OCI error code of an answer (`{"errors":[{code,…}]}`), or undefined. */
export const errorCode = (a: RegistryAnswer): string | undefined => a.json?.errors?.[0]?.code;
