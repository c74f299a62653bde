import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, encodeAddress, generateKeyPair, sealKeyOfSigningKey } from '../crypto/index.ts';
import { createRegistryToken } from '../ddn/index.ts';
import { checkLiveLogsToken, liveLogsToken, MAX_PUBLISHED_LOG_BYTES, openLogs, sealLogs } from './logs.ts';

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
    // Bytes already left out before the part given are counted too.
    expect(openLogs(poster.secretKey, TASK, 0, sealLogs(sealKeyOfSigningKey(poster.publicKey), TASK, 0, log.subarray(0, 5), 7)).truncatedBytes).toBe(7);
  });
});

describe('live-logs tokens', () => {
  const poster = generateKeyPair();
  const worker = encodeAddress(addressFromPublicKey(generateKeyPair().publicKey));
  const other = encodeAddress(addressFromPublicKey(generateKeyPair().publicKey));
  const OTHER_TASK = '02'.repeat(32);
  const refusal = (token: string, now = Date.now()): { code: string; status?: number; message: string } => {
    try {
      checkLiveLogsToken(token, worker, TASK, 0, now);
    } catch (e) {
      const { code, status, message } = e as { code: string; status?: number; message: string };
      return { code, status, message };
    }
    throw new Error('accepted');
  };

  it("accept the poster's token for this lease at this worker", () => {
    expect(checkLiveLogsToken(liveLogsToken(poster, worker, TASK, 0), worker, TASK, 0, Date.now()).sub).toBe(
      encodeAddress(addressFromPublicKey(poster.publicKey)),
    );
  });

  it('are refused in their own terms: what the token is for, never "log in to this node again"', () => {
    expect(refusal(liveLogsToken(poster, worker, TASK, 1))).toEqual({
      code: 'POSTER_TOKEN_MISMATCH',
      status: 401,
      message: expect.stringContaining(`the token is for lease 1 of task ${TASK}, not for lease 0`),
    });
    expect(refusal(liveLogsToken(poster, worker, OTHER_TASK, 0)).message).toContain(`the token is for task ${OTHER_TASK}, not for task ${TASK}`);
    expect(refusal(liveLogsToken(poster, other, TASK, 0)).message).toContain(`at worker ${other}, and this is worker ${worker}`);
    expect(refusal(createRegistryToken(poster, { audience: 'zeusnet-registry:chain:ab', nowMs: Date.now() })).message).toContain('a registry login token');
    expect(refusal(createRegistryToken(poster, { audience: 'something else', nowMs: Date.now() })).message).toContain('not a live-logs token');
    expect(refusal(liveLogsToken(poster, worker, TASK, 0), Date.now() + 120_000)).toMatchObject({
      code: 'POSTER_TOKEN_EXPIRED',
      message: expect.stringMatching(/expired at .* sign a new one/),
    });
    expect(refusal('not-a-token')).toMatchObject({ code: 'POSTER_TOKEN_INVALID', message: expect.stringContaining('not a signed token') });
    const good = liveLogsToken(poster, worker, TASK, 0);
    const forged = `${good.slice(0, good.lastIndexOf('.'))}.${Buffer.alloc(64).toString('base64url')}`;
    expect(refusal(forged)).toMatchObject({ code: 'POSTER_TOKEN_INVALID', message: 'the live-logs token was refused: the token signature is invalid' });
    for (const t of [liveLogsToken(poster, other, OTHER_TASK, 3), 'not-a-token', forged]) expect(refusal(t).message).not.toMatch(/node|log in/);
  });
});
