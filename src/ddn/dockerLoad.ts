import { createReadStream, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import type { Digest } from './contracts.ts';

// Loading a fetched image into the local Docker engine. The engine takes a `docker save` archive
// on `POST /images/load` and reports failures inside its 200 response stream, so the stream is
// read to the end and any error in it fails the load; afterwards the engine's image id must be
// the config digest the (verified) manifest names — the engine computed it from the bytes it got.

/**
 * A dockerode client, the module loaded on first use: it brings gRPC, protobuf and SSH with it
 * (~0.2 s), which every `zeus` command would pay at start though few talk to an engine.
 */
export function newDockerClient(o?: Docker.DockerOptions): Docker {
  const Dockerode = createRequire(import.meta.url)('dockerode') as typeof Docker;
  return new Dockerode(o);
}

export interface LoadableImage {
  /** The config blob's digest (what the engine will call the image id). */
  configDigest: Digest;
  configFile: string;
  /** Layer blob files in manifest order (uncompressed or gzip tars; the engine detects which). */
  layerFiles: { digest: Digest; file: string }[];
  /** `name:tag` the loaded image gets. */
  repoTag: string;
}

export class ImageLoadError extends Error {
  override name = 'ImageLoadError';
}

/** The `docker save` archive of an image: manifest.json, the config and one file per layer. */
function saveArchive(image: LoadableImage): tar.Pack {
  const pack = tar.pack();
  const hex = (d: Digest): string => d.slice('sha256:'.length);
  const manifest = [
    { Config: `${hex(image.configDigest)}.json`, RepoTags: [image.repoTag], Layers: image.layerFiles.map((l) => `${hex(l.digest)}/layer.tar`) },
  ];
  void (async () => {
    try {
      const addFile = (name: string, file: string): Promise<void> =>
        new Promise((resolve, reject) => {
          const entry = pack.entry({ name, size: statSync(file).size }, (err) => (err ? reject(err) : resolve()));
          createReadStream(file).on('error', reject).pipe(entry);
        });
      await addFile(`${hex(image.configDigest)}.json`, image.configFile);
      for (const l of image.layerFiles) await addFile(`${hex(l.digest)}/layer.tar`, l.file);
      pack.entry({ name: 'manifest.json' }, JSON.stringify(manifest));
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
    }
  })();
  return pack;
}

/** `name:tag` → the parts `image.tag` takes (a registry host's `:port` is not the tag). */
function splitRepoTag(repoTag: string): { repo: string; tag: string } {
  const colon = repoTag.lastIndexOf(':');
  if (colon <= repoTag.lastIndexOf('/')) return { repo: repoTag, tag: 'latest' };
  return { repo: repoTag.slice(0, colon), tag: repoTag.slice(colon + 1) };
}

/**
 * Loads an image into the engine; resolves with its id, or throws what the engine said.
 *
 * An image the engine already holds under the verified config digest is only tagged: its id is
 * the digest of its config, which names every layer's content digest, so it is this image. A
 * second load would send the whole archive again, which the engine unpacks to a temporary
 * directory before it notices it holds every layer — on a worker, before every lease of the
 * app (≈ 0.2–0.5 s for a 64 MiB image on the bench machine, `npm run bench:worker`).
 */
export async function loadIntoDocker(image: LoadableImage, docker: Docker = newDockerClient()): Promise<string> {
  const held = await docker
    .getImage(image.configDigest)
    .inspect()
    .catch((e: { statusCode?: number }) => {
      if (e.statusCode === 404) return undefined;
      throw e;
    });
  if (held?.Id === image.configDigest) {
    if (!(held.RepoTags ?? []).includes(image.repoTag)) await docker.getImage(image.configDigest).tag(splitRepoTag(image.repoTag));
    return held.Id;
  }
  // tar-stream's Pack is a streamx Readable: it pipes like a Node stream, which is all dockerode does with it.
  const response = (await docker.loadImage(saveArchive(image) as unknown as NodeJS.ReadableStream, { quiet: true })) as unknown as AsyncIterable<Buffer>;
  let body = '';
  for await (const chunk of response) body += chunk.toString('utf8');
  for (const line of body.split('\n')) {
    if (!line.trim()) continue;
    let msg: { error?: string; errorDetail?: { message?: string } };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      continue;
    }
    if (msg.error || msg.errorDetail) throw new ImageLoadError(`the Docker engine refused the image: ${msg.errorDetail?.message ?? msg.error}`);
  }
  const info = await docker.getImage(image.repoTag).inspect();
  if (info.Id !== image.configDigest) {
    // Not the image the chain names: do not leave it where a container could be started from it.
    await docker.getImage(image.repoTag).remove({ force: true });
    throw new ImageLoadError(`the engine loaded image ${info.Id}, but the verified manifest names config ${image.configDigest}`);
  }
  return info.Id;
}
