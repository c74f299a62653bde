import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDockerd } from './helpers/docker.ts';
import { cleanup, NODE_BIN, nodeEnv, ROOT } from './helpers/processes.ts';
import { RegistryClient, sha256, startRegistryNode, type RegistryNode } from './helpers/registry.ts';

// The real Docker engine and skopeo against a node's registry: a multi-layer image built FROM
// scratch (busybox plus three layers of files) is pushed after `zeus registry login`, removed,
// pulled back and run; skopeo copies it in from the Docker daemon and out to an OCI layout,
// which is loaded into Docker again and run. Docker treats 127.0.0.0/8 registries as plain HTTP.

const RUN = `t${Date.now().toString(36)}`;
let r: RegistryNode;
let work: string;
let dockerConfig: string;
const images: string[] = [];

function run(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; input?: string } = {}): { code: number; out: string; err: string } {
  const res = spawnSync(cmd, args, {
    env: o.env ?? { ...process.env, DOCKER_CONFIG: dockerConfig },
    input: o.input,
    encoding: 'utf8',
    timeout: 120_000,
    cwd: ROOT,
  });
  return { code: res.status ?? -1, out: res.stdout ?? '', err: `${res.stderr ?? ''}${res.error ? String(res.error) : ''}` };
}
const docker = (...args: string[]) => run('docker', args);
const zeus = (...args: string[]) =>
  run(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--home', r.home.home, ...args], { env: { ...nodeEnv(), DOCKER_CONFIG: dockerConfig } });
const hasSkopeo = spawnSync('which', ['skopeo']).status === 0;

/** A build context: busybox and three layers of files (text, 512 KiB of random bytes, many small files). */
function buildContext(dir: string): void {
  mkdirSync(join(dir, 'etc-zeus'), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'busybox'));
  writeFileSync(join(dir, 'etc-zeus', 'hello.txt'), `hello from ${RUN}\n`);
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'random.bin'), new Uint8Array(spawnSync('head', ['-c', String(512 * 1024), '/dev/urandom']).stdout));
  mkdirSync(join(dir, 'many'));
  for (let i = 0; i < 200; i++) writeFileSync(join(dir, 'many', `f${i}.txt`), `file ${i}\n`.repeat(i + 1));
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'COPY etc-zeus /etc/zeus',
      'COPY data /data',
      'COPY many /many',
      'ENTRYPOINT ["/bin/busybox"]',
      'CMD ["echo", "ok"]',
      '',
    ].join('\n'),
  );
}

beforeAll(async () => {
  ensureDockerd();
  r = await startRegistryNode('zeus-ddn-docker-');
  work = mkdtempSync(join(tmpdir(), 'zeus-ddn-docker-work-'));
  dockerConfig = join(work, 'docker-config');
  mkdirSync(dockerConfig);
  buildContext(join(work, 'ctx'));
}, 60_000);

