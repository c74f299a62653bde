// Latency and jitter for the nemesis (test/faults/nemesis.ts): this kernel has no netem, so a
// user-space TCP relay stands in for a slow link. It runs inside a host's namespace (`ip netns exec
// NS node relay.ts LISTEN_IP:PORT TARGET_IP:PORT DELAY_MS JITTER_MS`), accepts connections on
// LISTEN and opens one to TARGET for each, and forwards every chunk either way DELAY_MS ± JITTER_MS
// after it arrived. A chunk never overtakes the one before it (TCP keeps order), so jitter only
// lengthens gaps. Prints {"ready":true} once listening; exits on SIGTERM or when stdin closes.
// Plain Node 24 (type stripping): it imports nothing of the project.
import { createConnection, createServer, type Socket } from 'node:net';

const [listen, target, delayArg, jitterArg] = process.argv.slice(2);
const split = (a: string | undefined): [string, number] => {
  const m = /^(.+):(\d+)$/.exec(a ?? '');
  if (!m) throw new Error(`usage: relay.ts LISTEN_IP:PORT TARGET_IP:PORT DELAY_MS JITTER_MS (got ${a})`);
  return [m[1], Number(m[2])];
};
const [lHost, lPort] = split(listen);
const [tHost, tPort] = split(target);
const delay = Number(delayArg ?? 0);
const jitter = Number(jitterArg ?? 0);

/** Forwards `from`'s data to `to`, each chunk late by delay ± jitter and never before the previous one. */
function pipeDelayed(from: Socket, to: Socket): void {
  let last = 0;
  from.on('data', (chunk: Buffer) => {
    const due = Math.max(last, Date.now() + delay + (jitter > 0 ? Math.round((Math.random() * 2 - 1) * jitter) : 0));
    last = due;
    setTimeout(() => to.writable && to.write(chunk), Math.max(0, due - Date.now()));
  });
  // The end, too, comes after the data it follows.
  from.on('end', () => setTimeout(() => to.end(), Math.max(0, last - Date.now())));
  from.on('error', () => to.destroy());
}

const server = createServer((client) => {
  const upstream = createConnection({ host: tHost, port: tPort });
  pipeDelayed(client, upstream);
  pipeDelayed(upstream, client);
  // A side that closed takes the other down once what it sent before has been forwarded.
  const later = delay + jitter + 50;
  client.on('close', () => setTimeout(() => upstream.destroy(), later));
  upstream.on('close', () => setTimeout(() => client.destroy(), later));
});
server.listen(lPort, lHost, () => process.stdout.write(`${JSON.stringify({ ready: true, listen, target, delay, jitter })}\n`));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
