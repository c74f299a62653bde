import type { WorkerNet } from './workerNet.ts';

// Hostile batch apps: FROM scratch with the host's static busybox, each trying one way out of
// its container and writing what happened to its log (and, for the one that carries on, to
// /out). Every attempt is bounded by the app itself too (a count, a byte limit, a timeout), so a
// broken isolation fails the test instead of filling the host's disk or hanging it.

export interface HostileApp {
  name: string;
  /** What the app is posted with: `--memory` and, where it matters, `--disk`. */
  memory: string;
  disk?: string;
  script: string;
}

/** Caps that a working /tmp and /out stop before; the apps never write more than this. */
export const FILL_LIMIT_MIB = 128;

const FORK = `
read max < /sys/fs/cgroup/pids/pids.max || max=unknown
echo "pids.max=$max"
# Whatever ends this shell reports how many processes the container held at that moment.
trap 'read n < /sys/fs/cgroup/pids/pids.current; echo "exiting with pids.current=$n"' EXIT
bomb() { bomb | bomb & }
bomb 2>/dev/null
i=0
while [ $i -lt 1000 ]; do
  sleep 60 &
  i=$((i+1))
  echo "forked $i"
done
echo "ESCAPED: forked $i processes"
`;

const MEMORY = `
read limit < /sys/fs/cgroup/memory/memory.limit_in_bytes || limit=unknown
echo "memory limit $limit"
x=0123456789abcdef
# Doubling a shell string: 16 B, 32 B, … 1 GiB after 26 rounds.
i=0
while [ $i -lt 26 ]; do x="$x$x"; i=$((i+1)); echo "holding \${#x} bytes"; done
echo "ESCAPED: held \${#x} bytes"
`;

const fill = (dir: string): string => `
echo "filling ${dir}"
dd if=/dev/zero of=${dir}/fill bs=1M count=${FILL_LIMIT_MIB} 2>&1
rc=$?
set -- $(ls -ln ${dir}/fill)
echo "wrote $5 bytes to ${dir} (dd exit $rc)"
df -k ${dir}
exit $rc
`;

/** `port`: the test's server on the host's loopback; `hosts`: the host's other addresses. */
const network = (port: number, hosts: string[]): string => `
PORT=${port}
reached=0
for h in 127.0.0.1 ${hosts.join(' ')}; do
  # busybox wget's -T does not bound a server that accepts and stays silent: timeout does.
  if out=$(timeout 5 wget -O - "http://$h:$PORT/" 2>&1); then echo "REACHED $h:$PORT with wget: $out"; reached=1; else echo "wget $h:$PORT failed: $out"; fi
  if out=$(echo hello | timeout 5 nc -w 3 $h $PORT 2>&1); then echo "REACHED $h:$PORT with nc"; reached=1; else echo "nc $h:$PORT failed: $out"; fi
done
[ $reached = 1 ]
`;

/**
 * Privileged operations, each in a child so a refusal does not end the app. The app carries on
 * and exits 0 with its report in /out: a denied app that still finishes is an ordinary result.
 */
const PRIVILEGED = `
try() { what=$1; shift; if err=$("$@" 2>&1); then echo "ALLOWED $what"; else echo "denied $what: $err"; fi; }
mkdir -p /tmp/m
{
try mount mount -t tmpfs none /tmp/m
try raw-socket ping -c 1 -W 1 127.0.0.1
try sysrq-trigger sh -c 'echo h > /proc/sysrq-trigger'
try proc-sys sh -c 'echo 3 > /proc/sys/vm/drop_caches'
try sysfs sh -c 'echo /evil > /sys/kernel/uevent_helper'
try root-fs sh -c 'echo x > /owned'
try mknod mknod /tmp/mem c 1 1
try user-namespace unshare -U -r true
try chroot chroot / true
try setns nsenter -t 1 -m true
try sethostname hostname evil
} > /out/report
cat /out/report
`;

export const HOSTILE: readonly HostileApp[] = [
  { name: 'hostile-fork', memory: '256MiB', script: FORK },
  { name: 'hostile-memory', memory: '32MiB', script: MEMORY },
  // /tmp's tmpfs pages count against the memory limit: enough memory that the 64 MiB tmpfs cap is what stops it.
  { name: 'hostile-tmp', memory: '256MiB', script: fill('/tmp') },
  { name: 'hostile-out', memory: '64MiB', disk: '32MiB', script: fill('/out') },
  // Its script is made with the test server's port (buildHostileImages).
  { name: 'hostile-network', memory: '64MiB', script: '' },
  { name: 'hostile-privileged', memory: '64MiB', script: PRIVILEGED },
];

/** The operations PRIVILEGED tries (what its report lists, in order). */
export const PRIVILEGED_OPS = [
  'mount',
  'raw-socket',
  'sysrq-trigger',
  'proc-sys',
  'sysfs',
  'root-fs',
  'mknod',
  'user-namespace',
  'chroot',
  'setns',
  'sethostname',
];

export const hostileTag = (name: string): string => `zeus-test/${name}:${process.pid}`;

/** Builds every hostile image with `net`; the network one is given the server's port and the host's addresses. */
export function buildHostileImages(net: WorkerNet, server: { port: number; hosts: string[] }): void {
  for (const a of HOSTILE) net.buildBusybox(hostileTag(a.name), a.name === 'hostile-network' ? network(server.port, server.hosts) : a.script);
}
