import type { FastifyInstance } from 'fastify';
import type { ZeusNode } from '../node/index.ts';
import type { GovParamsAnswer, ProposalAnswer, ProposalsAnswer } from '../sdk/index.ts';
import { govParamsView, proposalsView, proposalView } from './gov.ts';

// Governance's routes: proposals with their deposits, votes and count, and the parameters
// governance may change. All read main's committed state; proposing, depositing and voting are
// transactions (POST /txs: GovPropose, GovDeposit, GovVote).

export function registerGovRoutes(app: FastifyInstance, node: ZeusNode): void {
  const tags = ['governance'];

  app.get(
    '/gov/proposals',
    {
      schema: {
        summary:
          'Governance proposals, newest first: id, type, title, status, proposer, deposit held (base units), submit height, deposit period end, voting start and end, execution height',
        tags,
      },
    },
    async (): Promise<ProposalsAnswer> => proposalsView(node.reader),
  );

  app.get<{ Params: { id: string } }>(
    '/gov/proposals/:id',
    {
      schema: {
        summary:
          'One proposal: what it asks for (parameter changes with their values now, payment, upgrade), deposits, votes, and its count — the recorded one once the vote ended, else the live one (weights per staker, delegated weight with the proxy it followed, quorum, threshold and veto lines, the outcome if it ended now). 404 UNKNOWN_PROPOSAL, 400 INVALID_PROPOSAL_ID',
        tags,
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 40 } } },
      },
    },
    async (req): Promise<ProposalAnswer> => proposalView(node.reader, node.ledger.reserve, req.params.id),
  );

  app.get(
    '/gov/params',
    {
      schema: {
        summary:
          'The parameters governance may change: type (int, amount in base units, bp), bounds, value now and at genesis, the proposal that changed it; the upgrade planned and the upgrades done',
        tags,
      },
    },
    async (): Promise<GovParamsAnswer> => govParamsView(node.reader, node.ledger.genesisParams),
  );
}
