import { existsSync, readFileSync } from 'node:fs';

// Where `zeus init --genesis` reads a genesis from: a file, a running node's API (GET /genesis),
// or a direct http(s) URL of a genesis JSON. Each failure says which source and why.

/** A genesis is a few kilobytes; anything far larger is not one. */
const MAX_GENESIS_BYTES = 16 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 15_000;

export interface GenesisSource {
  json: unknown;
  /** The file or URL it was read from. */
  source: string;
}

/** A node's base URL (no path) means its GET /genesis; any other URL is the genesis itself. */
export function genesisUrl(s: string): URL {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new Error(`--genesis: "${s}" is neither a file nor an http(s) URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--genesis: "${s}" is not an http(s) URL`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/genesis';
  return u;
}

function parse(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not JSON (${(e as Error).message}); a genesis is the JSON file \`zeus genesis\` builds`);
  }
}

export async function readGenesisSource(s: string): Promise<GenesisSource> {
  if (!/^https?:\/\//i.test(s)) {
    if (!existsSync(s)) throw new Error(`--genesis: no file ${s} (give a genesis file, a node's URL such as http://203.0.113.7:26657, or a genesis URL)`);
    return { json: parse(readFileSync(s, 'utf8'), s), source: s };
  }
  const url = genesisUrl(s);
  const source = url.toString();
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'follow', headers: { accept: 'application/json' } });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new Error(`could not fetch the genesis from ${source}: ${why}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(
      `could not fetch the genesis from ${source}: HTTP ${res.status}${res.status === 404 ? ' (is it a ZeusNet node, or the URL of a genesis file?)' : ''}`,
    );
  }
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > MAX_GENESIS_BYTES) {
    await res.body?.cancel();
    throw new Error(`${source} answered ${length} bytes; a genesis is far smaller (at most ${MAX_GENESIS_BYTES})`);
  }
  const text = await res.text();
  if (text.length > MAX_GENESIS_BYTES) throw new Error(`${source} answered more than ${MAX_GENESIS_BYTES} bytes; a genesis is far smaller`);
  return { json: parse(text, source), source };
}
