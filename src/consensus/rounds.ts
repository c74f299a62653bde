import type { ConsensusOutput } from './core.ts';

// What a host logs about rounds: every round and step change of the core with its reason at
// debug, and a warning when a height needs more than a few rounds, with the path that led there
// (e.g. "r0 timeoutPropose, timeoutPrevote, timeoutPrecommit; r1 proposal, nilPolka, …"). Pure:
// the host passes its clock reading and writes the records to its own log.

export interface RoundLogRecord {
  readonly level: 'debug' | 'warn';
  readonly fields: Readonly<Record<string, string | number>>;
  readonly msg: string;
}

type Transition = Extract<ConsensusOutput, { kind: 'transition' }>;
type Decision = Extract<ConsensusOutput, { kind: 'decide' }>;

/** A height that enters this round (i.e. takes more than this many rounds) is warned about. */
export const SLOW_HEIGHT_ROUNDS = 3;

export class RoundHistory {
  private readonly warnRound: number;
  private height = 0;
  private startedAt = 0;
  private path: { round: number; steps: string[] }[] = [];
  private warned = false;

  constructor(warnRound = SLOW_HEIGHT_ROUNDS) {
    this.warnRound = warnRound;
  }

  /** Records for one output of the core (only transitions and decisions produce any). */
  observe(o: ConsensusOutput, now: number): RoundLogRecord[] {
    if (o.kind === 'transition') return this.transition(o, now);
    if (o.kind === 'decide') return this.decide(o, now);
    return [];
  }

  /** The rounds of the current height so far, e.g. "r0 timeoutPropose>prevote …; r1 …". */
  summary(): string {
    return this.path.map((r) => `r${r.round} ${r.steps.join(', ')}`).join('; ');
  }

  private transition(t: Transition, now: number): RoundLogRecord[] {
    if (t.reason === 'start' || t.height !== this.height) {
      this.height = t.height;
      this.startedAt = now;
      this.path = [{ round: t.round, steps: [] }];
      this.warned = false;
      if (t.reason === 'start') return [];
    }
    const ms = now - this.startedAt;
    const out: RoundLogRecord[] = [];
    const newRound = t.round !== t.from.round || t.step === 'propose';
    if (newRound) {
      this.last().steps.push(`${t.reason}>r${t.round}`);
      this.path.push({ round: t.round, steps: [] });
      out.push({
        level: 'debug',
        fields: { height: t.height, round: t.round, fromRound: t.from.round, fromStep: t.from.step, reason: t.reason, ms },
        msg: 'consensus round change',
      });
      if (t.round >= this.warnRound && !this.warned) {
        this.warned = true;
        out.push({
          level: 'warn',
          fields: { height: t.height, round: t.round, ms, rounds: this.summary() },
          msg: `height ${t.height} needs more than ${this.warnRound} rounds`,
        });
      }
    } else {
      this.last().steps.push(`${t.reason}>${t.step}`);
      out.push({ level: 'debug', fields: { height: t.height, round: t.round, step: t.step, reason: t.reason, ms }, msg: 'consensus step' });
    }
    return out;
  }

  private decide(d: Decision, now: number): RoundLogRecord[] {
    if (d.height !== this.height) return [];
    const ms = now - this.startedAt;
    const fields = { height: d.height, round: d.round, ms, rounds: this.summary() };
    return d.round >= this.warnRound
      ? [{ level: 'warn', fields, msg: `height ${d.height} decided in round ${d.round}` }]
      : [{ level: 'debug', fields, msg: 'consensus decided' }];
  }

  private last(): { round: number; steps: string[] } {
    return this.path[this.path.length - 1];
  }
}
