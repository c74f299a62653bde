import { connect } from 'node:net';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { frameworkRefusal, HttpError, jsonErrors } from './errors.ts';

// The shared error format on a real socket. The node's own table of hostile requests is in
// test/api-errors.test.ts; here what a node process cannot show on demand: a request that arrives
// while the server closes, and a dialect for part of the URL space.

/** Writes each of `parts` on one connection (each after `before(i)`) and collects everything until the server closes it. */
function exchange(port: number, ...parts: (string | (() => Promise<void>))[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(out));
    void (async () => {
      for (const p of parts) {
        if (typeof p === 'string') s.write(p);
        else await p();
      }
    })().catch(reject);
  });
}

describe('jsonErrors', () => {
  it("answers a request that arrives while the server closes with 503 SHUTTING_DOWN, not fastify's own body", async () => {
    const errors = jsonErrors();
    const app = Fastify({ ...errors.serverOptions });
    errors.install(app);
    let release = (): void => undefined;
    let entered = (): void => undefined;
    const inSlow = new Promise<void>((r) => (entered = r));
    app.get('/slow', async () => {
      entered();
      await new Promise<void>((r) => (release = r));
      return { slow: true };
    });
    app.get('/fast', async () => ({ fast: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    // A keep-alive connection busy with a request when close() starts stays open; a second request
    // sent on it then is answered by the closing server.
    let closed: Promise<undefined> | undefined;
    const text = await exchange(
      port,
      'GET /slow HTTP/1.1\r\nhost: x\r\n\r\n',
      async () => {
        await inSlow;
        closed = app.close();
        await new Promise((r) => setTimeout(r, 50));
      },
      'GET /fast HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
      async () => {
        await new Promise((r) => setTimeout(r, 50));
        release();
      },
    );
    await closed;
    const bodies = text.split(/HTTP\/1\.1 /).slice(1);
    expect(bodies[0]).toMatch(/^200 /);
    expect(bodies[1]).toMatch(/^503 /);
    const body = JSON.parse(bodies[1].slice(bodies[1].indexOf('\r\n\r\n') + 4));
    expect(body.error.code).toBe('SHUTTING_DOWN');
    expect(body.error.message).toMatch(/GET \/fast again/);
  });

  it("lets a dialect own part of the URL space, for routes, fastify and Node's parser alike", async () => {
    const errors = jsonErrors({
      dialects: [{ owns: (u) => u.startsWith('/x/'), render: (e) => ({ body: JSON.stringify({ errors: [{ code: `X_${e.code}` }] }) }) }],
    });
    const app = Fastify({ ...errors.serverOptions });
    errors.install(app);
    app.get('/x/boom', async () => {
      throw new HttpError(409, 'TAKEN', 'taken');
    });
    app.get('/y/boom', async () => {
      throw new Error('a bug');
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    try {
      const ask = async (line: string): Promise<[number, unknown]> => {
        const t = await exchange(port, `${line} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
        return [Number(t.split(' ')[1]), JSON.parse(t.slice(t.indexOf('\r\n\r\n') + 4))];
      };
      expect(await ask('GET /x/boom')).toEqual([409, { errors: [{ code: 'X_TAKEN' }] }]);
      expect(await ask('GET /x/none')).toEqual([404, { errors: [{ code: 'X_NOT_FOUND' }] }]);
      expect(await ask('GET /x/%zz')).toEqual([400, { errors: [{ code: 'X_BAD_URL' }] }]);
      expect(await ask(`GET /x/${'a'.repeat(20_000)}`)).toEqual([431, { errors: [{ code: 'X_HEADERS_TOO_LARGE' }] }]);
      expect(await ask('GET /y/none')).toEqual([404, { error: { code: 'NOT_FOUND', message: 'no route GET /y/none' } }]);
      // A bug is a 500 with a generic message: what broke stays in the log, not in the answer.
      expect(await ask('GET /y/boom')).toEqual([500, { error: { code: 'INTERNAL', message: 'internal error: the server logged it' } }]);
    } finally {
      await app.close();
    }
  });

  it("never passes another library's code through: only our table or the status decides", () => {
    expect(frameworkRefusal(Object.assign(new Error('nope'), { code: 'ERR_SOMETHING', statusCode: 400 }))).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(frameworkRefusal(Object.assign(new Error('big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }))).toMatchObject({
      status: 413,
      code: 'BODY_TOO_LARGE',
    });
    expect(frameworkRefusal(Object.assign(new Error('x'), { code: 'FST_ERR_SOMETHING_NEW', statusCode: 415 }))).toMatchObject({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
    expect(frameworkRefusal(Object.assign(new Error('disk'), { code: 'EIO' }))).toBeUndefined();
    expect(frameworkRefusal(Object.assign(new Error('x'), { statusCode: 503 }))).toBeUndefined();
  });
});
