import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unlessMissing } from './files.ts';

// Who may push where: the first account to push into a namespace (the first component of a
// repository name, `alice` in `alice/render`) owns it, and only that account may push, tag or
// delete under it afterwards. Pulling stays open to everyone.

export class NamespaceOwners {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  static namespaceOf(repository: string): string {
    return repository.split('/')[0];
  }

  /** The owner of `repository`'s namespace, claiming it for `address` when it has none. */
  async claim(repository: string, address: string): Promise<string> {
    const file = join(this.dir, NamespaceOwners.namespaceOf(repository));
    await mkdir(this.dir, { recursive: true });
    try {
      // 'wx' fails when the file exists, so of two first pushers exactly one wins.
      await writeFile(file, address, { flag: 'wx' });
      return address;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = await this.owner(repository);
    if (owner) return owner;
    // An empty file is a claim cut short by a crash: nobody owns the namespace yet.
    await writeFile(file, address);
    return address;
  }

  async owner(repository: string): Promise<string | undefined> {
    return (await unlessMissing(readFile(join(this.dir, NamespaceOwners.namespaceOf(repository)), 'utf8'), undefined))?.trim();
  }
}
