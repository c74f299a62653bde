import { describe, expect, it } from 'vitest';
import type { DevnetInfo } from './devnet.ts';
import { devnetSummary } from './devnetSummary.ts';

const info: DevnetInfo = {
  dir: '/tmp/devnet',
  chainId: 'zeus-dev',
  nodes: [{ name: 'node0', home: '/tmp/devnet/node0', api: 'http://127.0.0.1:1', pid: 1, log: '/tmp/devnet/node0.log' }],
};

describe('the devnet summary', () => {
  it('writes balances with thousands separators in the whole part only', () => {
    const keys = [
      { name: 'alice', role: 'dev account', address: 'znc1alice', balance: '1000000000000068' },
      { name: 'bob', role: 'dev account', address: 'znc1bob', balance: '123456789012' },
      { name: 'carol', role: 'dev account', address: 'znc1carol', balance: '0' },
    ];
    const text = devnetSummary(info, keys, '.devnet', 1000);
    expect(text).toContain('10,000,000.00000068 ZNC');
    expect(text).toContain('1,234.56789012 ZNC');
    expect(text).toMatch(/znc1carol\s+0 ZNC/);
    // No separator after a decimal point anywhere.
    expect(text).not.toMatch(/\.\d*,/);
  });
});
