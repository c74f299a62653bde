import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostConfigFor } from './docker.ts';
import { detectGpus, gpuHostConfig, gpuModelName, NVIDIA_SMI_ARGS, parseNvidiaSmi } from './gpu.ts';

// This machine has no NVIDIA GPU and no driver, so detection is tested against a fake
// `nvidia-smi` put first on PATH that prints what the real one prints for the worker's query
// (`--query-gpu=name,memory.total --format=csv,noheader,nounits`: "name, MiB" per GPU).

const dir = mkdtempSync(join(tmpdir(), 'zeus-gpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Output of the real query on a DGX A100 node with one extra card, byte for byte in format. */
const DGX = 'NVIDIA A100-SXM4-40GB, 40960\nNVIDIA A100-SXM4-40GB, 40960\nNVIDIA GeForce RTX 4090, 24564\n';

function withFakeSmi<T>(script: string, f: () => T): T {
  const bin = mkdtempSync(join(dir, 'bin-'));
  writeFileSync(join(bin, 'nvidia-smi'), `#!/bin/sh\n${script}\n`);
  chmodSync(join(bin, 'nvidia-smi'), 0o755);
  const before = process.env.PATH;
  process.env.PATH = `${bin}${delimiter}${before ?? ''}`;
  try {
    return f();
  } finally {
    process.env.PATH = before;
  }
}

describe('NVIDIA GPUs', () => {
  it('parse the query output into models with counts, skipping what is not a GPU line', () => {
    expect(parseNvidiaSmi(DGX)).toEqual([
      { model: 'A100', memoryMiB: 40960, count: 2 },
      { model: 'RTX 4090', memoryMiB: 24564, count: 1 },
    ]);
    expect(parseNvidiaSmi('Tesla T4, 15360\r\nNVIDIA H100 80GB HBM3, 81559\nNVIDIA A10, [N/A]\n\nNo devices were found\n')).toEqual([
      { model: 'T4', memoryMiB: 15360, count: 1 },
      { model: 'H100', memoryMiB: 81559, count: 1 },
    ]);
    expect(parseNvidiaSmi('')).toEqual([]);
  });

  it('name models the way task posters write them', () => {
    expect(gpuModelName('NVIDIA A100-SXM4-80GB')).toBe('A100');
    expect(gpuModelName('Tesla V100-SXM2-16GB')).toBe('V100');
    expect(gpuModelName('NVIDIA RTX A6000')).toBe('RTX A6000');
    expect(gpuModelName('NVIDIA L4')).toBe('L4');
    expect(gpuModelName('NVIDIA')).toBe('NVIDIA');
  });

  it('detect through nvidia-smi on PATH with the worker query, and none when it fails', () => {
    const args = join(dir, 'args');
    expect(withFakeSmi(`echo "$@" > ${args}; printf '${DGX.replace(/\n/g, '\\n')}'`, () => detectGpus())).toEqual(parseNvidiaSmi(DGX));
    expect(readFileSync(args, 'utf8').trim()).toBe(NVIDIA_SMI_ARGS.join(' '));
    const warnings: string[] = [];
    expect(
      withFakeSmi('echo "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver" >&2; exit 9', () =>
        detectGpus((l) => warnings.push(l)),
      ),
    ).toEqual([]);
    expect(warnings.join()).toMatch(/exited 9: NVIDIA-SMI has failed/);
    // No nvidia-smi at all (this machine): no GPUs and nothing to warn about.
    const quiet: string[] = [];
    const before = process.env.PATH;
    process.env.PATH = dir;
    try {
      expect(detectGpus((l) => quiet.push(l))).toEqual([]);
    } finally {
      process.env.PATH = before;
    }
    expect(quiet).toEqual([]);
  });

  it('give a container its GPUs through the NVIDIA runtime only when the lease asks for some', () => {
    expect(gpuHostConfig(0)).toEqual({});
    expect(hostConfigFor({ cpuMillis: 500, memoryMiB: 64 }).DeviceRequests).toBeUndefined();
    expect(hostConfigFor({ cpuMillis: 500, memoryMiB: 64, gpuCount: 0 }).DeviceRequests).toBeUndefined();
    expect(hostConfigFor({ cpuMillis: 4000, memoryMiB: 8192, gpuCount: 2 })).toMatchObject({
      DeviceRequests: [{ Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] }],
      CapDrop: ['ALL'],
      NetworkMode: 'none',
    });
  });
});
