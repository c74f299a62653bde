// The worker agent: what a person with an idle machine runs beside a node. It offers the
// machine's resources (capped by a policy file), bids on the tasks the shared matcher says it
// fits, and runs each lease it wins in a locked-down Docker container or as a WASI module,
// reporting usage and publishing a batch task's /out as its result. Its operator watches it through
// a local admin endpoint (admin.ts, status.ts); a lease's logs are sealed to the task's poster and
// published when it ends (logs.ts); GPUs come from nvidia-smi (gpu.ts) and a benchmark runs at start.
export { adminPaths, adminRequest, adminToken, AdminError, startAdminServer, type AdminInfo, type AdminServer } from './admin.ts';
export { BENCHMARK_MIB, REFERENCE_MIB_PER_S, runBenchmark, scoreOf, type BenchmarkResult } from './benchmark.ts';
export { detectGpus, gpuHostConfig, gpuModelName, parseNvidiaSmi } from './gpu.ts';
export {
  fetchSealedLogs,
  leaseLogFile,
  liveLogsToken,
  localLeaseLog,
  logsRepository,
  logsTag,
  LogsNotFound,
  openLogs,
  posterLeaseLog,
  posterSealKey,
  publishSealedLogs,
  sealLogs,
} from './logs.ts';
export { workerStatus, type AgentSnapshot, type WorkerStatus } from './status.ts';
export { workerMetrics } from './metrics.ts';
export { WorkerAgent, type AgentOptions, type RuntimeName } from './agent.ts';
export { DockerRuntime, dockerAnswers, hostConfigFor, LABEL_LEASE, LABEL_TASK, LABEL_WORKER, PIDS_LIMIT, type LaunchOptions, type LeaseRef } from './docker.ts';
export { MODULE_LABEL, startWasm, wasmModuleOf } from './wasmWorkload.ts';
export type { ResultFiles, StatsSample, Workload, WorkloadExit } from './workload.ts';
export {
  canonicalDigest,
  canonicalTar,
  canonicalTarBytes,
  ResultTooLargeError,
  scanResult,
  unpackArchive,
  type DroppedEntry,
  type ResultEntry,
  type ResultTree,
} from './canonicalResult.ts';
export { Meter, type PeriodUsage } from './meter.ts';
export { loadPolicy, PolicyError, PolicySchema, type WorkerPolicy } from './policy.ts';
export { detectResources, offeredSpec, offerOf, sameOffer, type DetectedResources, type OfferedSpec } from './resources.ts';
export {
  digestOf,
  fetchResultTo,
  registryAuthorization,
  resultRepository,
  uploadBlob,
  uploadResult,
  uploadStreamedBlob,
  type FetchedResult,
} from './results.ts';
export { sampleModule, spinModule, greedyModule, sumOfFirstPrimes, SAMPLE_DEFAULT_N } from './wasm-sample.ts';
