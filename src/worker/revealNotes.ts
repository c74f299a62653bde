import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppOutcomeCanonical } from '../ledger/index.ts';

// Commitments sent and not yet revealed (docs/MARKET.md, "Fairness: commit and reveal"), written
// down so that a restarted agent still reveals: a lease whose result was committed before the agent
// died is revealed by the next one (src/worker/leaseMachine.ts's revealAction says when).

/**
 * A commitment sent and not yet revealed: kept in the lease's directory as `reveal.json`, written
 * before the commitment is sent. `tar`: the canonical result archive to publish once the reveal phase opens.
 */
export interface PendingReveal {
  task: string;
  lease: number;
  salt: string;
  digest: string;
  outcome?: AppOutcomeCanonical & { logDigest: string };
  tar?: { file: string; digest: string };
}

export const REVEAL_NOTE = 'reveal.json';

/** The notes of the commitments waiting for their reveal phase, by file, under `leasesDir/<task>-<lease>/`. */
export class RevealNotes {
  private readonly leasesDir: string;
  private readonly notes = new Map<string, PendingReveal>();

  constructor(leasesDir: string) {
    this.leasesDir = leasesDir;
  }

  /** Writes `p` down in the lease's directory `files` (whole or not at all) and keeps it: before its commitment is sent. */
  add(files: string, p: PendingReveal): void {
    const file = join(files, REVEAL_NOTE);
    writeFileSync(`${file}.part`, JSON.stringify(p));
    renameSync(`${file}.part`, file);
    this.notes.set(file, p);
  }

  /** Takes up the notes an earlier run wrote and did not reveal; one that cannot be read is said through `log`. */
  load(log: (line: string) => void): void {
    for (const name of readdirSync(this.leasesDir)) {
      const file = join(this.leasesDir, name, REVEAL_NOTE);
      if (!existsSync(file)) continue;
      try {
        this.notes.set(file, JSON.parse(readFileSync(file, 'utf8')) as PendingReveal);
      } catch (e) {
        log(`${file}: unreadable (${(e as Error).message}); that commitment cannot be revealed`);
      }
    }
  }

  /** The notes now, each with its file (a copy: the caller may forget notes as it goes). */
  pending(): [string, PendingReveal][] {
    return [...this.notes];
  }

  /** Revealed, or decided without it: the note and the archive it kept are removed. */
  forget(file: string): void {
    const p = this.notes.get(file);
    this.notes.delete(file);
    rmSync(file, { force: true });
    if (p?.tar) rmSync(p.tar.file, { force: true });
  }
}

/** What RevealResult says for a note (besides the lease and the salt): the digest, or the app outcome. */
export function revealFields(p: PendingReveal): {
  digest: string;
  appOutcome: boolean;
  exitCode: number;
  oomKilled: boolean;
  cause: AppOutcomeCanonical['cause'];
  logDigest: string;
} {
  const o = p.outcome;
  return {
    digest: o ? '' : p.digest,
    appOutcome: o !== undefined,
    exitCode: o?.exitCode ?? 0,
    oomKilled: o?.oomKilled ?? false,
    cause: o?.cause ?? '',
    logDigest: o?.logDigest ?? '',
  };
}
