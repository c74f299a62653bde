import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AdminError, adminPaths, adminRequest, adminToken, startAdminServer } from './admin.ts';

const dir = mkdtempSync(join(tmpdir(), 'zeus-admin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('worker admin endpoint', () => {
  it('makes its token once, readable by the owner only', () => {
    const home = join(dir, 'h1');
    const t = adminToken(home);
    expect(t).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(adminPaths(home).token).mode & 0o777).toBe(0o600);
    expect(adminToken(home)).toBe(t);
    writeFileSync(adminPaths(home).token, 'not a token');
    expect(() => adminToken(home)).toThrow(/does not hold an admin token/);
  });

  it('answers on 127.0.0.1 with the token, refuses without it or with another, and says when no worker runs', async () => {
    const home = join(dir, 'h2');
    await expect(adminRequest(home, '/status')).rejects.toThrow(/no worker agent runs on home .*admin\.json does not exist/);
    const s = await startAdminServer({
      home,
      port: 0,
      worker: 'znc1test',
      routes: {
        status: async () => ({ ok: true }),
        leaseLog: async (task, lease) => (lease === 0 ? new TextEncoder().encode(`log of ${task.slice(0, 4)}`) : undefined),
        posterLog: async (_task, _lease, token) => {
          if (token !== 'poster-signed') throw new AdminError('NOT_THE_POSTER', 'only the poster', 403);
          return new Uint8Array([1, 2, 3]);
        },
      },
    });
    try {
      const info = JSON.parse(readFileSync(adminPaths(home).info, 'utf8')) as { url: string; port: number; pid: number };
      expect(info).toMatchObject({ url: `http://127.0.0.1:${s.info.port}`, pid: process.pid });
      expect(await (await adminRequest(home, '/status')).json()).toEqual({ ok: true });
      expect(await (await adminRequest(home, `/leases/${'ab'.repeat(32)}/0/logs`)).text()).toBe('log of abab');

      const bare = await fetch(`${info.url}/status`);
      expect(bare.status).toBe(401);
      expect(((await bare.json()) as { error: { code: string } }).error.code).toBe('ADMIN_TOKEN_REQUIRED');
      const wrong = adminRequest(home, '/status', 'f'.repeat(64));
      await expect(wrong).rejects.toThrow(/HTTP 401\): the admin token does not match/);
      await expect(wrong).rejects.toMatchObject({ code: 'ADMIN_TOKEN_INVALID' });
      await expect(adminRequest(home, '/leases/nothex/0/logs')).rejects.toThrow(/HTTP 400.*64 lowercase hex/);
      await expect(adminRequest(home, `/leases/${'ab'.repeat(32)}/1/logs`)).rejects.toThrow(/HTTP 404.*no logs of lease 1/);
      // The poster's route takes the poster's own token, not the admin one, and says why it refuses.
      const sealed = `${info.url}/leases/${'ab'.repeat(32)}/0/sealed-logs`;
      expect(new Uint8Array(await (await fetch(sealed, { headers: { authorization: 'Bearer poster-signed' } })).arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
      const other = await fetch(sealed, { headers: { authorization: `Bearer ${adminToken(home)}` } });
      expect([other.status, ((await other.json()) as { error: { code: string } }).error.code]).toEqual([403, 'NOT_THE_POSTER']);
      expect((await fetch(sealed)).status).toBe(401);
    } finally {
      await s.close();
    }
    await expect(adminRequest(home, '/status')).rejects.toThrow(/admin\.json does not exist/);
    // A worker killed without its shutdown leaves its record behind: the error says it is gone.
    writeFileSync(adminPaths(home).info, JSON.stringify({ ...s.info, startedAt: 'then' }));
    const stale = adminRequest(home, '/status');
    await expect(stale).rejects.toBeInstanceOf(AdminError);
    await expect(stale).rejects.toThrow(/listened at http:\/\/127\.0\.0\.1:\d+ and is gone/);
  });
});
