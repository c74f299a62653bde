import { parentPort } from 'node:worker_threads';
import { verifySignature } from '../crypto/index.ts';
import { unpackChecks } from './verifier.ts';

// Checks Ed25519 signatures off the event loop: a batch in, one boolean per item out.
interface Request {
  id: number;
  /** The checks, packed (verifier.ts packChecks). */
  batch: Uint8Array;
}

parentPort!.on('message', (req: Request) => {
  const items = unpackChecks(req.batch);
  const ok = new Uint8Array(items.length);
  items.forEach((it, i) => {
    ok[i] = verifySignature(it.pk, it.msg, it.sig) ? 1 : 0;
  });
  parentPort!.postMessage({ id: req.id, ok }, [ok.buffer]);
});
