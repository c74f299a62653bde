import { describe, expect, it } from 'vitest';
import type { GovTallyAnswer } from '../sdk/index.ts';
import { parseParamSet, tallyText } from './govCommands.ts';

// `zeus gov propose --set` is checked before anything is sent; a tally reads as the vote stands.

describe('zeus gov arguments and text', () => {
  it('checks --set NAME=VALUE against the parameter table', () => {
    expect(parseParamSet('market.minWorkerBond=2000000000')).toEqual({ name: 'market.minWorkerBond', value: '2000000000' });
    expect(parseParamSet(' governance.quorumBp = 4000 ')).toEqual({ name: 'governance.quorumBp', value: '4000' });
    expect(() => parseParamSet('minWorkerBond=5')).toThrow('"minWorkerBond" is not a parameter governance can change: `zeus gov params` lists them');
    expect(() => parseParamSet('bookkeeperSeats=3')).toThrow('bookkeeperSeats must be between 4 and 200; 3 is not');
    expect(() => parseParamSet('governance.thresholdBp=4999')).toThrow('governance.thresholdBp must be between 5000 and 10000 basis points; 4999 is not');
    expect(() => parseParamSet('market.minWorkerBond=0')).toThrow('market.minWorkerBond must be at least 1 base units (0.00000001 ZNC); 0 is not');
    expect(() => parseParamSet('market.minWorkerBond=10ZNC')).toThrow("give it in the parameter's own unit (base units, 1 ZNC = 100000000)");
    expect(() => parseParamSet('bookkeeperSeats')).toThrow('--set takes NAME=VALUE');
  });

  it('shows a live tally with its lines and who weighs what', () => {
    const t: GovTallyAnswer = {
      final: false,
      yes: '100000000000',
      no: '60000000000',
      abstain: '0',
      veto: '0',
      bonded: '200000000000',
      voted: '160000000000',
      quorum: { bp: 3340, needed: '66800000000', reached: true },
      threshold: { bp: 5000, yesShareBp: 6250, met: true },
      vetoLine: { bp: 3340, vetoShareBp: 0, over: false },
      outcome: 'passed',
      weights: [
        { voter: 'znc1a', weight: '100000000000', option: 'yes' },
        { voter: 'znc1b', weight: '60000000000', option: 'yes', via: 'znc1a' },
      ],
    };
    const text = tallyText(t, (a) => (a === 'znc1a' ? 'alice' : a), true).join('\n');
    expect(text).toContain('live count: if the vote ended now: passed');
    expect(text).toContain('voted 1600 ZNC of 2000 ZNC bonded; quorum 33.4 % = 668 ZNC: reached');
    expect(text).toContain('threshold: yes more than 50 % of yes + no + veto: met (yes 62.5 %)');
    expect(text).toContain('veto line: veto more than 33.4 % of votes: not over (veto 0 %)');
    expect(text).toContain('znc1b 600 ZNC yes (following proxy alice)');
    expect(tallyText({ ...t, final: true, weights: null }, (a) => a, true).join('\n')).toContain('final count: outcome: passed');
  });
});
