import { existsSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CONSOLE_BASE, consoleBuilding, WEB_DIST } from './consoleBuild.ts';

// The web console's routes: `/` answers the console's index.html (the SPA routes by the URL's
// hash: #/explorer, #/market…, so no other path is needed) and `/console/*` its hashed assets.
// Nothing else of the API (`/status`, `/v2/…`, `/ddn/…`, `/ws`) is under these paths.

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.html': 'text/html; charset=utf-8',
};

/** File names Vite gives assets: no slashes, no dot-dot. */
const ASSET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

function notBuiltPage(building: boolean): string {
  const what = building
    ? '<p>The console is being built right now (Vite compiles <code>src/web</code> into <code>dist/web</code>); this page reloads in a few seconds.</p>'
    : '<p>This node has no built console. It builds one when it starts (<code>zeus node start</code>, <code>zeus devnet start</code>); or build it by hand with <code>npm run build:web</code> in the repository, then reload.</p>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${building ? '<meta http-equiv="refresh" content="3">' : ''}<title>ZeusNet console</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d2433}code{background:#eef1f6;padding:0 .3em;border-radius:3px}</style></head>
<body><h1>ZeusNet web console</h1>${what}
<p>The node's API answers meanwhile: <a href="/status">/status</a>, <a href="/openapi.json">/openapi.json</a>, events on <code>/ws</code>.</p></body></html>`;
}

export function registerConsoleRoutes(app: FastifyInstance, dist = WEB_DIST): void {
  app.get('/', { schema: { hide: true } }, async (_req, reply) => {
    const index = join(dist, 'index.html');
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8');
    if (!existsSync(index)) return reply.status(503).send(notBuiltPage(consoleBuilding()));
    return reply.send(readFileSync(index));
  });
  app.get('/console', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/'));
  app.get<{ Params: { '*': string } }>(`${CONSOLE_BASE}*`, { schema: { hide: true } }, async (req, reply) => {
    const rest = req.params['*'];
    const parts = rest.split('/');
    const ok = (parts.length === 1 && ASSET.test(parts[0])) || (parts.length === 2 && parts[0] === 'assets' && ASSET.test(parts[1]));
    const file = join(dist, ...parts);
    if (!ok || parts[0] === 'build.json' || !existsSync(file)) {
      if (rest === '') return reply.redirect('/');
      return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no console file ${rest}` } });
    }
    // Assets carry their content hash in their name: cached for good. Others (favicon) briefly.
    reply.header('cache-control', parts[0] === 'assets' ? 'public, max-age=31536000, immutable' : 'public, max-age=300');
    return reply.type(TYPES[extname(file)] ?? 'application/octet-stream').send(readFileSync(file));
  });
}
