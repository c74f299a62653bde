import { parentPort } from 'node:worker_threads';
import { verifySignature } from '../crypto/index.ts';

// Checks Ed25519 signatures off the event loop: a batch in, one boolean per item out.
interface Request {
  id: number;
  items: { pk: Uint8Array; msg: Uint8Array; sig: Uint8Array }[];
}

parentPort!.on('message', (req: Request) => {
  const ok = new Uint8Array(req.items.length);
  req.items.forEach((it, i) => {
    ok[i] = verifySignature(it.pk, it.msg, it.sig) ? 1 : 0;
  });
  parentPort!.postMessage({ id: req.id, ok }, [ok.buffer]);
});
