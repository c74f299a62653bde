import { describe, expect, it } from 'vitest';
import { apiAnnounceUrl, NodeConfigSchema, type NodeConfig } from '../node/index.ts';
import { parseApiUrl, parseHostPort, parseTcpMultiaddr } from '../node/index.ts';
import { applyNetworkFlags } from './netOptions.ts';

const PEER = '12D3KooWLPRD2tpTw291Zv3eC8Cj3jNa38sR2ckqKoLp1MaSaoox';
const base: NodeConfig = { chainId: 'c', api: { host: '127.0.0.1', port: 26657 }, blockIntervalMs: 1000, bookkeeperKey: 'bookkeeper-0', mempoolMax: 10 };

describe('network flags of zeus node start', () => {
  it('parse HOST:PORT, [IPv6]:PORT and API URLs, naming the flag in each refusal', () => {
    expect(parseHostPort('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseHostPort('[::1]:26657')).toEqual({ host: '::1', port: 26657 });
    expect(() => parseHostPort('localhost')).toThrow(/--api must be HOST:PORT/);
    expect(() => parseHostPort('h:70000')).toThrow(/--api/);
    expect(parseApiUrl('https://node.example.org:8443/')).toBe('https://node.example.org:8443');
    expect(() => parseApiUrl('node.example.org')).toThrow(/--api-announce must be a URL/);
    expect(() => parseApiUrl('ftp://x')).toThrow(/--api-announce must be an http/);
    expect(() => parseApiUrl('http://x/api')).toThrow(/--api-announce .*no path/);
  });

  it('parse multiaddrs: a bind address without a peer id, bootstrap peers with one', () => {
    expect(parseTcpMultiaddr('/ip4/0.0.0.0/tcp/26656', '--p2p-listen', 'forbidden')).toBe('/ip4/0.0.0.0/tcp/26656');
    expect(() => parseTcpMultiaddr('0.0.0.0:26656', '--p2p-listen', 'forbidden')).toThrow(/--p2p-listen: "0.0.0.0:26656" is not a multiaddr/);
    expect(() => parseTcpMultiaddr('/ip4/1.2.3.4/udp/1', '--p2p-listen', 'forbidden')).toThrow(/--p2p-listen: .* is not a TCP address/);
    expect(() => parseTcpMultiaddr(`/ip4/1.2.3.4/tcp/1/p2p/${PEER}`, '--p2p-listen', 'forbidden')).toThrow(/must not name a peer id/);
    expect(() => parseTcpMultiaddr('/ip4/1.2.3.4/tcp/1', '--bootstrap', 'required')).toThrow(/--bootstrap: .* lacks \/p2p\/<peer id>/);
    expect(() => parseTcpMultiaddr('/ip4/1.2.3.4/tcp/1/p2p/QmNotAPeer', '--bootstrap', 'required')).toThrow(/--bootstrap/);
    expect(parseTcpMultiaddr(`/dns4/node.example.org/tcp/26656/p2p/${PEER}`, '--bootstrap', 'required')).toContain(PEER);
  });

  it('are written into the config: p2p made by --p2p-listen, lists replaced, "" clears', () => {
    expect(() => applyNetworkFlags(base, { bootstrap: `/ip4/1.2.3.4/tcp/1/p2p/${PEER}` })).toThrow(/--bootstrap needs a p2p network: .*--p2p-listen/);
    const c = applyNetworkFlags(base, {
      api: '0.0.0.0:8080',
      apiAnnounce: 'https://api.example.org',
      p2pListen: '/ip4/0.0.0.0/tcp/26656',
      p2pAnnounce: '/dns4/node.example.org/tcp/26656, /ip4/203.0.113.7/tcp/26656',
      bootstrap: `/ip4/10.0.0.1/tcp/26656/p2p/${PEER}`,
    });
    expect(NodeConfigSchema.parse(c)).toEqual(c);
    expect(c.api).toEqual({ host: '0.0.0.0', port: 8080, announce: 'https://api.example.org' });
    expect(c.p2p).toEqual({
      listen: '/ip4/0.0.0.0/tcp/26656',
      announce: ['/dns4/node.example.org/tcp/26656', '/ip4/203.0.113.7/tcp/26656'],
      bootstrap: [`/ip4/10.0.0.1/tcp/26656/p2p/${PEER}`],
    });
    const cleared = applyNetworkFlags(c, { bootstrap: '', p2pAnnounce: '', apiAnnounce: '' });
    expect(cleared.p2p).toEqual({ listen: '/ip4/0.0.0.0/tcp/26656', bootstrap: [] });
    expect(cleared.api.announce).toBeUndefined();
    expect(base.p2p).toBeUndefined(); // the config given is not changed
  });

  it('a config without a bookkeeper key is valid (a full node); the API announce URL defaults from host:port unless it is a wildcard', () => {
    const { bookkeeperKey: _, ...full } = base;
    expect(NodeConfigSchema.parse(full).bookkeeperKey).toBeUndefined();
    expect(apiAnnounceUrl({ host: '127.0.0.1', port: 1 }, 4242)).toBe('http://127.0.0.1:4242');
    expect(apiAnnounceUrl({ host: '::1', port: 5 })).toBe('http://[::1]:5');
    expect(apiAnnounceUrl({ host: '0.0.0.0', port: 5 })).toBeUndefined();
    expect(apiAnnounceUrl({ host: '0.0.0.0', port: 5, announce: 'https://n.example.org/' })).toBe('https://n.example.org');
    expect(() => NodeConfigSchema.parse({ ...base, api: { ...base.api, announce: 'n.example.org' } })).toThrow();
  });
});
