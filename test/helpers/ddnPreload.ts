// Preloaded (`node --import`) into node processes of the delivery tests: gives `zeus node start`
// the stand-in blob store until the node's own store (another branch) is merged.
import { provideBlobStore } from '../../src/ddn/node.ts';
import { DirBlobStore } from './blobStore.ts';

provideBlobStore((dir) => new DirBlobStore(dir));
