import { isAddress } from '../crypto/index.ts';

// Who may push where. The namespace of a repository is its first name component (`alice` in
// `alice/render`), and who owns it is decided only from what every node shares, so the answer is
// the same on every node and nobody can take a namespace by pushing somewhere first:
//
// - a namespace that is a znc1… address belongs to that address: only a token of the key whose
//   hash it is may push there (a worker's `<address>/logs` and `<address>/results`, anyone's own
//   images);
// - any other namespace belongs to the account the chain names as owner of the app of that name
//   (the publisher of its first version, who alone may publish more);
// - a name no app has on the chain yet is open: any account may add to it (blobs, manifests, tags;
//   a developer pushes the image before the PublishApp that names its digest), nobody may delete
//   from it. A squatter who pushes first thus takes nothing: the developer still pushes, the
//   chain's digest is what a worker fetches, and once the app is published its owner may clear what
//   others left. A tag that names a published version (`web:1.0`) resolves to the digest the chain
//   records for it, whoever last wrote the tag: a squatter's tag written before the publication
//   never stands for the app.

/** What the chain says about apps; every node reads its own copy of the same state. */
export interface ChainApps {
  /** The znc1… address that owns the app named `name` on the chain, if there is such an app. */
  appOwner(name: string): string | undefined;
  /** The image digest the chain records for version `version` of app `name`, if published. */
  appDigest(name: string, version: string): string | undefined;
}

export type NamespaceOwner =
  | { kind: 'address'; namespace: string; owner: string }
  | { kind: 'app'; namespace: string; owner: string }
  | { kind: 'open'; namespace: string };

export const namespaceOf = (repository: string): string => repository.split('/')[0];

export function namespaceOwner(repository: string, chain: ChainApps): NamespaceOwner {
  const namespace = namespaceOf(repository);
  if (isAddress(namespace)) return { kind: 'address', namespace, owner: namespace };
  const owner = chain.appOwner(namespace);
  return owner === undefined ? { kind: 'open', namespace } : { kind: 'app', namespace, owner };
}

/** Adding (blobs, uploads, manifests, tags) or deleting (manifests, tags, blob links). */
export type PushOp = 'add' | 'delete';

/** Why `caller` may not do `op` under namespace `o`, or undefined when it may. */
export function refusal(o: NamespaceOwner, caller: string, op: PushOp): string | undefined {
  switch (o.kind) {
    case 'address':
      return o.owner === caller
        ? undefined
        : `namespace "${o.namespace}" is an account's address: only its own key may push there; push under your own, ${caller}/…`;
    case 'app':
      return o.owner === caller
        ? undefined
        : `namespace "${o.namespace}" belongs to ${o.owner}, who owns the app "${o.namespace}" on the chain; ${caller} may pull from it but not push: push under your own address, ${caller}/…`;
    case 'open':
      return op === 'add'
        ? undefined
        : `nothing can be deleted from namespace "${o.namespace}": no app of that name is on the chain, so nobody owns it yet (whoever publishes the app "${o.namespace}" will); delete under your own address, ${caller}/…`;
  }
}
