// One-off: converts the ledger's raw state accesses to the typed stores (src/ledger/stores.ts):
//   R.get<T>(Keys.x(a, b))  →  stores.S.get(R, a, b)        R.set(Keys.x(a), null)  →  stores.S.delete(R, a)
//   R.get(MarketKeys.x(a))  →  stores.S.get(R, a)           R.set(Keys.x(a), v)     →  stores.S.set(R, a, v)
// and imports `* as stores`. What it cannot convert it lists (a key held in a variable, the
// evidence key built from a template, prefix scans): convert those by hand (see the head comment
// of stores.ts), then delete Keys, MarketKeys, DUE_COUNT_PREFIX and this script.
//
// Usage: node scripts/stores-codemod.ts FILE… (rewrites the files in place)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

const STORE_OF: Record<string, string> = {
  'Keys.account': 'accounts',
  'Keys.multisig': 'multisigs',
  'Keys.proposal': 'proposals',
  'Keys.token': 'tokens',
  'Keys.stake': 'stakes',
  'Keys.unbonding': 'unbonding',
  'Keys.candidate': 'candidates',
  'Keys.vote': 'votes',
  'Keys.bookkeeperSets': 'bookkeeperSets',
  'MarketKeys.worker': 'workers',
  'MarketKeys.workerCount': 'workerCount',
  'MarketKeys.workerAt': 'workerIndex',
  'MarketKeys.app': 'apps',
  'MarketKeys.appName': 'appNames',
  'MarketKeys.license': 'licenses',
  'MarketKeys.task': 'tasks',
  'MarketKeys.bid': 'bids',
  'MarketKeys.bidBy': 'bidRefs',
  'MarketKeys.lease': 'leases',
  'MarketKeys.dispute': 'disputes',
  'MarketKeys.dueCount': 'dueCounts',
  'MarketKeys.due': 'dues',
  'MarketKeys.appOutcome': 'appOutcomes',
  'MarketKeys.released': 'releases',
};

/** Index just past the bracket that closes the one at `open`. */
function closing(s: string, open: number): number {
  const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}', '<': '>' };
  const stack: string[] = [];
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === "'" || c === '"' || c === '`') {
      const q = c;
      for (i++; i < s.length && s[i] !== q; i++) if (s[i] === '\\') i++;
      continue;
    }
    if (c in pairs && c !== '<') stack.push(pairs[c]);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) throw new Error(`unbalanced at ${i}`);
      if (stack.length === 0) return i + 1;
    }
  }
  throw new Error('unclosed');
}

/** Top-level comma-separated parts of `s`. */
function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'" || c === '"' || c === '`') {
      const q = c;
      for (i++; i < s.length && s[i] !== q; i++) if (s[i] === '\\') i++;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = s.slice(start).trim();
  if (last) out.push(last);
  return out;
}

const CALL = /([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\.(get|set)(<[^<>()]*>)?\(\s*((?:Market)?Keys)\.(\w+)/g;

function convert(file: string): string[] {
  let s = readFileSync(file, 'utf8');
  const manual: string[] = [];
  let changed = false;
  for (;;) {
    CALL.lastIndex = 0;
    let m: RegExpExecArray | null;
    let done = true;
    while ((m = CALL.exec(s))) {
      const [whole, receiver, op, , keysObj, name] = m;
      const store = STORE_OF[`${keysObj}.${name}`];
      const open = m.index + whole.indexOf('(', receiver.length + 1 + op.length);
      const end = closing(s, open);
      const args = splitArgs(s.slice(open + 1, end - 1));
      const keyExpr = args[0];
      const keyHead = `${keysObj}.${name}`;
      let keyArgs: string[];
      if (keyExpr === keyHead) keyArgs = [];
      else if (keyExpr.startsWith(`${keyHead}(`) && closing(keyExpr, keyHead.length) === keyExpr.length) keyArgs = splitArgs(keyExpr.slice(keyHead.length + 1, -1));
      else continue;
      if (!store) continue;
      let call: string;
      if (op === 'get') call = `stores.${store}.get(${[receiver, ...keyArgs].join(', ')})`;
      else if (args[1] === 'null') call = `stores.${store}.delete(${[receiver, ...keyArgs].join(', ')})`;
      else call = `stores.${store}.set(${[receiver, ...keyArgs, ...args.slice(1)].join(', ')})`;
      s = s.slice(0, m.index) + call + s.slice(end);
      changed = true;
      done = false;
      break;
    }
    if (done) break;
  }
  const lines = s.split('\n');
  lines.forEach((l, i) => {
    if (/(?<![\w.])(Market)?Keys\.\w+|DUE_COUNT_PREFIX|\bkeys\(['`]|stateKeys\(/.test(l) && !/^\s*(import|\*|\/\/)/.test(l)) manual.push(`${file}:${i + 1}: ${l.trim()}`);
  });
  if (changed) {
    const rel = relative(dirname(resolve(file)), resolve('src/ledger/stores.ts')).replace(/^(?!\.)/, './');
    if (!s.includes(`* as stores from '${rel}'`)) {
      const firstImport = s.search(/^import /m);
      s = `${s.slice(0, firstImport)}import * as stores from '${rel}';\n${s.slice(firstImport)}`;
    }
    s = dropUnusedImports(s);
    writeFileSync(file, s);
  }
  return manual;
}

/**
 * Removes the import specifiers the conversion left unused: Keys and MarketKeys, and the entry types
 * the `get<T>` casts named (a store's `get` is typed). Other imports are left as they are.
 */
function dropUnusedImports(src: string): string {
  return src.replace(/^import (type )?\{([^}]*)\} from ('[^']+');\n/gm, (stmt, typeOnly: string | undefined, list: string, from: string) => {
    const rest = src.replace(stmt, '');
    const specs = list
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    const kept = specs.filter((spec) => {
      const isType = !!typeOnly || spec.startsWith('type ');
      const name = spec.replace(/^type /, '').split(/\s+as\s+/).pop()!;
      const removable = isType || name === 'Keys' || name === 'MarketKeys';
      // Keys and MarketKeys count as used only where a key is made (`Keys.x`), not where a comment says "Keys".
      const use = name === 'Keys' || name === 'MarketKeys' ? `${name}\\.` : `${name.replace('$', '\\$')}(?![\\w$])`;
      return !removable || new RegExp(`(?<![\\w$.])${use}`).test(rest);
    });
    if (kept.length === specs.length) return stmt;
    if (kept.length === 0) return '';
    // Only types left: `import type { … }` (the lint's useImportType).
    const allTypes = !!typeOnly || kept.every((k) => k.startsWith('type '));
    const names = allTypes ? kept.map((k) => k.replace(/^type /, '')) : kept;
    const head = allTypes ? 'import type ' : 'import ';
    const oneLine = `${head}{ ${names.join(', ')} } from ${from};\n`;
    return oneLine.length <= 150 ? oneLine : `${head}{\n${names.map((k) => `  ${k},\n`).join('')}} from ${from};\n`;
  });
}

const left = process.argv.slice(2).flatMap(convert);
if (left.length) process.stdout.write(`To convert by hand:\n${left.join('\n')}\n`);
