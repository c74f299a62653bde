import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bidPrice, endpointEntry, loadPolicy, maxServicePorts, PolicyError, policyFrom, policyRefusal } from './policy.ts';
import { offeredSpec, sameOffer } from './resources.ts';

const dir = mkdtempSync(join(tmpdir(), 'zeus-policy-'));
const file = (name: string, body: unknown): string => {
  const f = join(dir, name);
  writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
  return f;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const machine = { cpuMillis: 8000, memoryMiB: 32768, diskMiB: 100_000, gpus: [{ model: 'A100', memoryMiB: 40960, count: 2 }] };

describe('worker policy', () => {
  it('without a file: everything detected, one lease at a time', () => {
    const p = loadPolicy(undefined);
    expect(p.maxConcurrentLeases).toBe(1);
    expect(offeredSpec(machine, p, 'http://127.0.0.1:26657', ['docker', 'wasm'])).toMatchObject({
      ...machine,
      endpoint: '127.0.0.1:26657',
      runtimes: ['docker', 'wasm'],
    });
    expect(p.bindAddress).toBe('127.0.0.1');
    expect(p.logCapBytes).toBe(8 * 1024 * 1024);
  });

  it('offers the API URL its node announces as its endpoint, not the local URL it follows the node at', () => {
    // deploy/systemd/zeus-worker.service: the agent follows http://127.0.0.1:26657; users must get the node's public URL.
    const p = loadPolicy(undefined);
    expect(offeredSpec(machine, p, 'http://127.0.0.1:26657', ['docker'], undefined, 'http://203.0.113.7:26657').endpoint).toBe('203.0.113.7:26657');
    expect(offeredSpec(machine, p, 'http://10.0.0.5:26657', ['docker'], undefined, 'https://node.example.org').endpoint).toBe('node.example.org');
    // A node outside a network announces nothing: the URL the agent follows it at.
    expect(offeredSpec(machine, p, 'http://127.0.0.1:26657', ['docker'], undefined, undefined).endpoint).toBe('127.0.0.1:26657');
    // The policy's endpoint still wins.
    expect(
      offeredSpec(machine, policyFrom({ endpoint: '198.51.100.1:7000' }), 'http://127.0.0.1:26657', ['docker'], undefined, 'http://203.0.113.7:26657').endpoint,
    ).toBe('198.51.100.1:7000');
  });

  it("caps a lease's log at maxLogMiB, within bounds", () => {
    expect(loadPolicy(file('log.json', { maxLogMiB: 2 })).logCapBytes).toBe(2 * 1024 * 1024);
    expect(() => loadPolicy(file('log0.json', { maxLogMiB: 0 }))).toThrow(/maxLogMiB/);
    expect(() => loadPolicy(file('logbig.json', { maxLogMiB: 100_000 }))).toThrow(/maxLogMiB/);
  });

  it('caps what is offered and prices it in ZNC base units', () => {
    const p = loadPolicy(
      file('ok.json', {
        maxCpuCores: 2.5,
        maxMemoryMiB: 4096,
        maxDiskMiB: 200_000,
        prices: { cpuCoreHour: '0.1', memoryGiBHour: '0.00000001' },
        maxConcurrentLeases: 3,
        acceptApps: ['answer'],
      }),
    );
    const s = offeredSpec(machine, p, 'http://127.0.0.1:1', ['docker']);
    expect(s).toMatchObject({ cpuMillis: 2500, memoryMiB: 4096, diskMiB: 100_000, priceCpuCoreHour: 10_000_000n, priceMemoryGiBHour: 1n });
    expect(p).toMatchObject({ maxConcurrentLeases: 3, acceptApps: ['answer'] });
  });

  it('refuses a bad file with every problem named', () => {
    expect(() => loadPolicy(file('bad.json', { maxCpuCores: -1, prices: { cpuCoreHour: '1.123456789' }, surprise: true }))).toThrow(PolicyError);
    expect(() => loadPolicy(file('bad2.json', { maxCpuCores: -1, prices: { cpuCoreHour: 'lots' } }))).toThrow(/maxCpuCores: .*; prices\.cpuCoreHour: /);
    expect(() => loadPolicy(file('notjson.json', '{'))).toThrow(/cannot read the policy file/);
    expect(() => loadPolicy(file('bind.json', { bindAddress: 'everywhere' }))).toThrow(/bindAddress/);
  });

  it("announces services at announceAddress, needs one when binding every interface, and takes no more ports than the chain's endpoint holds", () => {
    expect(loadPolicy(file('ann.json', { bindAddress: '10.0.0.5', announceAddress: '203.0.113.7' })).announceAddress).toBe('203.0.113.7');
    expect(loadPolicy(file('annhost.json', { bindAddress: '0.0.0.0', announceAddress: 'svc.example.org' })).announceAddress).toBe('svc.example.org');
    expect(() => loadPolicy(file('any.json', { bindAddress: '0.0.0.0' }))).toThrow(/announceAddress: a bindAddress of every interface/);
    expect(() => loadPolicy(file('any6.json', { bindAddress: '::' }))).toThrow(/announceAddress/);
    expect(() => loadPolicy(file('annbad.json', { announceAddress: 'not a host!' }))).toThrow(/announceAddress/);
    expect(() => loadPolicy(file('annlong.json', { announceAddress: `${'a'.repeat(60)}.org` }))).toThrow(/announceAddress/);
    // 5 ports with an IPv4 host (5 × 21 + 4 commas = 109 ≤ 128); fewer as the host grows.
    expect(maxServicePorts(loadPolicy(undefined))).toBe(5);
    expect(maxServicePorts({ bindAddress: '0.0.0.0', announceAddress: 'svc.example.org' })).toBe(5);
    expect(maxServicePorts({ bindAddress: '0.0.0.0', announceAddress: `${'a'.repeat(52)}.org` })).toBe(2);
    for (const host of ['203.0.113.7', '2001:db8::1', `${'a'.repeat(52)}.org`]) {
      const n = maxServicePorts({ bindAddress: '0.0.0.0', announceAddress: host });
      expect(Array.from({ length: n }, () => endpointEntry(host, 65535)).join(',').length).toBeLessThanOrEqual(128);
      expect(Array.from({ length: n + 1 }, () => endpointEntry(host, 65535)).join(',').length).toBeGreaterThan(n < 5 ? 128 : 0);
    }
    expect(endpointEntry('2001:db8::1', 8080)).toBe('[2001:db8::1]:8080');
  });

  it('knows when the chain already records the offer', () => {
    const s = offeredSpec(machine, loadPolicy(undefined), 'http://127.0.0.1:1', ['docker']);
    const registered = {
      cpuMillis: s.cpuMillis,
      memoryMiB: s.memoryMiB,
      diskMiB: s.diskMiB,
      gpus: [{ model: 'A100', memoryMiB: 40960, count: 2 }],
      region: '',
      endpoint: s.endpoint,
      runtimes: ['docker'],
      prices: { cpuCoreHour: String(s.priceCpuCoreHour), memoryGiBHour: String(s.priceMemoryGiBHour), gpuHour: String(s.priceGpuHour) },
    };
    expect(sameOffer(s, registered as Parameters<typeof sameOffer>[1])).toBe(true);
    expect(sameOffer({ ...s, memoryMiB: 1 }, registered as Parameters<typeof sameOffer>[1])).toBe(false);
    expect(sameOffer({ ...s, gpus: [{ model: 'A100', memoryMiB: 40960, count: 1 }] }, registered as Parameters<typeof sameOffer>[1])).toBe(false);
  });

  it('offers the detected GPUs unless the policy keeps them, and takes an admin port', () => {
    expect(offeredSpec(machine, loadPolicy(undefined), 'http://127.0.0.1:1', ['docker']).gpus).toEqual(machine.gpus);
    const p = loadPolicy(file('nogpu.json', { offerGpus: false, adminPort: 7777 }));
    expect(offeredSpec(machine, p, 'http://127.0.0.1:1', ['docker']).gpus).toEqual([]);
    expect(p.adminPort).toBe(7777);
    expect(() => loadPolicy(file('badport.json', { adminPort: 70000 }))).toThrow(/adminPort/);
  });

  it('bids at the ask, with the GPU-hour price of the model, never below the minimum', () => {
    const p = loadPolicy(file('bid.json', { minPricePerHour: '0.5', prices: { gpuHourByModel: { A100: '3' } } }));
    const gpu = 100_000_000n; // 1 ZNC registered per GPU-hour
    // 2 GPUs: the registered 2 ZNC of GPU time in the ask become 6 at the A100 price.
    expect(bidPrice(p, 2n * gpu + 10n, { gpuCount: 2, gpuModel: 'a100' }, gpu)).toBe(6n * gpu + 10n);
    expect(bidPrice(p, 2n * gpu + 10n, { gpuCount: 2, gpuModel: 'H100' }, gpu)).toBe(2n * gpu + 10n);
    expect(bidPrice(p, 1000n, { gpuCount: 0, gpuModel: '' }, gpu)).toBe(50_000_000n);
    expect(bidPrice(loadPolicy(undefined), 1000n, { gpuCount: 0, gpuModel: '' }, gpu)).toBe(1000n);
  });

  it('refuses apps and developers on its lists before it accepts any', () => {
    const p = loadPolicy(file('lists.json', { acceptApps: ['a', 'b'], refuseApps: ['b'], refuseDevelopers: ['znc1bad'] }));
    expect(policyRefusal(p, 'a', 'znc1good')).toBeUndefined();
    expect(policyRefusal(p, 'b', 'znc1good')).toMatch(/app b is refused/);
    expect(policyRefusal(p, 'c', 'znc1good')).toMatch(/app c is not accepted/);
    expect(policyRefusal(p, 'a', 'znc1bad')).toMatch(/developer znc1bad is refused/);
    expect(policyRefusal(loadPolicy(undefined), 'anything', undefined)).toBeUndefined();
  });
});
