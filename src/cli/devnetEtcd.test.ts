import { describe, expect, it } from 'vitest';
import { etcdBinary, planEtcd } from './devnetEtcd.ts';

describe("the devnet's etcd cluster", () => {
  it('finds etcd on PATH or ZEUS_ETCD_BIN, and without one names the package to install', () => {
    expect(() => etcdBinary({ PATH: '/nonexistent' }, [])).toThrow(/no etcd binary was found .*etcd-server/);
    expect(() => etcdBinary({ ZEUS_ETCD_BIN: '/nonexistent/etcd' }, [])).toThrow(/ZEUS_ETCD_BIN=\/nonexistent\/etcd is not an executable file/);
  });

  it('plans three members on 127.0.0.1 with their data and logs under the devnet directory', () => {
    const m = planEtcd('/d', [
      { client: 1, peer: 2 },
      { client: 3, peer: 4 },
      { client: 5, peer: 6 },
    ]);
    expect(m.map((x) => [x.name, x.client, x.peer, x.dataDir, x.log, x.pid])).toEqual([
      ['etcd0', 'http://127.0.0.1:1', 'http://127.0.0.1:2', '/d/etcd/etcd0', '/d/etcd0.log', 0],
      ['etcd1', 'http://127.0.0.1:3', 'http://127.0.0.1:4', '/d/etcd/etcd1', '/d/etcd1.log', 0],
      ['etcd2', 'http://127.0.0.1:5', 'http://127.0.0.1:6', '/d/etcd/etcd2', '/d/etcd2.log', 0],
    ]);
  });
});
