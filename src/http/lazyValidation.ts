import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

type Validate = ((data: unknown) => unknown) & { errors?: unknown };
type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
// Fastify calls a compiler with its route ({ schema, method, url, httpPart }), whatever the
// compiler's published type says; it is passed through untouched.
type Compile = (route: unknown) => Validate;

/**
 * Fastify's own request validators (@fastify/ajv-compiler, with the server's ajv options), each
 * compiled when its route first validates a request instead of when the server starts. Compiling
 * every route's schemas up front was about 160 ms of each node's start (a tenth of it), mostly for
 * routes that node may never serve; a restarted bookkeeper is back in consensus that much sooner.
 * A route's validator behaves as fastify's: the same function, called the same way, with its
 * `errors` passed on.
 */
export function lazyValidation(): SchemaController {
  const build = AjvCompiler();
  const buildValidator: AjvCompiler.BuildCompilerFromPool = (externalSchemas, options) => {
    const compile = build(externalSchemas, options) as unknown as Compile;
    return ((route: unknown) => {
      let validate: Validate | undefined;
      const lazy: Validate = (data) => {
        validate ??= compile(route);
        const ok = validate(data);
        lazy.errors = validate.errors;
        return ok;
      };
      return lazy;
    }) as never;
  };
  return { compilersFactory: { buildValidator } };
}
