/// <reference types="vite/client" />

// The ledger's errors (src/ledger/errors.ts) set V8's Error.stackTraceLimit, which Node's types
// declare; the console does not load Node's types since the SDK no longer imports the node's.
interface ErrorConstructor {
  stackTraceLimit: number;
}
