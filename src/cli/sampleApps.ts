// The sample apps the devnet publishes and the worker runs, built with the local Docker engine and no
// registry: every image is FROM scratch plus the host's statically linked busybox (Debian's
// busybox-static), so nothing is pulled. `npm run sample-apps` builds them alone (scripts/sample-apps.ts).
//
// Images, all running as nobody (65534) and writing only to /out, which the worker mounts as a
// size-capped tmpfs over a read-only root file system:
//   zeusnet/sample-mandelbrot:1  batch: SIZE (64) → /out/mandelbrot.ppm, an ASCII PPM (P3) rendered by awk
//   zeusnet/sample-hash:1        batch: SEED, N (1000) → /out/result.txt, hex sha256 iterated N times over SEED
//   zeusnet/sample-web:1         service: busybox httpd on port 8080 serving /www
//   zeusnet/sample-wasm:1        the WASM batch module alone (FROM scratch, /primes.wasm); also DIR/primes.wasm
//
// Idempotent: the build contexts are rewritten with the same bytes, so Docker's layer cache returns the same
// image ids. It prints, per image, its id and facts that do not depend on how a registry would store it: the
// sha256 of the build context's files and of the busybox inside.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleModule } from '../worker/index.client.ts';

export const BUSYBOX = '/bin/busybox';
export const NOBODY = '65534:65534';

export interface SampleApp {
  name: string;
  tag: string;
  kind: 'batch' | 'service' | 'wasm';
  /** Files of the build context besides the Dockerfile; busybox is added to every image but the wasm one. */
  files: Record<string, string | Uint8Array>;
  dockerfile: string;
}

export interface BuiltApp {
  name: string;
  tag: string;
  kind: SampleApp['kind'];
  imageId: string;
  contextSha256: string;
}

const MANDELBROT_AWK = `# Renders the Mandelbrot set as an ASCII PPM. Plain double arithmetic: the same busybox gives the same bytes.
BEGIN {
  printf "P3\\n%d %d\\n255\\n", size, size
  for (y = 0; y < size; y++) {
    line = ""
    for (x = 0; x < size; x++) {
      cr = -2.0 + 2.5 * x / size; ci = -1.25 + 2.5 * y / size
      zr = 0; zi = 0; i = 0
      while (i < maxit && zr * zr + zi * zi <= 4) { t = zr * zr - zi * zi + cr; zi = 2 * zr * zi + ci; zr = t; i++ }
      if (i == maxit) { r = 0; g = 0; b = 0 } else { r = int(255 * i / maxit); g = int(255 * (maxit - i) / maxit); b = int(128 + 127 * (i % 2)) }
      line = line (x ? " " : "") r " " g " " b
    }
    print line
  }
}
`;

const MANDELBROT_SH = `#!/bin/sh
set -eu
SIZE="\${SIZE:-64}"
MAX_ITER="\${MAX_ITER:-64}"
case "$SIZE$MAX_ITER" in *[!0-9]*) echo "SIZE and MAX_ITER must be positive integers" >&2; exit 2 ;; esac
if [ "$SIZE" -lt 1 ] || [ "$SIZE" -gt 4096 ]; then echo "SIZE must be 1..4096" >&2; exit 2; fi
awk -v size="$SIZE" -v maxit="$MAX_ITER" -f /app/mandelbrot.awk > /out/mandelbrot.ppm
echo "mandelbrot: $SIZE x $SIZE written to /out/mandelbrot.ppm"
`;

const HASH_SH = `#!/bin/sh
# h0 = SEED, h(i+1) = hex sha256 of h(i); writes h(N). Every worker must get the same answer: redundancy checks.
set -eu
N="\${N:-1000}"
h="\${SEED:-zeusnet}"
case "$N" in ''|*[!0-9]*) echo "N must be a non-negative integer" >&2; exit 2 ;; esac
i=0
while [ "$i" -lt "$N" ]; do
  h=$(printf %s "$h" | sha256sum)
  h=\${h%% *}
  i=$((i + 1))
done
echo "$h" > /out/result.txt
echo "hash: $N rounds, $h"
`;

const INDEX_HTML = `<!doctype html>
<title>ZeusNet sample service</title>
<h1>Hello from a ZeusNet worker</h1>
<p>Served by busybox httpd from a FROM scratch image.</p>
`;

