import type { FastifyInstance } from 'fastify';
import { clientKey } from './clients.ts';
import type { HeightCache } from './heightCache.ts';
import type { ZeusNode } from '../node/index.ts';
import { LEASE_STATES, TASK_STATES } from '../ledger/index.ts';
import type {
  AppAnswer,
  AppsAnswer,
  LeaseAnswer,
  LeaseFilter,
  LeasesAnswer,
  MarketParamsAnswer,
  QuoteAnswer,
  QuoteRequest,
  TaskAtHeightAnswer,
  TaskFilter,
  TasksAnswer,
  WorkerAnswer,
  WorkersAnswer,
} from '../sdk/index.ts';
import {
  appsView,
  leasesView,
  marketParamsView,
  oneAppView,
  oneLeaseView,
  oneWorkerView,
  quoteView,
  taskDetailView,
  tasksView,
  workersView,
} from './market.ts';

// The compute market's routes: workers, apps, tasks with their bids and leases, and the quote
// (the shared matcher run over every registered worker). All read the committed state.

const taskId = { type: 'string', minLength: 1, maxLength: 64 } as const;
const limit = { type: 'integer', minimum: 1, maximum: 1000 } as const;
const u32 = { type: 'integer', minimum: 0, maximum: 0xffff_ffff } as const;

/** `listings`: answers that read a whole collection, kept per height and query (heightCache.ts). */
export function registerMarketRoutes(app: FastifyInstance, node: ZeusNode, requireAddress: (a: string) => void, listings: HeightCache): void {
  const tags = ['market'];

  app.get(
    '/market/params',
    { schema: { summary: 'The market rules of this chain: minimum worker bond, deadlines in blocks, slashing', tags } },
    async (): Promise<MarketParamsAnswer> => marketParamsView(node.reader.params.market),
  );

  app.get(
    '/workers',
    { schema: { summary: 'Registered workers in registration order: resources, prices, bond, rating, record, active', tags } },
    async (req): Promise<WorkersAnswer> => ({
      height: node.reader.height,
      workers: listings.get(node.reader.height, 'workers', () => workersView(node.reader), clientKey(req.ip)),
    }),
  );

  app.get<{ Params: { address: string } }>(
    '/workers/:address',
    { schema: { summary: 'One worker', tags, params: { type: 'object', properties: { address: { type: 'string', minLength: 1, maxLength: 100 } } } } },
    async (req): Promise<WorkerAnswer> => {
      requireAddress(req.params.address);
      return oneWorkerView(node.reader, req.params.address);
    },
  );

  app.get(
    '/apps',
    { schema: { summary: 'Published apps with their versions (digest, license fee, deprecation) and licensees', tags } },
    async (req): Promise<AppsAnswer> => ({
      apps: listings.get(node.reader.height, 'apps', () => appsView(node.reader), clientKey(req.ip)),
    }),
  );

  app.get<{ Params: { name: string } }>(
    '/apps/:name',
    {
      schema: {
        summary: 'One app and all its versions',
        tags,
        params: { type: 'object', properties: { name: { type: 'string', minLength: 1, maxLength: 64 } } },
      },
    },
    async (req): Promise<AppAnswer> => oneAppView(node.reader, req.params.name),
  );

  app.get<{ Querystring: TaskFilter }>(
    '/tasks',
    {
      schema: {
        summary: 'Tasks on all inner chains, newest first; filter by state, owner (address) or app (name or name@version)',
        tags,
        querystring: {
          type: 'object',
          properties: {
            state: { type: 'string', enum: [...TASK_STATES] },
            owner: { type: 'string', maxLength: 100 },
            app: { type: 'string', maxLength: 97 },
            limit,
          },
        },
      },
    },
    async (req): Promise<TasksAnswer> => {
      if (req.query.owner !== undefined) requireAddress(req.query.owner);
      const { state, owner, app: name, limit } = req.query;
      const key = `tasks ${JSON.stringify([state, owner, name, limit])}`;
      return { height: node.reader.height, tasks: listings.get(node.reader.height, key, () => tasksView(node.reader, req.query), clientKey(req.ip)) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/tasks/:id',
    {
      schema: {
        summary: 'A task with its bids and leases, escrow and (if its window closed empty) why nobody bid',
        tags,
        params: { type: 'object', properties: { id: taskId } },
      },
    },
    async (req): Promise<TaskAtHeightAnswer> => ({ height: node.reader.height, ...taskDetailView(node.reader, req.params.id) }),
  );

  app.get<{ Params: { id: string; n: number } }>(
    '/tasks/:id/leases/:n',
    {
      schema: {
        summary: 'One lease of a task',
        tags,
        params: { type: 'object', properties: { id: taskId, n: { type: 'integer', minimum: 0, maximum: 1_000_000 } } },
      },
    },
    async (req): Promise<LeaseAnswer> => oneLeaseView(node.reader, req.params.id, req.params.n),
  );

  app.get<{ Querystring: LeaseFilter }>(
    '/leases',
    {
      schema: {
        summary: 'Leases on all inner chains, newest match first; filter by worker (address) or state',
        tags,
        querystring: { type: 'object', properties: { worker: { type: 'string', maxLength: 100 }, state: { type: 'string', enum: [...LEASE_STATES] }, limit } },
      },
    },
    async (req): Promise<LeasesAnswer> => {
      if (req.query.worker !== undefined) requireAddress(req.query.worker);
      const { worker, state, limit } = req.query;
      const key = `leases ${JSON.stringify([worker, state, limit])}`;
      return { height: node.reader.height, leases: listings.get(node.reader.height, key, () => leasesView(node.reader, req.query), clientKey(req.ip)) };
    },
  );

  app.post<{ Body: QuoteRequest }>(
    '/market/quote',
    {
      schema: {
        summary:
          'Which registered workers could serve a task (needs and max price as in PostTask) at what asking price, and every reason each other one could not',
        tags,
        body: {
          type: 'object',
          required: ['cpuMillis', 'memoryMiB', 'runtime', 'maxPricePerHour'],
          additionalProperties: false,
          properties: {
            cpuMillis: u32,
            memoryMiB: u32,
            diskMiB: u32,
            bandwidthMbps: u32,
            gpuCount: u32,
            gpuModel: { type: 'string', maxLength: 32 },
            gpuMemoryMiB: u32,
            runtime: { type: 'string', maxLength: 16 },
            region: { type: 'string', maxLength: 32 },
            minRating: { type: 'integer', minimum: 0, maximum: 1000 },
            maxPricePerHour: { type: 'string', pattern: '^[0-9]{1,20}$' },
          },
        },
      },
    },
    async (req): Promise<QuoteAnswer> => quoteView(node.reader, req.body),
  );
}
