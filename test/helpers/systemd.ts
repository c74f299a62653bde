import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

// Enough of systemd to run a unit file from deploy/ the way systemd would, in a test: parse the
// unit, build the command and environment of its [Service] (ExecStart=, Environment=,
// EnvironmentFile=), and supervise it as Restart= and RestartSec= say. Not a reimplementation of
// systemd: the sandboxing options are not applied (the test is not the machine's init), only what
// decides whether the service comes back after it dies.

export type Unit = Map<string, [string, string][]>;

/** Sections to their key=value lines in order (a key may repeat, as Environment= does). */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: [string, string][] | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[([^\]]+)\]$/.exec(line);
    if (s) {
      section = [];
      unit.set(s[1], section);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !section) throw new Error(`unit file: cannot read line "${line}"`);
    section.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** The last value of `key` in `section` (systemd: a later assignment wins), or undefined. */
export function unitValue(unit: Unit, section: string, key: string): string | undefined {
  return unit
    .get(section)
    ?.filter(([k]) => k === key)
    .at(-1)?.[1];
}

export const unitValues = (unit: Unit, section: string, key: string): string[] => (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);

/** Splits a command line as systemd does: on whitespace, with "…" and '…' quoting. */
export function splitWords(s: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]));
  return words;
}

/** A time span of a unit: "2", "2s", "500ms", "1min". */
export function unitSeconds(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m)?$/.exec(v.trim());
  if (!m) throw new Error(`unit file: "${v}" is not a time span`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'min' || m[2] === 'm' ? n * 60 : n;
}

/** KEY=VALUE lines of an environment file (# comments, optional quotes). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`environment file: cannot read line "${line}"`);
    env[m[1]] = m[2].replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return env;
}

export interface ServiceSpec {
  argv: string[];
  env: Record<string, string>;
  restart: string;
  restartSec: number;
  /** RestartPreventExitStatus=: exit codes after which no Restart= applies. */
  preventExit: number[];
}

/**
 * The command and environment of a unit's [Service]. `paths` rewrites paths of the machine the unit
 * is written for (the zeus binary, the home, /etc/zeus/…) into the test's: a word equal to a key
 * becomes the key's words; any other word has each key replaced inside it.
 */
export function serviceSpec(unit: Unit, paths: Record<string, string[]>, base: Record<string, string>): ServiceSpec {
  const exec = unitValue(unit, 'Service', 'ExecStart');
  if (!exec) throw new Error('the unit has no ExecStart=');
  const words = splitWords(exec.replace(/^[@\-:+!]+/, ''));
  const rewrite = (w: string): string[] => {
    if (paths[w]) return paths[w];
    let out = w;
    for (const [from, to] of Object.entries(paths)) out = out.split(from).join(to.join(' '));
    return [out];
  };
  const argv = words.flatMap(rewrite);
  const env: Record<string, string> = { ...base };
  for (const v of unitValues(unit, 'Service', 'Environment')) {
    for (const pair of splitWords(v)) {
      const eq = pair.indexOf('=');
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  for (const v of unitValues(unit, 'Service', 'EnvironmentFile')) {
    const optional = v.startsWith('-');
    const file = rewrite(v.replace(/^-/, ''))[0];
    if (!existsSync(file)) {
      if (optional) continue;
      throw new Error(`EnvironmentFile ${file} does not exist`);
    }
    Object.assign(env, parseEnvFile(readFileSync(file, 'utf8')));
  }
  const preventExit = unitValues(unit, 'Service', 'RestartPreventExitStatus').flatMap((v) => splitWords(v).map(Number));
  return {
    argv,
    env,
    restart: unitValue(unit, 'Service', 'Restart') ?? 'no',
    restartSec: unitSeconds(unitValue(unit, 'Service', 'RestartSec') ?? '0.1'),
    preventExit,
  };
}

export interface Run {
  child: ChildProcess;
  startedAt: number;
  stdout: string;
  stderr: string;
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
}

/**
 * Starts a service and restarts it as its Restart= says (always; on-failure: a non-zero exit or a
 * signal other than the stop signal) after RestartSec, until `stop()`.
 */
export class Supervisor {
  readonly runs: Run[] = [];
  private readonly spec: ServiceSpec;
  private readonly spawn: (argv: string[], env: Record<string, string>) => ChildProcess;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(spec: ServiceSpec, spawn: (argv: string[], env: Record<string, string>) => ChildProcess) {
    this.spec = spec;
    this.spawn = spawn;
  }

  get current(): Run | undefined {
    return this.runs.at(-1);
  }

  start(): void {
    const child = this.spawn(this.spec.argv, this.spec.env);
    const run: Run = { child, startedAt: Date.now(), stdout: '', stderr: '' };
    this.runs.push(run);
    child.stdout?.on('data', (d: Buffer) => (run.stdout = (run.stdout + String(d)).slice(-200_000)));
    child.stderr?.on('data', (d: Buffer) => (run.stderr = (run.stderr + String(d)).slice(-200_000)));
    child.once('exit', (code, signal) => {
      run.exit = { code, signal, at: Date.now() };
      if (this.stopping || (code !== null && this.spec.preventExit.includes(code))) return;
      const failed = code !== 0 || (signal !== null && signal !== 'SIGTERM');
      if (this.spec.restart === 'always' || (this.spec.restart === 'on-failure' && failed)) {
        this.timer = setTimeout(() => this.start(), this.spec.restartSec * 1000);
      }
    });
  }

  /** What `systemctl stop` does: SIGTERM, SIGKILL after `timeoutMs`; no restart. */
  async stop(timeoutMs = 30_000): Promise<Run['exit']> {
    this.stopping = true;
    clearTimeout(this.timer);
    const run = this.current;
    if (!run || run.exit) return run?.exit;
    const exited = new Promise<void>((r) => run.child.once('exit', () => r()));
    run.child.kill('SIGTERM');
    const kill = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(kill);
    return run.exit;
  }
}
