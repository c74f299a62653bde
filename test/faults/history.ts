import { appendFileSync, closeSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import { z } from 'zod';

// The history of a fault run (issue 16), as Jepsen keeps one: every operation a workload client
// invoked, with what came back. JSON lines, one record per operation, appended when the operation
// completes (an operation still open when the run ends is written as "unknown"), so a run killed
// midway leaves a readable prefix. The checker (checker.ts) reads only this file and the nodes'
// final state (finalState.ts): it never asks the workload what it meant to do.
//
// outcome  ok       the node reported it committed, at `height`
//          fail     the node refused it, with `code` (it must then be absent from every block)
//          unknown  no answer within the client's timeout, or the connection broke: it may or may not
//                   have committed, and must be present at most once

const Amount = z.string().regex(/^\d+$/);

export const OpKind = z.enum(['transfer', 'post-task', 'cancel-task', 'top-up-task', 'bid', 'accept-bid', 'report-usage', 'submit-result', 'release-lease']);
export type OpKind = z.infer<typeof OpKind>;

export const HistoryRecordSchema = z.object({
  /** Unique in the run; bank transfers carry it in their memo so the checker can find them in blocks. */
  op: z.string().min(1).max(64),
  /** The workload client that invoked it (one sequence of operations each). */
  client: z.string().min(1),
  kind: OpKind,
  /** The API URL it was sent to. */
  node: z.string(),
  invokedAt: z.number().int(),
  completedAt: z.number().int(),
  /** Hash of the signed transaction (hex). */
  tx: z.string().regex(/^[0-9a-f]{64}$/),
  from: z.string(),
  to: z.string().optional(),
  amount: Amount.optional(),
  memo: z.string().optional(),
  /** The task an operation of the market workload concerns (hex id). */
  task: z.string().optional(),
  outcome: z.enum(['ok', 'fail', 'unknown']),
  height: z.number().int().nonnegative().optional(),
  code: z.string().optional(),
  /** Free text: the error message of a fail, what broke for an unknown. */
  note: z.string().optional(),
});
export type HistoryRecord = z.infer<typeof HistoryRecordSchema>;

/** The first line of a history: what the run started from. */
export const HistoryHeaderSchema = z.object({
  header: z.literal(true),
  chainId: z.string(),
  seed: z.number().int().optional(),
  startedAt: z.number().int(),
  /** Each workload account's ZNC balance (base units) when the workload started, read from a node. */
  balances: z.record(z.string(), Amount),
  /**
   * The height those balances were read at (a /status height read just before them, while nothing
   * moved them: funding transfers committed and their receipts delivered). The checker counts the
   * transfers above it; without it, every transfer in the blocks (balances as at genesis).
   */
  balancesAt: z.number().int().nonnegative().optional(),
});
export type HistoryHeader = z.infer<typeof HistoryHeaderSchema>;

export interface History {
  header: HistoryHeader;
  records: HistoryRecord[];
}

/** Appends records to a history file; each line is written and flushed before `add` returns. */
export class HistoryWriter {
  readonly file: string;
  private readonly fd: number;
  private count = 0;

  constructor(file: string, header: HistoryHeader) {
    this.file = file;
    this.fd = openSync(file, 'wx', 0o600);
    this.line(HistoryHeaderSchema.parse(header));
  }

  add(r: HistoryRecord): void {
    this.line(HistoryRecordSchema.parse(r));
    this.count++;
  }

  get written(): number {
    return this.count;
  }

  close(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
  }

  private line(v: unknown): void {
    appendFileSync(this.fd, `${JSON.stringify(v)}\n`);
  }
}

/** Reads a history; a torn last line (the writer killed mid-line) is dropped, any other bad line throws with its number. */
export function readHistory(file: string): History {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw new Error(`${file}: empty history (no header)`);
  const header = HistoryHeaderSchema.parse(JSON.parse(lines[0]));
  const records: HistoryRecord[] = [];
  for (let i = 1; i < lines.length; i++) {
    let v: unknown;
    try {
      v = JSON.parse(lines[i]);
    } catch (e) {
      if (i === lines.length - 1) break;
      throw new Error(`${file}:${i + 1}: not JSON: ${(e as Error).message}`);
    }
    const r = HistoryRecordSchema.safeParse(v);
    if (!r.success) throw new Error(`${file}:${i + 1}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    records.push(r.data);
  }
  return { header, records };
}
