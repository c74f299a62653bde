import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, initDevHome, startNode, waitFor, type DevHome } from './helpers/processes.ts';

// An idle connection costs its client nothing and the node a file descriptor until its timeouts
// close it (a minute or more). A real node process whose API lets one client hold 8 connections
// (`api.maxConnectionsPerClient`, 256 by default): the 9th from 127.0.0.21 is closed at once,
// unanswered, while the 8 stay usable; another client (127.0.0.22) is served, and a closed
// connection frees a place.

let h: DevHome;
let port: number;
const sockets: Socket[] = [];

beforeAll(async () => {
  h = await initDevHome({ prefix: 'zeus-conns-' });
  const configFile = join(h.home, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { api: Record<string, unknown> };
  config.api.maxConnectionsPerClient = 8;
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const { url } = await startNode(h.home);
  port = Number(new URL(url).port);
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await cleanup();
});

/** A raw connection from `localAddress`, resolved once connected. */
function open(localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.once('error', reject);
    sockets.push(s);
  });
}

/** Sends GET `path` on `s`; resolves with the status line, or 'closed' if the node closes it first. */
function get(s: Socket, path: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += String(d);
      if (text.includes('\r\n')) {
        s.off('data', onData);
        resolve(text.split('\r\n')[0]);
      }
    };
    s.on('data', onData);
    s.once('close', () => resolve(text ? text.split('\r\n')[0] : 'closed'));
    s.once('error', () => {});
    s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

/** Resolves once the node has closed `s` (or after `ms`, with false). */
function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    s.once('error', () => {});
    s.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('open connections per client', () => {
  it('closes the one past a client cap at once, and serves the others', async () => {
    const held: Socket[] = [];
    for (let i = 0; i < 8; i++) held.push(await open('127.0.0.21'));
    const extra = await open('127.0.0.21');
    expect(await closedWithin(extra, 3_000)).toBe(true);
    // The eight are still served, and so is another client.
    expect(await get(held[7], '/health')).toMatch(/^HTTP\/1\.1 200/);
    expect(await get(await open('127.0.0.22'), '/health')).toMatch(/^HTTP\/1\.1 200/);
    // A closed one frees a place.
    held[0].destroy();
    let line = 'closed';
    await waitFor(
      async () => {
        line = await get(await open('127.0.0.21'), '/health');
        return line !== 'closed';
      },
      5_000,
      'a place freed',
    );
    expect(line).toMatch(/^HTTP\/1\.1 200/);
    const metrics = await new Promise<string>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/metrics', localAddress: '127.0.0.22' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += String(d)));
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });
    expect(metrics).toMatch(/^zeus_api_connections_refused_client_total [1-9]/m);
  });
});
