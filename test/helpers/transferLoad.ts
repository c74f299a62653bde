import { addressFromPublicKey, generateKeyPair, toHex, type KeyPair } from '../../src/crypto/index.ts';
import { signTx, TxKind, ZNC } from '../../src/ledger/index.ts';
import { sleep } from './processes.ts';

/**
 * About `rate` signed transfers a second from `senders`, in batches every `everyMs`, to a fresh
 * account: background load for the process tests that fault bookkeepers under traffic. A sender
 * keeps to the node `target` names for it (so its nonces arrive in order); answers are not read.
 */
export class TransferLoad {
  private running = false;
  private loop: Promise<void> | undefined;
  sent = 0;
  private readonly o: { chainId: string; senders: KeyPair[]; rate: number; everyMs: number; target: (sender: number) => string };

  constructor(o: { chainId: string; senders: KeyPair[]; rate: number; everyMs: number; target: (sender: number) => string }) {
    this.o = o;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { chainId, senders, rate, everyMs, target } = this.o;
    const to = addressFromPublicKey(generateKeyPair().publicKey);
    const nonces = new Array<bigint>(senders.length).fill(0n);
    const t0 = performance.now();
    let k = 0;
    while (this.running) {
      const due = Math.floor(((performance.now() - t0) / 1000) * rate) - this.sent;
      const byNode = new Map<string, string[]>();
      for (let i = 0; i < due; i++, k++) {
        const s = k % senders.length;
        const node = target(s);
        const tx = signTx(senders[s], { chainId, kind: TxKind.Transfer, nonce: nonces[s]++, payload: { to, token: ZNC, amount: 1_000n, memo: '' } });
        byNode.set(node, [...(byNode.get(node) ?? []), toHex(tx)]);
      }
      this.sent += due;
      for (const [node, txs] of byNode) {
        void fetch(`${node}/txs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ txs }) }).catch(() => undefined);
      }
      await sleep(everyMs);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
