import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

// Shared by the tests that run a real `zeus worker start` against a devnet on the local Docker
// engine: app images built FROM scratch with busybox (no pulls), and the cleanup of what a
// worker leaves there.

export const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The output of a `zeus` run that must succeed (its stderr and stdout in the failure). */
export function ok(r: { code: number; out: string; err: string }): string {
  expect(r.code, `${r.err}\n${r.out}`).toBe(0);
  return r.out;
}

/**
 * Builds `tag` FROM scratch with /bin/busybox and `cmd` as its shell command. The label keeps the
 * image id this build's own: Docker's build cache would otherwise hand a concurrent run on the
 * same engine the same image, and that run's cleanup (rmi -f by id) would delete it from under this one.
 */
export function buildBusyboxImage(tag: string, workDir: string, cmd: string): void {
  const ctx = mkdtempSync(join(workDir, 'ctx-'));
  copyFileSync('/bin/busybox', join(ctx, 'busybox'));
  const run = JSON.stringify(['/bin/busybox', 'sh', '-c', cmd]);
  writeFileSync(
    join(ctx, 'Dockerfile'),
    ['FROM scratch', `LABEL net.zeus.test-run=${process.pid}-${Date.now()}`, 'COPY busybox /bin/busybox', `CMD ${run}`, ''].join('\n'),
  );
  docker('build', '-q', '-t', tag, ctx);
}

/** Removes the worker's containers, the images a test built and those the worker loaded (`zeus-app/<app>`). */
export function removeWorkerLeftovers(workerAddress: string, built: string[], apps: string[]): void {
  for (const c of workerAddress ? docker('ps', '-aq', '--filter', `label=net.zeus.worker=${workerAddress}`).split('\n').filter(Boolean) : [])
    docker('rm', '-f', c);
  const loaded = apps.length
    ? docker('images', '-q', ...apps.flatMap((a) => ['--filter', `reference=zeus-app/${a}`]))
        .split('\n')
        .filter(Boolean)
    : [];
  for (const i of [...built, ...loaded]) {
    try {
      docker('rmi', '-f', i);
    } catch {
      // not there
    }
  }
}
