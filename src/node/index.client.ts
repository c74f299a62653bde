// The node part's light entry: a node's home (config, keys, genesis), its log and the parsing of
// network options, without the node's runtime (libp2p, the API server, the store, consensus). The
// CLI's commands that only read a home and talk to a node over HTTP import this, so that `zeus`
// does not load the whole node to answer them.
export * from './home.ts';
export { LOG_LEVELS, nodeLogger, type LogLevel, type NodeLogger } from './log.ts';
export { parseApiUrl, parseHostPort, parseMultiaddrList, parseTcpMultiaddr } from './netAddresses.ts';
