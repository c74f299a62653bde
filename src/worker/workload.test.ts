import { describe, expect, it } from 'vitest';
import { workloadName } from './workload.ts';

describe('workloadName', () => {
  it('names a container by its short id and a wasm run by its whole directory', () => {
    expect(workloadName('0123456789abcdef'.repeat(4))).toBe('container 0123456789ab');
    const dir = '/tmp/zeus-devnet/node1/worker/leases/ab12-0';
    expect(workloadName(`wasm:${dir}`)).toBe(`wasm module in ${dir}`);
    expect(workloadName('something-else')).toBe('something-else');
  });
});
