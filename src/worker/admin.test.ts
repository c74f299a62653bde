import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeApiError } from '../sdk/index.ts';
import { AdminError, adminPaths, adminRequest, adminToken, startAdminServer } from './admin.ts';

const dir = mkdtempSync(join(tmpdir(), 'zeus-admin-'));
/** A task id on inner chain 3. */
const TASK = `03${'ab'.repeat(31)}`;
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
        leaseLog: async (task, lease) => (lease === 0 ? new TextEncoder().encode(`log of ${task.slice(0, 6)}`) : undefined),
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
      expect(await (await adminRequest(home, `/leases/${TASK}/0/logs`)).text()).toBe('log of 03abab');

      const bare = await fetch(`${info.url}/status`);
      expect(bare.status).toBe(401);
      expect(((await bare.json()) as { error: { code: string } }).error.code).toBe('ADMIN_TOKEN_REQUIRED');
      const wrong = adminRequest(home, '/status', 'f'.repeat(64));
      await expect(wrong).rejects.toThrow(/HTTP 401\): the admin token does not match/);
      await expect(wrong).rejects.toMatchObject({ code: 'ADMIN_TOKEN_INVALID' });
      await expect(adminRequest(home, '/leases/nothex/0/logs')).rejects.toThrow(/HTTP 400.*not a task id: 64 hex digits/);
      await expect(adminRequest(home, `/leases/${TASK}/1/logs`)).rejects.toThrow(/HTTP 404.*no logs of lease 1/);
      // The poster's route takes the poster's own token, not the admin one, and says why it refuses.
      const sealed = `${info.url}/leases/${TASK}/0/sealed-logs`;
      expect(new Uint8Array(await (await fetch(sealed, { headers: { authorization: 'Bearer poster-signed' } })).arrayBuffer())).toEqual(
        new Uint8Array([1, 2, 3]),
      );
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

  it("turns every failure into its shape with a code and the right status: the node's refusals keep theirs, a node that does not answer is 502, framework refusals stay 4xx; log reads are bounded", async () => {
    const home = join(dir, 'h3');
    let nodeAnswers: 'no' | 'unknown' | 'yes' = 'no';
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const s = await startAdminServer({
      home,
      port: 0,
      worker: 'znc1test',
      routes: {
        status: async () => {
          if (nodeAnswers === 'no') throw new NodeApiError(0, 'NODE_UNREACHABLE', 'cannot reach a node at http://127.0.0.1:1');
          return { ok: true };
        },
        leaseLog: async (_task, lease) => {
          if (lease === 7) await held;
          return new Uint8Array([0x61]);
        },
        posterLog: async () => {
          if (nodeAnswers === 'unknown') throw new NodeApiError(404, 'UNKNOWN_TASK', 'no task');
          throw new Error('a bug');
        },
      },
    });
    const get = async (path: string, token = adminToken(home)): Promise<[number, { code: string; message: string }]> => {
      const res = await fetch(`${s.info.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      return [res.status, ((await res.json()) as { error: { code: string; message: string } }).error];
    };
    try {
      expect(await get('/status')).toEqual([502, { code: 'NODE_UNAVAILABLE', message: expect.stringContaining("the worker's node did not answer") }]);
      nodeAnswers = 'unknown';
      expect(await get(`/leases/${TASK}/0/sealed-logs`, 'poster')).toEqual([404, { code: 'UNKNOWN_TASK', message: 'no task' }]);
      nodeAnswers = 'yes';
      // A fault of the worker's own is still a 500, in the same shape.
      expect(await get(`/leases/${TASK}/0/sealed-logs`, 'poster')).toEqual([500, { code: 'INTERNAL', message: 'a bug' }]);
      expect(await get(`/leases/00${TASK.slice(2)}/0/logs`)).toEqual([
        400,
        { code: 'INVALID_TASK_ID', message: expect.stringContaining('first byte names its inner chain (01..09), and it is 00') },
      ]);
      // Upper-case hex is the same id.
      const upper = await fetch(`${s.info.url}/leases/${TASK.toUpperCase()}/0/logs`, { headers: { authorization: `Bearer ${adminToken(home)}` } });
      expect([upper.status, await upper.text()]).toEqual([200, 'a']);
      expect((await get(`/leases/${TASK}/1000001/logs`))[1].code).toBe('INVALID_LEASE');
      expect(await get('/leases/%E0%A4%A/0/logs')).toEqual([400, { code: 'BAD_URL', message: expect.any(String) }]);
      expect(await get('/nope')).toEqual([404, { code: 'NOT_FOUND', message: expect.stringContaining('/nope') }]);
      const post = await fetch(`${s.info.url}/status`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken(home)}`, 'content-type': 'application/json' },
        body: '{',
      });
      // A body fastify cannot parse: its 400, in our shape.
      expect([post.status, ((await post.json()) as { error: { code: string } }).error.code]).toEqual([400, 'INVALID_JSON']);

      // What Node's HTTP parser refuses before any route: in the same shape.
      const raw = (request: string): Promise<string> =>
        new Promise((resolve) => {
          let got = '';
          const sock = connect(s.info.port, '127.0.0.1', () => sock.write(request));
          sock.on('data', (d: Buffer) => (got += String(d)));
          sock.on('close', () => resolve(got));
        });
      const big = await raw(`GET /status HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(big).toMatch(/^HTTP\/1\.1 431 /);
      expect(JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) } });
      const garbled = await raw('GET /status HTTP/1.1\r\nhost x\r\n\r\n');
      expect(garbled).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(garbled.slice(garbled.indexOf('\r\n\r\n') + 4)).error.code).toBe('MALFORMED_REQUEST');

      // Two log reads at once at most; a third is told to come back, and served once one ends.
      const slow = [0, 1].map(() => fetch(`${s.info.url}/leases/${TASK}/7/logs`, { headers: { authorization: `Bearer ${adminToken(home)}` } }));
      await new Promise((r) => setTimeout(r, 200));
      expect(await get(`/leases/${TASK}/0/logs`)).toEqual([429, { code: 'BUSY', message: expect.stringContaining('ask again') }]);
      release();
      expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
      const after = await fetch(`${s.info.url}/leases/${TASK}/0/logs`, { headers: { authorization: `Bearer ${adminToken(home)}` } });
      expect([after.status, await after.text()]).toEqual([200, 'a']);
    } finally {
      await s.close();
    }
  });
});
