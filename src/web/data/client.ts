import { ZeusClient } from './sdk.ts';

/** The node that served this page: the console talks to it and to nothing else. */
export const client = new ZeusClient(location.origin);
