import * as stores from '../stores.ts';
import type { ExecContext } from '../context.ts';
import { MAIN_CHAIN } from '../params.ts';
import type { StateReader } from '../state.ts';
import { ProposalStatus, type UpgradePlan } from './entries.ts';

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

/** The upgrade planned for `height` in main's state, if any; whether this software knows it is the caller's question. */
export function upgradeDueAt(main: StateReader, height: number): UpgradePlan | undefined {
  const plan = stores.upgradePlan.get(main);
  return plan && plan.height === BigInt(height) ? plan : undefined;
}

/** The upgrade due at `height` that `handlers` lack, as the error a node stops with; else undefined. */
export function missingUpgrade(main: StateReader, height: number, handlers: UpgradeHandlers): UpgradeNeededError | undefined {
  const plan = upgradeDueAt(main, height);
  return plan && !handlers.has(plan.name) ? new UpgradeNeededError(plan.name, height, plan.info) : undefined;
}

/**
 * Start of a main height: if a planned upgrade is due, runs its handler, or throws
 * UpgradeNeededError before anything of the height is done.
 */
export function upgradeWork(ctx: ExecContext, handlers: UpgradeHandlers): void {
  if (ctx.chain !== MAIN_CHAIN) return;
  const missing = missingUpgrade(ctx.state, ctx.height, handlers);
  if (missing) throw missing;
  const plan = upgradeDueAt(ctx.state, ctx.height);
  const handler = plan && handlers.get(plan.name);
  if (!plan || !handler) return;
  handler(ctx);
  stores.upgradePlan.delete(ctx.state);
  stores.upgradesDone.set(ctx.state, plan.name, { height: plan.height, proposal: plan.proposal });
  const p = stores.govProposals.get(ctx.state, plan.proposal);
  if (p) stores.govProposals.set(ctx.state, plan.proposal, { ...p, status: ProposalStatus.Executed });
}
