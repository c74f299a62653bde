// The worker part's light entry: the sample WebAssembly apps (made in memory, no engine needed), for
// CLI commands that write or publish them (`app init --wasm`, the devnet's sample apps) without
// loading the worker agent (its admin server, metrics, Docker client).
export { greedyModule, SAMPLE_DEFAULT_N, sampleModule, spinModule, sumOfFirstPrimes } from './wasm-sample.ts';
