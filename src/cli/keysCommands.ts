import type { Command } from 'commander';
import { toHex } from '../crypto/index.ts';
import { globalOptions, keystore, loadKey, output, passphraseFor } from './context.ts';

export function register(program: Command): void {
  const keys = program
    .command('keys')
    .description('Manage Ed25519 keys in the home keystore (scrypt + AES-256-GCM, passphrase from ZEUS_PASSPHRASE or a prompt)');

  keys
    .command('new <name>')
    .description('Create a new key')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const k = keystore(g).create(name, await passphraseFor(g, `New passphrase for "${name}": `, true));
      output(g, k, () => `Created key ${k.name}\n  address    ${k.address}\n  public key ${k.publicKey}`);
    });

  keys
    .command('list')
    .description('List keys: name, address')
    .action((_o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const list = keystore(g).list();
      output(g, list, () => (list.length ? list.map((k) => `${k.name.padEnd(20)} ${k.address}`).join('\n') : `no keys in ${keystore(g).dir}`));
    });

  keys
    .command('show <name>')
    .description("Show a key's address and public key")
    .action((name: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const k = keystore(g).show(name);
      output(g, k, () => `${k.name}\n  address    ${k.address}\n  public key ${k.publicKey}`);
    });

  keys
    .command('import <name>')
    .description('Import a 32-byte Ed25519 secret key (hex) from --secret or standard input')
    .option('--secret <hex>', 'the secret key as 64 hex characters (prefer standard input: arguments show in process lists)')
    .action(async (name: string, o: { secret?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      let secret = o.secret;
      if (!secret) {
        if (process.stdin.isTTY) throw new Error('pass the secret key on standard input or with --secret');
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        secret = Buffer.concat(chunks).toString('utf8').trim();
      }
      const k = keystore(g).import(name, secret, await passphraseFor(g, `New passphrase for "${name}": `, true));
      output(g, k, () => `Imported key ${k.name}\n  address    ${k.address}`);
    });

  keys
    .command('export <name>')
    .description("Print a key's secret (hex); anyone holding it controls the account")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const secret = toHex((await loadKey(g, name)).secretKey);
      output(g, { name, secretKey: secret }, () => secret);
    });
}
