import { hostname } from 'node:os';
import { parseHostPort, type NodeConfig } from '../node/index.client.ts';

// The seat group flags of `zeus node start` (docs/OPERATORS.md, "A seat kept by a group"):
// checked here, each bad value an error naming its flag, then kept in the home's config.json, so
// that a member restarted without them still signs only through its group.

export interface GroupFlags {
  signerGroup?: string;
  group?: string;
  groupMember?: string;
  groupLeaseTtl?: number;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** `etcd://HOST:PORT,HOST:PORT,…` → etcd client URLs (http://HOST:PORT), in order, without repeats. */
export function parseEtcdEndpoints(s: string, flag = '--signer-group'): string[] {
  const m = /^etcd:\/\/(.+)$/.exec(s.trim());
  if (!m) throw new Error(`${flag} must be etcd://HOST:PORT[,HOST:PORT…] (the etcd cluster's client addresses), got "${s}"`);
  const urls = m[1]
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a) => {
      const { host, port } = parseHostPort(a.replace(/^etcd:\/\//, ''), flag);
      if (port === 0) throw new Error(`${flag}: port 0 is not an etcd address ("${a}")`);
      return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    });
  if (urls.length === 0) throw new Error(`${flag} names no etcd member: give etcd://HOST:PORT[,HOST:PORT…]`);
  return [...new Set(urls)];
}

/** A member name from the host's name: what a member goes by when --group-member is not given. */
function defaultMember(config: NodeConfig): string {
  const base = (config.moniker ?? hostname()).replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64);
  return NAME.test(base) ? base : 'member';
}

/** The home's config with the group flags applied (what `node start` then saves). */
export function applyGroupFlags(config: NodeConfig, f: GroupFlags): NodeConfig {
  const out: NodeConfig = { ...config };
  if (f.signerGroup === '') {
    const extra = (['group', 'groupMember', 'groupLeaseTtl'] as const).filter((k) => f[k] !== undefined);
    if (extra.length) throw new Error(`--signer-group "" takes this node out of its group: ${extra.map(flagName).join(', ')} cannot go with it`);
    delete out.signerGroup;
    return out;
  }
  const was = config.signerGroup;
  if (f.signerGroup === undefined && !was) {
    const extra = (['group', 'groupMember', 'groupLeaseTtl'] as const).filter((k) => f[k] !== undefined);
    if (extra.length)
      throw new Error(
        `${extra.map(flagName).join(', ')} ${extra.length === 1 ? 'goes' : 'go'} with --signer-group etcd://HOST:PORT,…: this home is in no group`,
      );
    return out;
  }
  const endpoints = f.signerGroup !== undefined ? parseEtcdEndpoints(f.signerGroup) : was!.endpoints;
  const group = f.group ?? was?.group;
  if (group === undefined) throw new Error('--signer-group needs --group NAME: the name of the seat group, the same on each of its members');
  if (!NAME.test(group)) throw new Error(`--group must be 1-64 letters, digits, '.', '_' or '-', got "${group}"`);
  const member = f.groupMember ?? was?.member ?? defaultMember(config);
  if (!NAME.test(member)) throw new Error(`--group-member must be 1-64 letters, digits, '.', '_' or '-', got "${member}"`);
  const ttl = f.groupLeaseTtl ?? was?.leaseTtlSec;
  if (ttl !== undefined && (ttl < 1 || ttl > 60)) throw new Error(`--group-lease-ttl must be between 1 and 60 seconds, got ${ttl}`);
  if (config.bookkeeperKey === undefined)
    throw new Error('--signer-group: this home has no bookkeeper key; a group keeps a bookkeeper seat, and every member holds the seat’s key');
  if (!config.p2p) throw new Error('--signer-group: this home has no p2p network (a solo dev chain); a group keeps a seat of a bookkeeper network');
  // The group's keys in etcd are named by the chain (/zeus/<chain id>/groups/<group>/).
  if (!NAME.test(config.chainId)) throw new Error(`--signer-group: chain id "${config.chainId}" cannot name etcd keys (1-64 letters, digits, '.', '_' or '-')`);
  out.signerGroup = { endpoints, group, member, ...(ttl !== undefined ? { leaseTtlSec: ttl } : {}) };
  return out;
}

const flagName = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
