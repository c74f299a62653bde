// The node's HTTP API: fastify routes, OpenAPI document, WebSocket events, error format.
export * from './errors.ts';
export * from './server.ts';
export { jsonValue } from './views.ts';
export { buildConsole, consoleStale, ensureConsole, WEB_DIST } from './consoleBuild.ts';
