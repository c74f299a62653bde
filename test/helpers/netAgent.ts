// The client agent of tests on separate network hosts (test/helpers/netNodes.ts): a long-lived
// process inside one host's namespace (`ip netns exec NS node netAgent.ts`) that makes the test's
// HTTP requests and WebSocket subscriptions for it. The test process lives in the root namespace,
// which by design has no route to the hosts; this agent is the host the test's traffic comes from.
// One process for the whole test, so a request costs a line on a pipe, not a process start.
//
// Protocol: JSON lines. In (stdin):
//   {"id":1,"op":"http","url":"http://10.x.y.1:26657/status","method":"GET","headers":{},"body":"…","timeoutMs":30000}
//   {"id":2,"op":"ws","url":"ws://10.x.y.1:26657/ws?events=block"}
//   {"id":3,"op":"wsclose","sub":2}
// Out (stdout): {"ready":true} once, then
//   {"id":1,"status":200,"contentType":"application/json","text":"…"} or {"id":1,"error":"…"}
//   {"id":2,"opened":true} or {"id":2,"error":"…"}, then {"sub":2,"data":"…"} per message and {"sub":2,"closed":true}
// The agent exits when its stdin closes. Plain Node 24 (type stripping): it imports nothing.
import { createInterface } from 'node:readline';

interface Req {
  id: number;
  op: 'http' | 'ws' | 'wsclose';
  url?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  sub?: number;
}

const send = (m: unknown): void => void process.stdout.write(`${JSON.stringify(m)}\n`);
const sockets = new Map<number, WebSocket>();
const message = (e: unknown): string => {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return [err.message ?? String(e), err.cause?.code ?? err.cause?.message].filter(Boolean).join(': ');
};

async function http(r: Req): Promise<void> {
  try {
    const res = await fetch(r.url ?? '', {
      method: r.method ?? 'GET',
      headers: r.headers,
      body: r.body,
      signal: AbortSignal.timeout(r.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    send({ id: r.id, status: res.status, contentType: res.headers.get('content-type') ?? '', text });
  } catch (e) {
    send({ id: r.id, error: message(e) });
  }
}

function ws(r: Req): void {
  let opened = false;
  const socket = new WebSocket(r.url ?? '');
  sockets.set(r.id, socket);
  socket.addEventListener('open', () => {
    opened = true;
    send({ id: r.id, opened: true });
  });
  socket.addEventListener('message', (m) => send({ sub: r.id, data: String(m.data) }));
  socket.addEventListener('error', () => {
    if (!opened) send({ id: r.id, error: `cannot open ${r.url}` });
  });
  socket.addEventListener('close', () => {
    sockets.delete(r.id);
    if (opened) send({ sub: r.id, closed: true });
  });
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  const r = JSON.parse(line) as Req;
  if (r.op === 'http') void http(r);
  else if (r.op === 'ws') ws(r);
  else if (r.op === 'wsclose') sockets.get(r.sub ?? -1)?.close();
  else send({ id: r.id, error: `unknown op ${String(r.op)}` });
});
lines.on('close', () => {
  for (const s of sockets.values()) s.close();
  process.exit(0);
});
send({ ready: true });
