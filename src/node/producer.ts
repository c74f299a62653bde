import { UpgradeNeededError } from '../ledger/index.ts';

/**
 * Decides when blocks are made. The solo bookkeeper of a dev chain is one implementation;
 * the elected set with BFT finality (the consensus issue) replaces it behind this interface.
 */
export interface BlockProducer {
  start(): void;
  stop(): Promise<void>;
}

export interface ProducingNode {
  /** Whether a block now would contain anything (transactions, receipts, due unbondings). */
  hasWork(): boolean;
  /** Builds, persists and commits one block from the mempool. */
  produceBlock(): Promise<unknown>;
  /** Block production stopped for good: raise the alarm. */
  halt(what: string, e: unknown): void;
}

/** The only bookkeeper of a dev chain: a block every interval while there is work. */
export class SoloProducer implements BlockProducer {
  private readonly node: ProducingNode;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(node: ProducingNode, intervalMs: number) {
    this.node = node;
    this.intervalMs = intervalMs;
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = (this.node.hasWork() ? this.node.produceBlock().then(() => undefined) : Promise.resolve())
        .catch((e: unknown) => {
          // A block that cannot be persisted must stop the node rather than diverge from disk.
          this.node.halt('block production', e);
          // A planned upgrade's halt is the network's decision, not this node's failure.
          if (!(e instanceof UpgradeNeededError)) process.exitCode = 1;
          this.stopped = true;
        })
        .finally(() => this.schedule());
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
