import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Docker for the tests that need a real engine. `ensureDockerd()` makes sure one answers: if
// none does, it starts dockerd itself (and leaves it running for the next test file, as
// .ci/run does) — on the default socket with the default settings, or, when DOCKER_HOST names
// another unix socket, a private daemon on that socket with its own data, exec root and pid
// file under the socket's directory. A private daemon gets no bridge and no iptables rules, so
// it cannot disturb the host's default daemon; its containers have only `--network none` (what
// batch leases use) or the host network.

const DEFAULT_SOCKET = '/var/run/docker.sock';
const START_TIMEOUT_MS = 60_000;
/** Another test file (vitest runs them in parallel) may be starting dockerd: wait for it rather than start a second. */
const LOCK = join(tmpdir(), 'zeus-test-dockerd.lock');

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** Whether the docker CLI and dockerd are installed (tests that can do without Docker skip on false). */
export const dockerInstalled = (): boolean => onPath('docker') && onPath('dockerd');

const answers = (): boolean => spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 15_000 }).status === 0;

/** The unix socket DOCKER_HOST names (or the default one). */
function socketPath(): string {
  const host = process.env.DOCKER_HOST;
  if (!host) return DEFAULT_SOCKET;
  if (!host.startsWith('unix://')) throw new Error(`DOCKER_HOST=${host} does not answer, and only a local unix socket can be started by the tests`);
  return host.slice('unix://'.length);
}

/** The daemon's command line: the default one, or a private one beside a socket of its own. */
function dockerdArgs(socket: string): { args: string[]; log: string } {
  if (socket === DEFAULT_SOCKET) return { args: [], log: join(tmpdir(), 'zeus-test-dockerd.log') };
  const dir = join(socket, '..');
  mkdirSync(dir, { recursive: true });
  return {
    args: [
      '--host',
      `unix://${socket}`,
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '--bridge',
      'none',
      '--iptables=false',
      '--ip-masq=false',
    ],
    log: join(dir, 'dockerd.log'),
  };
}

/** Makes sure a Docker engine answers, starting dockerd if none does; returns whether this call started it. */
export function ensureDockerd(): boolean {
  if (answers()) return false;
  if (!dockerInstalled()) throw new Error('Docker is not installed (docker and dockerd; Debian: apt-get install docker.io)');
  const socket = socketPath();
  let owner = false;
  try {
    closeSync(openSync(LOCK, 'wx'));
    owner = true;
  } catch {
    // Held by another test file; a lock older than a start can take was left by a crash.
    if (Date.now() - statSync(LOCK).mtimeMs > START_TIMEOUT_MS) {
      rmSync(LOCK, { force: true });
      return ensureDockerd();
    }
  }
  const { args, log } = dockerdArgs(socket);
  try {
    if (owner) {
      const out = openSync(log, 'a');
      const d = spawn('dockerd', args, { detached: true, stdio: ['ignore', out, out] });
      d.unref();
      closeSync(out);
    }
    const until = Date.now() + START_TIMEOUT_MS;
    while (!answers()) {
      if (Date.now() > until) {
        let tail = '';
        try {
          tail = readFileSync(log, 'utf8').slice(-2000);
        } catch {
          // no log: started by another file
        }
        throw new Error(`dockerd did not answer on ${socket} within ${START_TIMEOUT_MS / 1000} s\n${tail}`);
      }
      sleepSync(250);
    }
  } finally {
    if (owner) rmSync(LOCK, { force: true });
  }
  return owner;
}
