import { describe, expect, it } from 'vitest';
import { StoreCorruptError } from '../store/index.ts';
import { toApiError } from './errors.ts';

describe('toApiError', () => {
  it('answers a damaged store with what is damaged, not a bare internal error', () => {
    const e = toApiError(new StoreCorruptError('stored block 7 is damaged: block 7 hashes to ab, its certificate signs cd'));
    expect(e.status).toBe(500);
    expect(e.code).toBe('STORE_DAMAGED');
    expect(e.message).toBe('stored block 7 is damaged: block 7 hashes to ab, its certificate signs cd');
    // Anything else unexpected stays an internal error, its details in the node's log only.
    expect(toApiError(new Error('secret detail')).message).not.toContain('secret');
  });
});
