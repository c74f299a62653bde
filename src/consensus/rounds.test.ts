import { describe, expect, it } from 'vitest';
import type { ConsensusOutput, Step, TransitionReason } from './core.ts';
import { RoundHistory, SLOW_HEIGHT_ROUNDS } from './rounds.ts';

const move = (height: number, from: [number, Step], to: [number, Step], reason: TransitionReason): ConsensusOutput => ({
  kind: 'transition',
  height,
  from: { round: from[0], step: from[1] },
  round: to[0],
  step: to[1],
  reason,
});

/** One failed round: no proposal, nil prevotes and precommits, then the precommit timeout. */
const failedRound = (height: number, r: number): ConsensusOutput[] => [
  move(height, [r, 'propose'], [r, 'prevote'], 'timeoutPropose'),
  move(height, [r, 'prevote'], [r, 'precommit'], 'nilPolka'),
  move(height, [r, 'precommit'], [r + 1, 'propose'], 'timeoutPrecommit'),
];

describe('round log', () => {
  it('logs each change at debug and warns once when a height needs more than 3 rounds, with the path', () => {
    const h = new RoundHistory();
    const out = [
      move(7, [0, 'propose'], [0, 'propose'], 'start'),
      ...failedRound(7, 0),
      ...failedRound(7, 1),
      ...failedRound(7, 2),
      ...failedRound(7, 3),
    ].flatMap((o, i) => h.observe(o, 1000 + i * 100));
    const changes = out.filter((r) => r.msg === 'consensus round change');
    expect(changes.map((r) => [r.level, r.fields.round, r.fields.reason])).toEqual([
      ['debug', 1, 'timeoutPrecommit'],
      ['debug', 2, 'timeoutPrecommit'],
      ['debug', 3, 'timeoutPrecommit'],
      ['debug', 4, 'timeoutPrecommit'],
    ]);
    expect(out.filter((r) => r.msg === 'consensus step').map((r) => r.fields.reason)).toEqual(Array(4).fill(['timeoutPropose', 'nilPolka']).flat());
    const warnings = out.filter((r) => r.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toBe(`height 7 needs more than ${SLOW_HEIGHT_ROUNDS} rounds`);
    expect(warnings[0].fields).toMatchObject({ height: 7, round: 3, ms: 900 });
    expect(warnings[0].fields.rounds).toBe(
      'r0 timeoutPropose>prevote, nilPolka>precommit, timeoutPrecommit>r1; r1 timeoutPropose>prevote, nilPolka>precommit, timeoutPrecommit>r2; ' +
        'r2 timeoutPropose>prevote, nilPolka>precommit, timeoutPrecommit>r3; r3 ',
    );
    // Deciding such a height is a warning too; a quick one is only debug.
    const decide = (height: number, round: number): ConsensusOutput => ({
      kind: 'decide',
      height,
      round,
      blockHash: new Uint8Array(32),
      certificate: { height: BigInt(height), round, blockHash: new Uint8Array(32), signers: [], signatures: [] },
    });
    expect(h.observe(decide(7, 4), 3000)).toMatchObject([{ level: 'warn', msg: 'height 7 decided in round 4' }]);
    h.observe(move(8, [0, 'propose'], [0, 'propose'], 'start'), 3500);
    const quick = [...failedRound(8, 0), decide(8, 1)].flatMap((o) => h.observe(o, 4000));
    expect(quick.filter((r) => r.level === 'warn')).toEqual([]);
    expect(quick.at(-1)).toMatchObject({ level: 'debug', msg: 'consensus decided', fields: { height: 8, round: 1 } });
  });

  it('a height that needs only 3 rounds is not warned about', () => {
    const h = new RoundHistory();
    const out = [move(2, [0, 'propose'], [0, 'propose'], 'start'), ...failedRound(2, 0), ...failedRound(2, 1)].flatMap((o) => h.observe(o, 0));
    expect(out.filter((r) => r.level === 'warn')).toEqual([]);
    // Joining a higher round by f+1 messages counts like any other round change.
    expect(h.observe(move(2, [2, 'propose'], [5, 'propose'], 'higherRound'), 0).map((r) => r.level)).toEqual(['debug', 'warn']);
  });
});
