import { initialState, step, type ConsensusConfig, type ConsensusInput, type ConsensusOutput, type ConsensusState } from './core.ts';

/** What a host does with the core's outputs (see the host contract in core.ts). */
export interface CoreHost {
  /** Carries out one output; it may `queue` inputs (e.g. blockReady) that run after it. */
  act(output: ConsensusOutput): Promise<void>;
  /** Right after a `start` input: feed what the host buffered for the new height. */
  started(): Promise<void>;
  /** False once the host stopped or crashed: queued inputs are then dropped. */
  running(): boolean;
}

/**
 * Runs the core for a host: one input at a time, each with all its outputs carried out before
 * the next; inputs that arrive meanwhile (from the host's own actions or its network) wait in an
 * inbox. The consensus host (host.ts) runs the core through it.
 */
export class CoreDriver {
  state: ConsensusState;
  private readonly config: ConsensusConfig;
  private readonly host: CoreHost;
  private inbox: ConsensusInput[] = [];
  private busy = false;

  constructor(config: ConsensusConfig, host: CoreHost) {
    this.config = config;
    this.host = host;
    this.state = initialState(config);
  }

  /** Back to a fresh core with nothing queued (a restart). */
  reset(): void {
    this.state = initialState(this.config);
    this.inbox = [];
    this.busy = false;
  }

  /** Queues an input to run after the current one. */
  queue(input: ConsensusInput): void {
    this.inbox.push(input);
  }

  /** Drops queued inputs: after a decision or a sync, the height they were for is over. */
  clear(): void {
    this.inbox.length = 0;
  }

  async feed(input: ConsensusInput): Promise<void> {
    this.inbox.push(input);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let i = this.inbox.shift(); i; i = this.inbox.shift()) {
        if (!this.host.running()) return;
        const r = step(this.state, i);
        this.state = r.state;
        for (const o of r.outputs) await this.host.act(o);
        if (i.kind === 'start') await this.host.started();
      }
    } finally {
      this.busy = false;
    }
  }
}
