// How big a batch result may be: one rule, read by the chain (PostTask refuses a batch task whose
// result could not be delivered), the worker agent (the cap of a lease's /out and of the archive
// it publishes) and the CLI (what `zeus task post` and `zeus task result` say).
//
// A batch task's /out is its result: the lease's disk is the size of /out (src/worker/scratch.ts),
// so whatever the app can write there, the worker can deliver. The one hard cap is what a bonded
// worker may upload to its node at once: a node lets an account holding ZNC or stake have 2 GiB
// of uploads in progress (src/ddn/quota.ts, `funded`), and the archive adds a header per file on
// top of the files' bytes. 1 GiB of files leaves room for those headers (ext4's inode count on
// a 1 GiB /out bounds them well below 64 MiB) while the worker uploads one result at a time.

/** /out of a batch task that names no disk. */
export const DEFAULT_RESULT_MIB = 64;

/** The most disk a batch task may ask for, since all of its /out is its result. */
export const MAX_RESULT_MIB = 1024;

/** What a batch lease's /out may hold (the files' bytes), in MiB: the task's disk, or the default. */
export function resultLimitMiB(taskDiskMiB: number): number {
  return taskDiskMiB > 0 ? taskDiskMiB : DEFAULT_RESULT_MIB;
}

/** Why a batch task's result could not be delivered, or undefined when it can. */
export function resultTooLarge(taskDiskMiB: number): string | undefined {
  const want = resultLimitMiB(taskDiskMiB);
  if (want <= MAX_RESULT_MIB) return undefined;
  return `a batch task's /out is its result, delivered through the worker's node: at most ${MAX_RESULT_MIB} MiB of disk (this task asks for ${want} MiB)`;
}
