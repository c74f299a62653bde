import { describe, expect, it } from 'vitest';
import { NodeConfigSchema, type NodeConfig } from '../node/index.ts';
import { applyGroupFlags, parseEtcdEndpoints } from './groupOptions.ts';

const base: NodeConfig = {
  chainId: 'c',
  api: { host: '127.0.0.1', port: 26657 },
  blockIntervalMs: 1000,
  bookkeeperKey: 'bookkeeper-0',
  mempoolMax: 10,
  p2p: { listen: '/ip4/127.0.0.1/tcp/26656', bootstrap: [] },
};

describe('seat group flags of zeus node start', () => {
  it('parse etcd://HOST:PORT,… into client URLs, naming the flag in each refusal', () => {
    expect(parseEtcdEndpoints('etcd://10.0.0.1:2379,10.0.0.2:2379, 10.0.0.1:2379')).toEqual(['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
    expect(parseEtcdEndpoints('etcd://[::1]:2379')).toEqual(['http://[::1]:2379']);
    expect(() => parseEtcdEndpoints('http://10.0.0.1:2379')).toThrow(/--signer-group must be etcd:\/\/HOST:PORT/);
    expect(() => parseEtcdEndpoints('etcd://10.0.0.1')).toThrow(/--signer-group must be HOST:PORT/);
    expect(() => parseEtcdEndpoints('etcd://h:99999')).toThrow(/--signer-group/);
    expect(() => parseEtcdEndpoints('etcd://,')).toThrow(/names no etcd member/);
  });

  it('are kept in the config; a restart without them stays in the group; "" leaves it', () => {
    const c = applyGroupFlags(base, { signerGroup: 'etcd://127.0.0.1:2379,127.0.0.1:2380', group: 'seat-a', groupMember: 'a1', groupLeaseTtl: 3 });
    expect(c.signerGroup).toEqual({ endpoints: ['http://127.0.0.1:2379', 'http://127.0.0.1:2380'], group: 'seat-a', member: 'a1', leaseTtlSec: 3 });
    expect(NodeConfigSchema.parse(c)).toEqual(c);
    expect(applyGroupFlags(c, {}).signerGroup).toEqual(c.signerGroup);
    expect(applyGroupFlags(c, { groupMember: 'a2' }).signerGroup?.member).toBe('a2');
    expect(applyGroupFlags(c, { signerGroup: '' }).signerGroup).toBeUndefined();
    expect(() => applyGroupFlags(c, { signerGroup: '', group: 'x' })).toThrow(/takes this node out of its group: --group cannot/);
    expect(applyGroupFlags(base, {})).toEqual(base);
  });

  it('refuse what cannot be a group member, saying why', () => {
    expect(() => applyGroupFlags(base, { group: 'seat-a' })).toThrow(/--group goes with --signer-group/);
    expect(() => applyGroupFlags(base, { signerGroup: 'etcd://127.0.0.1:2379' })).toThrow(/needs --group NAME/);
    expect(() => applyGroupFlags(base, { signerGroup: 'etcd://127.0.0.1:2379', group: 'seat a' })).toThrow(/--group must be 1-64 letters/);
    expect(() => applyGroupFlags(base, { signerGroup: 'etcd://127.0.0.1:2379', group: 's', groupMember: 'a/1' })).toThrow(/--group-member must be/);
    expect(() => applyGroupFlags(base, { signerGroup: 'etcd://127.0.0.1:2379', group: 's', groupLeaseTtl: 0 })).toThrow(
      /--group-lease-ttl must be between 1 and 60/,
    );
    const { bookkeeperKey: _, ...fullNode } = base;
    expect(() => applyGroupFlags(fullNode, { signerGroup: 'etcd://127.0.0.1:2379', group: 's' })).toThrow(/no bookkeeper key/);
    const { p2p: __, ...solo } = base;
    expect(() => applyGroupFlags(solo, { signerGroup: 'etcd://127.0.0.1:2379', group: 's' })).toThrow(/no p2p network/);
    // The default member name comes from the moniker (or the host name), made a valid name.
    expect(applyGroupFlags({ ...base, moniker: 'my node 1' }, { signerGroup: 'etcd://127.0.0.1:2379', group: 's' }).signerGroup?.member).toBe('my-node-1');
  });
});
