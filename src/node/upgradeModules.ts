import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { UpgradeHandler } from '../ledger/index.ts';

// `zeus node start --upgrade-module FILE`: the software side of a governance upgrade. A passed
// upgrade proposal stops every node at its height (src/ledger/gov/upgrades.ts); a node started
// with a module that exports a handler under the upgrade's name runs it there, as the first thing
// of that height, and goes on. The handler is a state migration: it must be deterministic (the
// same writes on every node, from the state alone), like any ledger transition.

/** What an upgrade module exports. */
export interface UpgradeModule {
  upgrades: Record<string, UpgradeHandler>;
}

/** An upgrade's name as a proposal may carry it (src/ledger/gov/lifecycle.ts checks the same). */
const UPGRADE_NAME = /^[\w.-]{1,32}$/;

/**
 * Loads the handlers of each module (ES modules, `export const upgrades = { NAME: (ctx) => … }`),
 * by upgrade name. Throws, naming the file, if one cannot be loaded, does not export `upgrades`
 * as an object of functions, names an upgrade no proposal could, or names one another file does.
 */
export async function loadUpgradeModules(files: readonly string[]): Promise<Map<string, UpgradeHandler>> {
  const handlers = new Map<string, UpgradeHandler>();
  const from = new Map<string, string>();
  for (const file of files) {
    const path = resolve(file);
    const bad = (why: string): Error =>
      new Error(
        `--upgrade-module ${file}: ${why}; an upgrade module is an ES module that exports \`upgrades\`, an object of handlers by upgrade name, e.g. export const upgrades = { 'v2': (ctx) => { … } }`,
      );
    if (!existsSync(path)) throw bad(`no such file (${path})`);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (e) {
      throw bad(`it could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
    }
    const upgrades = mod.upgrades;
    if (upgrades === undefined) throw bad('it exports no `upgrades`');
    if (typeof upgrades !== 'object' || upgrades === null || Array.isArray(upgrades)) throw bad(`its \`upgrades\` is not an object (${typeof upgrades})`);
    const entries = Object.entries(upgrades);
    if (entries.length === 0) throw bad('its `upgrades` names no upgrade');
    for (const [name, handler] of entries) {
      if (!UPGRADE_NAME.test(name)) throw bad(`"${name}" is not an upgrade name (1–32 letters, digits, _ . -)`);
      if (typeof handler !== 'function') throw bad(`upgrades["${name}"] is not a function (${typeof handler})`);
      const earlier = from.get(name);
      if (earlier !== undefined) throw bad(`upgrade "${name}" is also handled by ${earlier}: give one handler per upgrade`);
      from.set(name, file);
      handlers.set(name, handler as UpgradeHandler);
    }
  }
  return handlers;
}
