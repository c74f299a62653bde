import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// The operations table is the only list of transaction kinds: a kind is an operation object, and
// the table refuses, at compile time, one that lacks its schema, route or handler, routes by a task
// its payload does not name, or reuses a number or a name. This compiles a hypothetical kind 99
// ("Grant") added to the real table in each of those ways, plus the correct version (so the test
// can fail), with the project's own compiler, and checks the exact diagnostics.

const ROOT = resolve(import.meta.dirname, '../../..');
const OPS = join(ROOT, 'src/ledger/ops');

const head = `import { OPERATIONS, opTable } from '${OPS}/index.ts';\nimport { defineOp } from '${OPS}/operation.ts';\n`;
const op = (parts: { kind?: number; name?: string; schema?: string | null; route?: string | null; apply?: boolean }): string => {
  // Without a schema the payload has no known fields: the handler then reads none, so that the
  // missing schema is the only error.
  const reads = parts.schema === null ? 'void [ctx, tx, p];' : 'const amount: bigint = p.amount;\n    void [ctx, tx, amount];';
  const name = parts.name ?? 'Grant';
  const lines = [`  kind: ${parts.kind ?? 99},`, `  name: '${name}',`];
  if (parts.schema !== null)
    lines.push(`  schema: ${parts.schema ?? `{ $id: '${name}', fields: { to: { id: 1, type: 'bytes', max: 21 }, amount: { id: 2, type: 'uint64' } } }`},`);
  if (parts.route !== null) lines.push(`  route: ${parts.route ?? `'main'`},`);
  if (parts.apply !== false) lines.push(`  apply(ctx, tx, p) {\n    ${reads}\n  },`);
  return `${head}const grant = defineOp({\n${lines.join('\n')}\n});\nexport const TABLE = opTable([...OPERATIONS, grant]);\n`;
};

const CASES: Record<string, { source: string; errors: string[] }> = {
  correct: { source: op({}), errors: [] },
  withoutHandler: { source: op({ apply: false }), errors: ["TS2741: Property 'apply' is missing"] },
  withoutRoute: { source: op({ route: null }), errors: ["TS2741: Property 'route' is missing"] },
  withoutSchema: { source: op({ schema: null }), errors: ["TS2741: Property 'schema' is missing"] },
  routedByAbsentTask: { source: op({ route: `'task'` }), errors: [`TS2322: Type '"task"' is not assignable to type '"home" | "main"'`] },
  reusedNumber: { source: op({ kind: 35 }), errors: ["Property 'duplicateKindOrName' is missing", '{ readonly duplicateKindOrName: 35; }'] },
  reusedName: { source: op({ name: 'Transfer' }), errors: ["Property 'duplicateKindOrName' is missing", '{ readonly duplicateKindOrName: "Transfer"; }'] },
  // Not through defineOp: a bare object in the table is checked against what an operation is.
  bareObjectWithoutHandler: {
    source: `${head}export const TABLE = opTable([...OPERATIONS, { kind: 99, name: 'Grant', schema: { $id: 'Grant', fields: {} }, route: 'main' }]);\n`,
    errors: ['TS2345: Argument of type', "Property 'apply' is missing"],
  },
};

const dir = mkdtempSync(join(tmpdir(), 'zeus-ops-table-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Diagnostics per case file, each `TSnnnn: message` with its elaboration lines. */
async function compile(): Promise<Map<string, string[]>> {
  for (const [name, c] of Object.entries(CASES)) writeFileSync(join(dir, `${name}.ts`), c.source);
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2024',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        lib: ['es2024'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        verbatimModuleSyntax: true,
        skipLibCheck: true,
        pretty: false,
      },
      files: Object.keys(CASES).map((n) => `${n}.ts`),
    }),
  );
  let out: string;
  try {
    out = (await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsc'), ['-p', dir], { cwd: dir })).stdout;
  } catch (e) {
    out = (e as { stdout?: string }).stdout ?? '';
  }
  const byFile = new Map<string, string[]>(Object.keys(CASES).map((n) => [n, []]));
  let last: string[] | undefined;
  for (const line of out.split('\n')) {
    const m = /([^/\\]+)\.ts\(\d+,\d+\): error (TS\d+: .*)$/.exec(line);
    if (m) {
      last = byFile.get(m[1]);
      if (!last) throw new Error(`a diagnostic outside the cases: ${line}`);
      last.push(m[2]);
    } else if (line.trim() !== '' && last) last[last.length - 1] += `\n${line.trim()}`;
  }
  return byFile;
}

describe('the operations table', () => {
  it('refuses at compile time a kind without a handler, route or schema, or reusing a number or name; takes a complete one', async () => {
    const got = await compile();
    for (const [name, c] of Object.entries(CASES)) {
      const diags = got.get(name)!;
      expect(diags.length, `${name}: ${diags.join('\n')}`).toBe(c.errors.length === 0 ? 0 : 1);
      // One diagnostic per faulty case; `errors` are the parts of its text it must contain.
      for (const want of c.errors) expect(diags[0], name).toContain(want);
    }
  }, 20_000);
});
