// HTTP plumbing every server of the project shares (the node's API with its registry, the worker's
// admin endpoint): one error format, `{"error":{"code","message"}}`, for every refusal, including
// the ones Node's HTTP parser and fastify would otherwise write in their own formats.
export { frameworkRefusal, HttpError, jsonErrors, parserRefusal, type ErrorBody, type ErrorDialect, type JsonErrorOptions } from './errors.ts';
export { lazyValidation } from './lazyValidation.ts';
