import * as stores from '../stores.ts';
import type { ExecContext } from '../context.ts';
import { MAIN_CHAIN } from '../params.ts';
import { ProposalStatus } from './entries.ts';

// Software upgrades decided by a vote (Cosmos's x/upgrade): a passed upgrade proposal plans a
// name and a height. Every node stops before executing that height unless its software knows the
// name; software that does runs the upgrade's handler as the first thing of that height (a state
// migration, the same on every node) and goes on. A node's software is its code plus the handlers
// it was started with (`zeus node start --upgrade-module FILE`).

/** A state migration run on main at the start of the upgrade's height. Deterministic, like any transition. */
export type UpgradeHandler = (ctx: ExecContext) => void;

/** The upgrades a node's software knows, by name. */
export type UpgradeHandlers = ReadonlyMap<string, UpgradeHandler>;

/** The height is an upgrade's and this software does not know it: the node must stop here. */
export class UpgradeNeededError extends Error {
  override name = 'UpgradeNeededError';
  readonly upgrade: string;
  readonly height: number;
  readonly info: string;
  constructor(upgrade: string, height: number, info: string) {
    super(
      `upgrade ${upgrade} needed at height ${height}${info ? ` (${info})` : ''}: this node's software does not know it; restart it with software that does`,
    );
    this.upgrade = upgrade;
    this.height = height;
    this.info = info;
  }
}

/**
 * Start of a main height: if a planned upgrade is due, runs its handler, or throws
 * UpgradeNeededError before anything of the height is done.
 */
export function upgradeWork(ctx: ExecContext, handlers: UpgradeHandlers): void {
  if (ctx.chain !== MAIN_CHAIN) return;
  const plan = stores.upgradePlan.get(ctx.state);
  if (!plan || plan.height !== BigInt(ctx.height)) return;
  const handler = handlers.get(plan.name);
  if (!handler) throw new UpgradeNeededError(plan.name, ctx.height, plan.info);
  handler(ctx);
  stores.upgradePlan.delete(ctx.state);
  stores.upgradesDone.set(ctx.state, plan.name, { height: plan.height, proposal: plan.proposal });
  const p = stores.govProposals.get(ctx.state, plan.proposal);
  if (p) stores.govProposals.set(ctx.state, plan.proposal, { ...p, status: ProposalStatus.Executed });
}
