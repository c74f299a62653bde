import { decodeAddress, encodeAddress, fromHex, toHex } from '../crypto/portable.ts';
import { MAX_U64, ZNC } from '../ledger/index.client.ts';
import { misfitCounts, quote, RUNTIMES, type TaskNeeds, type WorkerOffer } from '../market/index.ts';
import type { QuoteAnswer, QuoteRequest, WorkerAnswer } from './wire.ts';

// Quotes with the one matcher of ZeusNet (src/market): the node answers POST /market/quote with
// quoteAnswer over the workers registered on the chain; quoteLocally runs the same code over the
// workers a client fetched (GET /workers), e.g. to try many needs without asking the node each time.

/** What decides a task's escrow: its order, and the license fee of the app it runs (0 for a raw image). */
export interface EscrowTerms {
  maxPricePerHour: bigint;
  maxHours: number;
  replicas: number;
  redundancy: number;
  licenseFeePerHour: bigint;
  /** The app's fee token (ZNC for a raw image). */
  feeToken: string;
}

/**
 * What PostTask moves into a task's escrow: the worst case, max price × max hours × replicas ×
 * redundancy, plus the license fee for as long. A fee in ZNC is part of `escrow`; a fee in a
 * sub-token is held apart as `feeEscrow`. The ledger holds exactly this (a test checks it against
 * PostTask); the CLI, console and SDK show it before a task is posted.
 */
export function taskEscrow(t: EscrowTerms): { escrow: bigint; feeEscrow: bigint } {
  const slots = BigInt(t.replicas * t.redundancy);
  const hours = BigInt(t.maxHours);
  const workerCost = t.maxPricePerHour * hours * slots;
  const feeCost = t.licenseFeePerHour * hours * slots;
  return t.feeToken === ZNC ? { escrow: workerCost + feeCost, feeEscrow: 0n } : { escrow: workerCost, feeEscrow: feeCost };
}

/** The matcher's needs of a quote request (defaults filled in); throws on an unknown runtime or a price beyond 64 bits. */
export function needsOfQuote(req: QuoteRequest): TaskNeeds {
  if (!(RUNTIMES as readonly string[]).includes(req.runtime)) throw new Error(`unknown runtime "${req.runtime}" (known: ${RUNTIMES.join(', ')})`);
  const maxPricePerHour = BigInt(req.maxPricePerHour);
  if (maxPricePerHour < 0n || maxPricePerHour > MAX_U64) throw new Error('maxPricePerHour does not fit in 64 bits');
  return {
    cpuMillis: req.cpuMillis,
    memoryMiB: req.memoryMiB,
    diskMiB: req.diskMiB ?? 0,
    bandwidthMbps: req.bandwidthMbps ?? 0,
    gpuCount: req.gpuCount ?? 0,
    gpuModel: req.gpuModel ?? '',
    gpuMemoryMiB: req.gpuMemoryMiB ?? 0,
    runtime: req.runtime,
    region: req.region ?? '',
    minRating: req.minRating ?? 0,
    maxPricePerHour,
  };
}

/** The quote's answer over worker offers (offers name workers by hex address, as the ledger does). */
export function quoteAnswer(height: number, offers: readonly WorkerOffer[], req: QuoteRequest): QuoteAnswer {
  const needs = needsOfQuote(req);
  const rating = new Map(offers.map((o) => [o.worker, o.rating]));
  const addressOf = (hex: string): string => encodeAddress(fromHex(hex));
  // The tie-break among equal asks hashes the task id, which a quote does not have yet: a fixed
  // stand-in keeps the order stable between quotes (the real window may order ties differently).
  const q = quote('0'.repeat(64), offers, needs);
  return {
    height,
    workers: offers.length,
    candidates: q.candidates.map((c) => ({ worker: addressOf(c.worker), ask: c.ask.toString(), rating: c.rating })),
    refused: q.refused.map((r) => ({
      worker: addressOf(r.worker),
      ask: r.ask.toString(),
      rating: rating.get(r.worker)!,
      reasons: r.reasons.map((m) => ({ ...m })),
    })),
    counts: { ...misfitCounts(q.refused) } as Record<string, number>,
  };
}

/** A worker as the API shows it, as the matcher sees it. */
export function offerOfWorker(w: WorkerAnswer): WorkerOffer {
  return {
    worker: toHex(decodeAddress(w.address)),
    cpuMillis: w.cpuMillis,
    memoryMiB: w.memoryMiB,
    diskMiB: w.diskMiB,
    bandwidthMbps: w.bandwidthMbps,
    gpus: w.gpus.map((g) => ({ ...g })),
    runtimes: [...w.runtimes],
    region: w.region,
    priceCpuCoreHour: BigInt(w.prices.cpuCoreHour),
    priceMemoryGiBHour: BigInt(w.prices.memoryGiBHour),
    priceGpuHour: BigInt(w.prices.gpuHour),
    rating: w.rating,
    active: w.active,
    bondShortfall: BigInt(w.bondShortfall),
    bond: BigInt(w.bond),
  };
}

/** The quote a node would give for these workers (from GET /workers at `height`), computed here. */
export function quoteLocally(workers: readonly WorkerAnswer[], req: QuoteRequest, height = 0): QuoteAnswer {
  return quoteAnswer(height, workers.map(offerOfWorker), req);
}
