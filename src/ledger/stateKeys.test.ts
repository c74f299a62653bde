import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChainState } from './state.ts';

// ChainState.keys(prefix) visits only the keys of the prefix's first path segment (an index kept
// as entries come and go). It must answer what filtering every key would: for random keys (with
// and without '/', segments that are prefixes of each other) set and deleted in random order,
// every prefix (empty, inside a segment, at and past a '/') gives the same sorted keys.

const segment = fc.constantFrom('acc', 'ac', 'tsk', 'tskx', 't', 'wki', '');
const key = fc
  .tuple(segment, fc.constantFrom('', '/', '/a', '/ab', '/a/b', '/b', 'z/q'))
  .map(([s, rest]) => `${s}${rest}`)
  .filter((k) => k.length > 0);
const op = fc.record({ key, remove: fc.boolean() });
const prefixes = ['', 'a', 'ac', 'acc', 'acc/', 'acc/a', 't', 'ts', 'tsk', 'tsk/', 'tskx/', 'tskz/', 'wki/a/', '/', 'z', 'tz/q'];

describe('ChainState.keys', () => {
  it('answers as a filter over every key, through sets and deletes', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const state = new ChainState(1);
        const model = new Set<string>();
        for (const o of ops) {
          state.put(o.key, o.remove ? null : Uint8Array.of(1));
          if (o.remove) model.delete(o.key);
          else model.add(o.key);
          for (const p of prefixes) expect(state.keys(p), `prefix "${p}"`).toEqual([...model].filter((k) => k.startsWith(p)).sort());
        }
        expect(state.size).toBe(model.size);
      }),
      { numRuns: 300 },
    );
  });
});
