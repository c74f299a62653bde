import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { registerConsoleRoutes } from './console.ts';

// The console's routes on their own: index.html at /, hashed assets under /console/, nothing
// else of the build folder, and a page that says what to do where no console is built.

const dir = mkdtempSync(join(tmpdir(), 'zeus-console-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function appFor(dist: string) {
  const app = Fastify();
  registerConsoleRoutes(app, dist);
  await app.ready();
  return app;
}

describe('the web console routes', () => {
  it('serve index.html at / and the assets with their types, long-cached', async () => {
    const dist = join(dir, 'web');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dist, 'assets', 'index-abc123.css'), 'body{}');
    writeFileSync(join(dist, 'build.json'), '{}');
    writeFileSync(join(dir, 'secret.txt'), 'no');
    const app = await appFor(dist);
    const index = await app.inject('/');
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.body).toContain('<title>console</title>');
    const js = await app.inject('/console/assets/index-abc123.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.headers['cache-control']).toContain('immutable');
    expect((await app.inject('/console/assets/index-abc123.css')).headers['content-type']).toMatch(/^text\/css/);
    for (const bad of [
      '/console/build.json',
      '/console/assets/missing.js',
      '/console/assets/..%2f..%2fsecret.txt',
      '/console/../secret.txt',
      '/console/assets/x/y.js',
    ]) {
      expect((await app.inject(bad)).statusCode, bad).toBe(404);
    }
    expect((await app.inject('/console')).statusCode).toBe(302);
    await app.close();
  });

  it('answer / with a page saying how to build the console when none is built', async () => {
    const app = await appFor(join(dir, 'nothing-here'));
    const r = await app.inject('/');
    expect(r.statusCode).toBe(503);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.body).toContain('npm run build:web');
    await app.close();
  });
});
