import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { sampleModule } from '../worker/index.client.ts';
import { globalOptions, output } from './context.ts';
import { BUSYBOX, NOBODY } from './sampleApps.ts';

// `zeus app init NAME [--wasm]`: a template app in ./NAME that keeps the workload contract
// (docs/APPS.md): inputs and secrets come as environment variables, the result is whatever the app
// writes under /out, and the exit code says whether it failed. The container template is FROM
// scratch plus a statically linked busybox, so it builds with no registry and nothing pulled, as
// the sample apps do; the WASI template carries a ready module (the primes sample, which needs no
// toolchain) and the Rust source of one that reads its inputs from the environment.

/** What an app's name may be on the chain: lowercase letters, digits, ".", "_" or "-" (PublishApp's check). */
const APP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const RUN_SH = `#!/bin/sh
# The workload: ZeusNet gives the task's --input and --secret pairs as environment variables,
# keeps whatever this writes under /out as the result (a tar the poster downloads with
# \`zeus task result\`), and reads the exit code: 0 is a result, anything else is the app's own
# failure (the worker is paid for the time it ran; the poster gets no result).
set -eu

WHO="\${WHO:-world}"        # an input: zeus task post --input WHO=Ada
TIMES="\${TIMES:-3}"        # an input: zeus task post --input TIMES=5
case "$TIMES" in ''|*[!0-9]*) echo "TIMES must be a whole number, got '$TIMES'" >&2; exit 2 ;; esac
if [ "$TIMES" -gt 1000 ]; then echo "TIMES must be at most 1000" >&2; exit 2; fi

i=0
: > /out/result.txt
while [ "$i" -lt "$TIMES" ]; do
  i=$((i + 1))
  echo "$i: hello, $WHO" >> /out/result.txt
done

# A secret (zeus task post --secret API_TOKEN=…) is only ever opened by the worker that runs the
# task. Never print it or write it to /out: the logs go to the poster, /out is the result.
if [ -n "\${API_TOKEN:-}" ]; then echo "an API_TOKEN was given" >> /out/result.txt; fi

echo "wrote $TIMES line(s) to /out/result.txt"
`;

const dockerfile = (): string => `# FROM scratch + a statically linked busybox: builds with no registry and pulls nothing.
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "sh", "-c", "mkdir -p /out /tmp && chown ${NOBODY} /out && chmod 1777 /tmp"]
ENV PATH=/bin
COPY run.sh /app/run.sh
# Defaults for the inputs; a task's --input overrides them.
ENV WHO=world TIMES=3
# Runs as nobody: the worker gives it a read-only root, a small /tmp and /out to write.
USER ${NOBODY}
ENTRYPOINT ["/bin/sh", "/app/run.sh"]
`;

const dockerReadme = (name: string, busybox: boolean): string => `# ${name}: a ZeusNet app

Made by \`zeus app init ${name}\`. The contract it keeps, and everything below in more detail, is in
ZeusNet's docs/APPS.md.

- \`run.sh\`: the workload. Inputs (\`WHO\`, \`TIMES\`) and secrets (\`API_TOKEN\`) arrive as
  environment variables; the result is what it writes under \`/out\`; exit 0 means a result.
- \`Dockerfile\`: FROM scratch + busybox, running as nobody.
- \`busybox\`: ${busybox ? `a copy of ${BUSYBOX} (statically linked)` : `MISSING: copy a statically linked busybox here (Debian: \`apt-get install busybox-static\`, then \`cp ${BUSYBOX} ${name}/\`)`}.

