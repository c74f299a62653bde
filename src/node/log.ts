import pino, { type Logger } from 'pino';

// A node's log: structured JSON lines (pino) on stdout, one object per happening with its fields
// (height, round, peer…) as keys, so a log shipper or `jq` reads them without parsing prose.

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type NodeLogger = Logger;

/** JSON lines on stdout (fd 1), or on another descriptor (the worker agent: stderr, beside its CLI's answer). */
export function nodeLogger(level: LogLevel, bindings: Record<string, string> = {}, fd = 1): NodeLogger {
  const options = { level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime };
  return fd === 1 ? pino(options) : pino(options, pino.destination({ dest: fd, sync: true }));
}
