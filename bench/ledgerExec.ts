// The ledger's own cost per transfer, in process and without signatures or HTTP: decoding
// (every admission check that needs no state) and executing a height (apply, then encode and
// hash the state it wrote). The end-to-end number of bench/ledger.ts moves with the machine's
// load; this one isolates what a change to decoding or execution costs.
import { addressFromPublicKey, generateKeyPair, type KeyPair } from '../src/crypto/index.ts';
import { buildDevGenesis, DEV_GENESIS_KEYS, decodeTx, type Genesis, Ledger, signTx, TxKind, ZNC, ZNC_UNIT, type Tx } from '../src/ledger/index.ts';
import { testKey } from '../src/ledger/testing.ts';

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export interface ExecResult {
  transfers: number;
  decodeUsPerTx: number;
  executeUsPerTx: number;
}

/**
 * A dev genesis for the in-process ledger benchmarks: `senders` funded accounts s0, s1, … with
 * `funding` each, one bookkeeper, test keys (deterministic) for all of them.
 */
export function benchGenesis(
  senders: number,
  funding: bigint,
  params: Partial<Genesis['params']>,
): { names: string[]; keys: Record<string, KeyPair>; genesis: Genesis } {
  const names = Array.from({ length: senders }, (_, i) => `s${i}`);
  const all = [...DEV_GENESIS_KEYS, ...names, 'bookkeeper-0'];
  const keys = Object.fromEntries(all.map((k) => [k, testKey(k)]));
  const genesis = buildDevGenesis({
    genesisTime: 1_700_000_000_000,
    keys: Object.fromEntries(all.map((k) => [k, keys[k].publicKey])),
    devAccounts: names,
    devFunding: funding,
    bookkeepers: [{ name: 'bookkeeper-0', publicKey: keys['bookkeeper-0'].publicKey }],
    params,
  });
  return { names, keys, genesis };
}

export function ledgerExecution(n = 20_000, senders = 200, rounds = 5): ExecResult {
  const { names, keys, genesis } = benchGenesis(senders, 1_000_000n * ZNC_UNIT, { freeQuota: Math.ceil(n / senders) + 1 });
  const ledger = Ledger.fromGenesis(genesis);
  const recipients = Array.from({ length: 500 }, () => addressFromPublicKey(generateKeyPair().publicKey));
  const bytes: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = i % senders;
    bytes.push(
      signTx(keys[names[s]], {
        chainId: genesis.chainId,
        kind: TxKind.Transfer,
        nonce: BigInt(Math.floor(i / senders)),
        payload: { to: recipients[i % recipients.length], token: ZNC, amount: 1000n + BigInt(i), memo: '' },
      }),
    );
  }
  let decodeMs = Infinity;
  let executeMs = Infinity;
  let txs: Tx[] = [];
  for (let r = 0; r < rounds; r++) {
    const d0 = cpuMs();
    txs = bytes.map((b) => decodeTx(b));
    decodeMs = Math.min(decodeMs, cpuMs() - d0);
    const e0 = cpuMs();
    // A speculative height takes every transfer regardless of the block size limit.
    const exec = ledger.begin(ledger.time + 1000, true);
    for (const tx of txs) {
      const err = exec.tryApply(tx);
      if (err) throw new Error(`transfer refused: ${err.code} ${err.message}`);
    }
    exec.finish();
    executeMs = Math.min(executeMs, cpuMs() - e0);
  }
  return { transfers: n, decodeUsPerTx: Number(((decodeMs * 1000) / n).toFixed(2)), executeUsPerTx: Number(((executeMs * 1000) / n).toFixed(2)) };
}

if (import.meta.main) process.stdout.write(`${JSON.stringify(ledgerExecution(), null, 2)}\n`);