// Every busybox image: the binary, its applets as links (RUN with busybox itself: the image has no other
// shell), /out owned by nobody for runs without a tmpfs, and nobody as the user.
const busyboxBase = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "sh", "-c", "mkdir -p /out /tmp && chown ${NOBODY} /out && chmod 1777 /tmp"]
ENV PATH=/bin
`;

export const SAMPLE_APPS: SampleApp[] = [
  {
    name: 'mandelbrot',
    tag: 'zeusnet/sample-mandelbrot:1',
    kind: 'batch',
    files: { 'mandelbrot.awk': MANDELBROT_AWK, 'run.sh': MANDELBROT_SH },
    dockerfile: `${busyboxBase}COPY mandelbrot.awk run.sh /app/\nENV SIZE=64\nUSER ${NOBODY}\nENTRYPOINT ["/bin/sh", "/app/run.sh"]\n`,
  },
  {
    name: 'hash',
    tag: 'zeusnet/sample-hash:1',
    kind: 'batch',
    files: { 'run.sh': HASH_SH },
    dockerfile: `${busyboxBase}COPY run.sh /app/\nENV N=1000 SEED=zeusnet\nUSER ${NOBODY}\nENTRYPOINT ["/bin/sh", "/app/run.sh"]\n`,
  },
  {
    name: 'web',
    tag: 'zeusnet/sample-web:1',
    kind: 'service',
    files: { 'index.html': INDEX_HTML },
    dockerfile: `${busyboxBase}COPY index.html /www/\nUSER ${NOBODY}\nEXPOSE 8080\nENTRYPOINT ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
  },
  {
    name: 'wasm',
    tag: 'zeusnet/sample-wasm:1',
    kind: 'wasm',
    files: { 'primes.wasm': sampleModule() },
    // Just the module: the wasm runtime reads /primes.wasm from the image's layer, nothing here runs.
    dockerfile: `FROM scratch\nCOPY primes.wasm /primes.wasm\nUSER ${NOBODY}\nLABEL org.zeusnet.runtime=wasm org.zeusnet.module=/primes.wasm\n`,
  },
];

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 }).trim();
}

/** Writes one app's build context under dir and returns the sha256 over its files (names and bytes, sorted). */
function writeContext(app: SampleApp, dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string | Uint8Array> = { ...app.files, Dockerfile: app.dockerfile };
  if (app.kind !== 'wasm') {
    copyFileSync(BUSYBOX, join(dir, 'busybox'));
    files.busybox = readFileSync(BUSYBOX);
  }
  const digest = createHash('sha256');
  for (const name of Object.keys(files).sort()) {
    if (name !== 'busybox') writeFileSync(join(dir, name), files[name]);
    digest.update(`${name}\0${sha256(files[name])}\n`);
  }
  return digest.digest('hex');
}

/**
 * Builds every sample app (Docker reuses its cache when nothing changed) and writes DIR/primes.wasm;
 * with `docker: false`, only the module (for a machine without an engine).
 */
export function buildSampleApps(outDir: string, o: { docker?: boolean } = {}): { apps: BuiltApp[]; wasmPath: string; wasmSha256: string } {
  const wasm = sampleModule();
  mkdirSync(outDir, { recursive: true });
  const wasmPath = join(outDir, 'primes.wasm');
  writeFileSync(wasmPath, wasm);
  if (o.docker === false) return { apps: [], wasmPath, wasmSha256: sha256(wasm) };
  const apps = SAMPLE_APPS.map((app) => {
    const contextDir = join(outDir, 'contexts', app.name);
    const contextSha256 = writeContext(app, contextDir);
    // The legacy builder never pulls for FROM scratch; --pull=false says so for BuildKit as well.
    docker(['build', '--quiet', '--pull=false', '--tag', app.tag, contextDir]);
    const imageId = docker(['image', 'inspect', '--format', '{{.Id}}', app.tag]);
    return { name: app.name, tag: app.tag, kind: app.kind, imageId, contextSha256 };
  });
  const facts = { apps, wasm: { path: wasmPath, sha256: sha256(wasm), bytes: wasm.length }, busyboxSha256: sha256(readFileSync(BUSYBOX)) };
  writeFileSync(join(outDir, 'sample-apps.json'), `${JSON.stringify(facts, null, 2)}\n`);
  return { apps, wasmPath, wasmSha256: facts.wasm.sha256 };
}
