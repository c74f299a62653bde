import { parseApiUrl, parseHostPort, parseMultiaddrList, parseTcpMultiaddr, type NodeConfig } from '../node/index.client.ts';

// The network options of `zeus node start` (and `zeus init`): checked here, each bad value an
// error naming its flag, then written into the home's config.json so the next start keeps them.

export interface NetworkFlags {
  api?: string;
  apiAnnounce?: string;
  p2pListen?: string;
  p2pAnnounce?: string;
  bootstrap?: string;
}

/** The home's config with the network flags applied (what `node start` then saves). */
export function applyNetworkFlags(config: NodeConfig, f: NetworkFlags): NodeConfig {
  const out: NodeConfig = { ...config, api: { ...config.api } };
  if (f.api !== undefined) {
    const { host, port } = parseHostPort(f.api);
    out.api = { ...out.api, host, port };
  }
  if (f.apiAnnounce !== undefined) {
    if (f.apiAnnounce === '') delete out.api.announce;
    else out.api.announce = parseApiUrl(f.apiAnnounce);
  }
  const listen = f.p2pListen !== undefined ? parseTcpMultiaddr(f.p2pListen, '--p2p-listen', 'forbidden') : undefined;
  const announce = f.p2pAnnounce !== undefined ? parseMultiaddrList(f.p2pAnnounce, '--p2p-announce', 'optional') : undefined;
  const bootstrap = f.bootstrap !== undefined ? parseMultiaddrList(f.bootstrap, '--bootstrap', 'required') : undefined;
  if (listen === undefined && announce === undefined && bootstrap === undefined) return out;
  const p2p = out.p2p ?? (listen !== undefined ? { listen, bootstrap: [] } : undefined);
  if (p2p === undefined) {
    const flag = bootstrap !== undefined ? '--bootstrap' : '--p2p-announce';
    throw new Error(`${flag} needs a p2p network: this home has none, so give --p2p-listen too (e.g. --p2p-listen /ip4/0.0.0.0/tcp/26656)`);
  }
  out.p2p = {
    ...p2p,
    ...(listen !== undefined ? { listen } : {}),
    ...(bootstrap !== undefined ? { bootstrap } : {}),
  };
  if (announce !== undefined) {
    if (announce.length > 0) out.p2p.announce = announce;
    else delete out.p2p.announce;
  }
  return out;
}
