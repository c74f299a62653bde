import type { ReactNode } from 'react';
import type { GovTallyAnswer, VoteOptionName, VoteOutcomeName } from '../data/sdk.ts';
import { Amount } from './ui.tsx';

// A vote's count drawn as the rule reads it (src/ledger/gov/lifecycle.ts voteOutcome): first the
// turnout against all bonded stake with the quorum line, then yes among the decisive votes
// (yes + no + veto) with the threshold line, then veto among all votes with the veto line. Three
// bars because the three lines are shares of three different wholes; one bar with all three lines
// would put two of them in the wrong place.

const OPTIONS: VoteOptionName[] = ['yes', 'no', 'abstain', 'veto'];

/** Basis points of `part` in `whole` (rounded down, as the node rounds), 0 for an empty whole. */
export function shareBp(part: bigint | string, whole: bigint | string): number {
  const w = BigInt(whole);
  return w === 0n ? 0 : Number((BigInt(part) * 10_000n) / w);
}

/** Basis points as people read them: 3340 → "33.4 %". */
export const pct = (bp: number): string => `${bp / 100} %`;

export const OUTCOME_TEXT: Record<VoteOutcomeName, string> = {
  passed: 'passed',
  'rejected-quorum': 'rejected: quorum not reached',
  rejected: 'rejected: yes not above the threshold',
  vetoed: 'vetoed: veto over the veto share (the deposits go to the rewards pool)',
};

function Segments({ t, options, whole }: { t: GovTallyAnswer; options: VoteOptionName[]; whole: string }) {
  return (
    <>
      {options.map((o) => {
        const w = shareBp(t[o], whole);
        return w > 0 ? <span key={o} className={`seg ${o}`} style={{ width: `${w / 100}%` }} title={`${o}: ${pct(w)}`} /> : null;
      })}
    </>
  );
}

function Row({ name, label, children, line, lineName }: { name: string; label: ReactNode; children: ReactNode; line: number; lineName: string }) {
  return (
    <div className="tally-row" data-row={name}>
      <div className="tally-label">{label}</div>
      <div className="tbar">
        {children}
        <i className={`line ${name}`} style={{ left: `${line / 100}%` }} title={`${lineName}: ${pct(line)}`} />
      </div>
    </div>
  );
}

const mark = (ok: boolean): string => (ok ? '✓' : '✗');

export function TallyBar({ t }: { t: GovTallyAnswer }) {
  const decisive = (BigInt(t.yes) + BigInt(t.no) + BigInt(t.veto)).toString();
  const turnout = shareBp(t.voted, t.bonded);
  return (
    <div className="tally" data-testid="tally" data-outcome={t.outcome} data-final={t.final}>
      <Row
        name="quorum"
        line={t.quorum.bp}
        lineName="quorum"
        label={
          <>
            <b>Turnout {pct(turnout)}</b> of bonded stake (<Amount v={t.voted} /> of <Amount v={t.bonded} />) · quorum {pct(t.quorum.bp)} ={' '}
            <Amount v={t.quorum.needed} /> <span className={t.quorum.reached ? 'ok' : 'failed'}>{mark(t.quorum.reached)}</span>
          </>
        }
      >
        <Segments t={t} options={OPTIONS} whole={t.bonded} />
      </Row>
      <Row
        name="threshold"
        line={t.threshold.bp}
        lineName="threshold"
        label={
          <>
            <b>Yes {t.threshold.yesShareBp === null ? '—' : pct(t.threshold.yesShareBp)}</b> of yes + no + veto · passes above {pct(t.threshold.bp)}{' '}
            <span className={t.threshold.met ? 'ok' : 'failed'}>{mark(t.threshold.met)}</span>
          </>
        }
      >
        <Segments t={t} options={['yes', 'no', 'veto']} whole={decisive} />
      </Row>
      <Row
        name="veto"
        line={t.vetoLine.bp}
        lineName="veto share"
        label={
          <>
            <b>Veto {t.vetoLine.vetoShareBp === null ? '—' : pct(t.vetoLine.vetoShareBp)}</b> of all votes · vetoed above {pct(t.vetoLine.bp)}{' '}
            <span className={t.vetoLine.over ? 'failed' : 'ok'}>{t.vetoLine.over ? 'over' : 'under'}</span>
          </>
        }
      >
        <Segments t={t} options={['veto']} whole={t.voted} />
      </Row>
      <ul className="legend tally-legend">
        {OPTIONS.map((o) => (
          <li key={o} data-option={o}>
            <i className={`seg ${o}`} />
            {o} <Amount v={t[o]} />
          </li>
        ))}
      </ul>
      <p className="tally-outcome" data-testid="tally-outcome">
        {t.final ? 'Counted: ' : 'If the vote ended now: '}
        <b>{OUTCOME_TEXT[t.outcome]}</b>
      </p>
    </div>
  );
}