afterAll(async () => {
  if (images.length) docker('rmi', '--force', ...images);
  await cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('docker push and pull through the node registry', () => {
  const image = () => `${r.host}/alice/ddn-${RUN}:v1`;

  it('zeus registry login writes Docker credentials that the node accepts', () => {
    const login = zeus('--json', '--node', r.url, 'registry', 'login', '--key', 'alice', '--ttl', '10m');
    expect(login.code, login.err).toBe(0);
    const out = JSON.parse(login.out) as { registry: string; address: string; expiresAt: string };
    expect(out.registry).toBe(r.host);
    expect(out.address).toMatch(/^znc1/);
    const config = JSON.parse(readFileSync(join(dockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    const [user, token] = Buffer.from(config.auths[r.host].auth, 'base64').toString('utf8').split(':');
    expect(user).toBe(out.address);
    expect(token).toMatch(/^zrt1\./);
  });

  it('zeus registry login --docker-login logs in through `docker login` (Bearer token flow, credentials checked)', () => {
    const other = join(work, 'docker-login-config');
    const login = run(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--home', r.home.home, '--node', r.url, 'registry', 'login', '--key', 'bob', '--docker-login'], {
      env: { ...nodeEnv(), DOCKER_CONFIG: other },
    });
    expect(login.code, login.err).toBe(0);
    expect(login.out).toContain('ran docker login');
    const config = JSON.parse(readFileSync(join(other, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(config.auths[r.host].auth, 'base64').toString('utf8')).toMatch(/^znc1[0-9a-z]+:zrt1\./);
    const wrong = run('docker', ['--config', other, 'login', '--username', 'znc1nobody', '--password-stdin', r.host], { input: 'not-a-token' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.err).toMatch(/unauthorized|not a ZeusNet registry token/i);
  });

  it('pushes a multi-layer image built FROM scratch', () => {
    images.push(image());
    const build = docker('build', '-q', '-t', image(), join(work, 'ctx'));
    expect(build.code, build.err).toBe(0);
    const push = docker('push', image());
    expect(push.code, `${push.out}${push.err}`).toBe(0);
    expect(push.out).toMatch(/v1: digest: sha256:[0-9a-f]{64}/);
  });

  it('the pushed manifest lists four layers, each stored and verified', async () => {
    const client = new RegistryClient(r.url);
    const m = await client.request('GET', `/v2/alice/ddn-${RUN}/manifests/v1`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    expect(m.status).toBe(200);
    expect(m.header('docker-content-digest')).toBe(sha256(m.body));
    const layers = m.json.layers as { digest: string; size: number }[];
    expect(layers).toHaveLength(4);
    for (const l of [...layers, m.json.config as { digest: string; size: number }]) {
      const b = await client.request('GET', `/v2/alice/ddn-${RUN}/blobs/${l.digest}`);
      expect(b.status).toBe(200);
      expect(b.body.length).toBe(l.size);
      expect(sha256(b.body)).toBe(l.digest);
    }
  });

  it('after the local image is removed, docker pull brings it back and it runs', () => {
    expect(docker('rmi', image()).code).toBe(0);
    expect(docker('image', 'inspect', image()).code).not.toBe(0);
    const pull = docker('pull', image());
    expect(pull.code, `${pull.out}${pull.err}`).toBe(0);
    const ok = docker('run', '--rm', image());
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out.trim()).toBe('ok');
    const hello = docker('run', '--rm', image(), 'cat', '/etc/zeus/hello.txt');
    expect(hello.out).toBe(`hello from ${RUN}\n`);
    expect(docker('run', '--rm', image(), 'sh', '-c', 'ls /many | wc -l').out.trim()).toBe('200');
  });

  it('pulling is open to Docker without credentials; pushing is not', () => {
    const anonymous = { ...process.env, DOCKER_CONFIG: join(work, 'no-credentials') };
    mkdirSync(anonymous.DOCKER_CONFIG, { recursive: true });
    expect(run('docker', ['rmi', image()], { env: anonymous }).code).toBe(0);
    const pull = run('docker', ['pull', image()], { env: anonymous });
    expect(pull.code, `${pull.out}${pull.err}`).toBe(0);
    const other = `${r.host}/alice/ddn-${RUN}:anonymous`;
    images.push(other);
    expect(docker('tag', image(), other).code).toBe(0);
    const push = run('docker', ['push', other], { env: anonymous });
    expect(push.code).not.toBe(0);
    expect(`${push.out}${push.err}`).toMatch(/unauthorized|authentication required/i);
  });
});

describe.skipIf(!hasSkopeo)('skopeo copy both ways (daemonless)', () => {
  const source = () => `${r.host}/alice/ddn-${RUN}:v1`;
  const copied = () => `${r.host}/alice/ddn-skopeo-${RUN}:v1`;
  const layout = () => join(work, 'oci-layout');

  it('copies the image from the Docker daemon into the registry with --dest-creds from `zeus registry token --creds`', async () => {
    const creds = zeus('--node', r.url, 'registry', 'token', '--key', 'alice', '--creds');
    expect(creds.code, creds.err).toBe(0);
    expect(creds.out.trim()).toMatch(/^znc1[0-9a-z]+:zrt1\.[\w-]+\.[\w-]+$/);
    const copy = run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', creds.out.trim(), `docker-daemon:${source()}`, `docker://${copied()}`]);
    expect(copy.code, copy.err).toBe(0);
    const tags = await new RegistryClient(r.url).request('GET', `/v2/alice/ddn-skopeo-${RUN}/tags/list`);
    expect(tags.json.tags).toEqual(['v1']);
    // Without credentials (skopeo would otherwise find `zeus registry login`'s in DOCKER_CONFIG).
    const authFile = join(work, 'empty-auth.json');
    writeFileSync(authFile, '{}');
    const anonymous = { ...process.env, DOCKER_CONFIG: join(work, 'no-credentials'), REGISTRY_AUTH_FILE: authFile };
    const refused = run('skopeo', ['copy', '--dest-tls-verify=false', `docker-daemon:${source()}`, `docker://${r.host}/alice/ddn-skopeo-${RUN}:nocreds`], {
      env: anonymous,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/unauthorized|authentication required/i);
  });

  it('copies it out of the registry into an OCI layout whose blobs verify', () => {
    const copy = run('skopeo', ['copy', '--src-tls-verify=false', `docker://${copied()}`, `oci:${layout()}:v1`]);
    expect(copy.code, copy.err).toBe(0);
    const blobs = readdirSync(join(layout(), 'blobs', 'sha256'));
    expect(blobs.length).toBeGreaterThanOrEqual(6); // index-less layout: manifest, config, four layers
    for (const hex of blobs) expect(sha256(readFileSync(join(layout(), 'blobs', 'sha256', hex)))).toBe(`sha256:${hex}`);
  });

  it('the copied-out image loads into Docker and runs', () => {
    const loaded = `zeus-ddn-skopeo-loaded:${RUN}`;
    images.push(loaded);
    const copy = run('skopeo', ['copy', `oci:${layout()}:v1`, `docker-daemon:${loaded}`]);
    expect(copy.code, copy.err).toBe(0);
    const ok = docker('run', '--rm', loaded, 'cat', '/etc/zeus/hello.txt');
    expect(ok.out).toBe(`hello from ${RUN}\n`);
  });
});

if (!hasSkopeo) {
  describe('skopeo', () => {
    it.skip('skopeo is not installed (`which skopeo` failed): the daemonless copies were not tested', () => undefined);
  });
}