Try it, build it, publish it with a license fee, run a first paid task (on a devnet:
\`export ZEUS_HOME=.devnet/node0 ZEUS_NODE=http://127.0.0.1:PORT\` as \`zeus devnet start\` prints):

\`\`\`sh
docker build --pull=false -t ${name}:0.1.0 ${name}
docker run --rm -e WHO=Ada -e TIMES=2 --tmpfs /out ${name}:0.1.0          # a dry run on this machine
zeus app publish ${name}:0.1.0 --from developer --name ${name} --version 0.1.0 --license-fee 0.5 --wait
zeus task post --from user --app ${name}@0.1.0 --cpu 0.5 --memory 64MiB --max-price 1 --input WHO=Ada --follow
zeus task result TASK_ID --out result.tar && tar -xOf result.tar out/result.txt
zeus app show ${name}                                                          # fees earned per version
\`\`\`

A new version: change the files, build \`${name}:0.2.0\`, publish it with \`--version 0.2.0\`; then
\`zeus app deprecate --from developer --name ${name} --version 0.1.0 --wait\` stops new tasks of the old one.
`;

const MAIN_RS = `// A WASI command module for ZeusNet: inputs and secrets arrive as environment variables, the
// result is what it writes under /out (preopened by the worker), the exit code says whether it
// failed. Build: rustup target add wasm32-wasip1 && cargo build --release --target wasm32-wasip1
use std::{env, fs, process};

fn main() {
    let who = env::var("WHO").unwrap_or_else(|_| "world".to_string());
    let times: u32 = match env::var("TIMES").unwrap_or_else(|_| "3".to_string()).parse() {
        Ok(n) if n <= 1000 => n,
        _ => {
            eprintln!("TIMES must be a whole number up to 1000");
            process::exit(2);
        }
    };
    let mut out = String::new();
    for i in 1..=times {
        out.push_str(&format!("{i}: hello, {who}\\n"));
    }
    // A secret is only ever opened by the worker that runs the task: never print it.
    if env::var("API_TOKEN").is_ok() {
        out.push_str("an API_TOKEN was given\\n");
    }
    if let Err(e) = fs::write("/out/result.txt", out) {
        eprintln!("cannot write /out/result.txt: {e}");
        process::exit(1);
    }
    println!("wrote {times} line(s) to /out/result.txt");
}
`;

/** The crate (and so the .wasm file) name: Cargo takes letters, digits, "_" and "-". */
const crateOf = (name: string): string => name.replace(/[^a-z0-9_-]/g, '_');

const cargoToml = (name: string): string => `[package]
name = "${crateOf(name)}"
version = "0.1.0"
edition = "2021"

[profile.release]
opt-level = "s"
strip = true
`;

const wasmReadme = (name: string): string => `# ${name}: a ZeusNet WASI app

Made by \`zeus app init ${name} --wasm\`. The contract it keeps is in ZeusNet's docs/APPS.md; a wasm
app runs on a worker's \`wasm\` runtime (WASI preview1 in the node's own sandbox, no container engine).

- \`app.wasm\`: a ready module to publish at once: ZeusNet's primes sample (\`app.wasm N\` writes the
  sum of the first N primes to \`/out/result.txt\`; N is its argument, given at publish with \`--arg\`).
- \`src/main.rs\`, \`Cargo.toml\`: your own app in Rust, reading its inputs (\`WHO\`, \`TIMES\`) and
  secrets (\`API_TOKEN\`) from the environment and writing \`/out/result.txt\`. Build it and replace
  \`app.wasm\` with it:

\`\`\`sh
rustup target add wasm32-wasip1
cargo build --release --target wasm32-wasip1 --manifest-path ${name}/Cargo.toml
cp ${name}/target/wasm32-wasip1/release/${crateOf(name)}.wasm ${name}/app.wasm
\`\`\`

Publish it with a license fee (no Docker needed: the module goes up as a one-layer image) and run
a first paid task (on a devnet: \`export ZEUS_HOME=.devnet/node0 ZEUS_NODE=http://127.0.0.1:PORT\`):

\`\`\`sh
zeus app publish --wasm ${name}/app.wasm --arg 100 --from developer --name ${name} --version 0.1.0 --license-fee 0.5 --wait
zeus task post --from user --app ${name}@0.1.0 --runtime wasm --memory 64MiB --max-price 1 --follow
zeus task result TASK_ID --out result.tar && tar -xOf result.tar out/result.txt
zeus app show ${name}
\`\`\`
`;

export interface InitResult {
  app: string;
  dir: string;
  template: 'docker' | 'wasm';
  files: string[];
  /** Whether the busybox the Dockerfile copies is in place (docker template). */
  busybox: boolean;
}

/** Writes the template into `dir` (which must not exist); `busyboxPath` is the static busybox to copy. */
export function initApp(name: string, o: { wasm?: boolean; busyboxPath?: string; parent?: string } = {}): InitResult {
  if (!APP_NAME.test(name))
    throw new Error(
      `"${name}" cannot be an app's name (the chain takes lowercase letters, digits, ".", "_" and "-", starting with a letter or digit, at most 64); app init writes ./NAME in the current folder`,
    );
  const dir = o.parent === undefined ? name : join(o.parent, name);
  if (existsSync(dir))
    throw new Error(
      `${dir} already exists${statSync(dir).isDirectory() ? ' (a folder)' : ''}: app init writes a new folder and never overwrites; choose another name or move it away`,
    );
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string | Uint8Array> = {};
  let busybox = false;
  if (o.wasm) {
    files['app.wasm'] = sampleModule('result.txt');
    files['Cargo.toml'] = cargoToml(name);
    files['src/main.rs'] = MAIN_RS;
    files['README.md'] = wasmReadme(name);
  } else {
    files.Dockerfile = dockerfile();
    files['run.sh'] = RUN_SH;
    const from = o.busyboxPath ?? BUSYBOX;
    busybox = existsSync(from);
    files['README.md'] = dockerReadme(name, busybox);
    files['.dockerignore'] = 'README.md\n';
    if (busybox) copyFileSync(from, join(dir, 'busybox'));
  }
  for (const [f, body] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), body, { mode: f.endsWith('.sh') ? 0o755 : 0o644 });
  }
  return { app: name, dir, template: o.wasm ? 'wasm' : 'docker', files: [...Object.keys(files), ...(busybox ? ['busybox'] : [])].sort(), busybox };
}

export function registerAppInit(app: Command): void {
  app
    .command('init <name>')
    .description(
      'Write a template app into ./NAME: a FROM scratch + busybox image (Dockerfile, run.sh reading inputs and secrets from the environment and writing /out) and a README with the commands to build, publish with a license fee and run it; --wasm: a WASI module instead. Never overwrites',
    )
    .option('--wasm', 'a WASI template (a ready module and its Rust source) for the wasm runtime, published without Docker')
    .action((name: string, o: { wasm?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const r = initApp(name, { wasm: o.wasm });
      output(g, r, () =>
        [
          `wrote a ${r.template === 'wasm' ? 'WASI' : 'container'} app template in ${r.dir}/: ${r.files.join(', ')}`,
          ...(r.template === 'docker' && !r.busybox
            ? [`  the Dockerfile copies a static busybox that is not on this machine: apt-get install busybox-static && cp ${BUSYBOX} ${r.dir}/`]
            : []),
          `  next: see ${join(r.dir, 'README.md')} (build, publish with a license fee, post a first task); the contract: docs/APPS.md`,
        ].join('\n'),
      );
    });
}
