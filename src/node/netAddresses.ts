import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';

// Network addresses a node is given (flags of `zeus node start` and `zeus init`, config.json):
// checked in one place, each bad value an error naming the flag it came from.

const HOSTS = ['ip4', 'ip6', 'dns', 'dns4', 'dns6'];

/** HOST:PORT, or [IPv6]:PORT. */
export function parseHostPort(s: string, flag = '--api'): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(s);
  if (!m || Number(m[3]) > 65535) throw new Error(`${flag} must be HOST:PORT (or [IPv6]:PORT), got "${s}"`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/** An http(s)://HOST[:PORT] URL with no path: where others reach this node's API. */
export function parseApiUrl(s: string, flag = '--api-announce'): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new Error(`${flag} must be a URL like https://node.example.org:26657, got "${s}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${flag} must be an http:// or https:// URL, got "${s}"`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || u.username) {
    throw new Error(`${flag} must be http(s)://HOST[:PORT] with no path, query or credentials, got "${s}"`);
  }
  return `${u.protocol}//${u.host}`;
}

/**
 * A TCP multiaddr: /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>, then /p2p/<peer id> when `peer` is
 * 'required', nothing more when 'forbidden', either when 'optional'.
 */
export function parseTcpMultiaddr(s: string, flag: string, peer: 'required' | 'forbidden' | 'optional'): string {
  const example = peer === 'required' ? '/ip4/203.0.113.7/tcp/26656/p2p/12D3KooW…' : '/ip4/0.0.0.0/tcp/26656';
  let parts;
  try {
    parts = multiaddr(s.trim()).getComponents();
  } catch (e) {
    throw new Error(`${flag}: "${s}" is not a multiaddr (${(e as Error).message}); expected e.g. ${example}`);
  }
  const names = parts.map((c) => c.name);
  if (!HOSTS.includes(names[0] ?? '') || names[1] !== 'tcp') throw new Error(`${flag}: "${s}" is not a TCP address; expected e.g. ${example}`);
  const rest = names.slice(2);
  if (rest.length > 1 || (rest.length === 1 && rest[0] !== 'p2p')) throw new Error(`${flag}: "${s}" has parts after /tcp/<port> other than /p2p/<peer id>`);
  const id = parts[2]?.value;
  if (peer === 'required' && id === undefined) throw new Error(`${flag}: "${s}" lacks /p2p/<peer id> (the peer id of the node there, from its /status)`);
  if (peer === 'forbidden' && id !== undefined) throw new Error(`${flag}: "${s}" must not name a peer id (/p2p/…): it is the address to bind`);
  if (id !== undefined) {
    try {
      peerIdFromString(id);
    } catch {
      throw new Error(`${flag}: "${id}" in "${s}" is not a peer id`);
    }
  }
  return multiaddr(s.trim()).toString();
}

/** A comma-separated list; an empty string is an empty list (to clear a saved one). */
export function parseMultiaddrList(s: string, flag: string, peer: 'required' | 'optional'): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x) => parseTcpMultiaddr(x, flag, peer));
}
