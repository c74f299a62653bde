import { describe, expect, it } from 'vitest';
import { generateKeyPair, sealKeyOfSigningKey } from '../crypto/index.ts';
import { MAX_PUBLISHED_LOG_BYTES, openLogs, sealLogs } from './logs.ts';

const TASK = '01'.repeat(32);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('sealed lease logs', () => {
  it('open with the poster key for that lease only', () => {
    const poster = generateKeyPair();
    const sealed = sealLogs(sealKeyOfSigningKey(poster.publicKey), TASK, 2, new TextEncoder().encode('API_KEY=s3cret\nfinished\n'));
    expect(Buffer.from(sealed).includes(Buffer.from('s3cret'))).toBe(false);
    expect(openLogs(poster.secretKey, TASK, 2, sealed)).toEqual({ log: new TextEncoder().encode('API_KEY=s3cret\nfinished\n'), truncatedBytes: 0 });
    expect(() => openLogs(generateKeyPair().secretKey, TASK, 2, sealed)).toThrow(/not sealed to this key/);
    // A worker cannot pass one lease's logs off as another's.
    expect(() => openLogs(poster.secretKey, TASK, 1, sealed)).toThrow(/not the logs of lease 1/);
  });

  it('keep the end of logs past the limit', () => {
    const poster = generateKeyPair();
    const log = new Uint8Array(MAX_PUBLISHED_LOG_BYTES + 10).fill(0x61);
    log.set(new TextEncoder().encode('START'), 0);
    log.set(new TextEncoder().encode('END'), log.length - 3);
    const opened = openLogs(poster.secretKey, TASK, 0, sealLogs(sealKeyOfSigningKey(poster.publicKey), TASK, 0, log));
    expect(opened.truncatedBytes).toBe(10);
    expect(opened.log.length).toBe(MAX_PUBLISHED_LOG_BYTES);
    expect(text(opened.log.subarray(-3))).toBe('END');
  });
});
