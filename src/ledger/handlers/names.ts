/** Name of the ledger-owned account that pays bookkeeper rewards and the worker dividend. */
export const REWARDS_POOL_NAME = 'rewards-pool';
