// createContext: the seed's extensions.py and ContextTask in one factory. It
// builds everything a request handler or an app task needs; the engine calls
// it once per request (engine.context, from the Hono middleware) and once per
// batch (queue()), handing in its task client and logger. Nothing else reads
// env.
import { type Config, parseConfig } from "./config";
import { createDb, type Database } from "./db/client";
import { type LogFields, type Logger, oncePer, type TaskClient } from "./engine";
import { createMailer, type Mailer } from "./mail/mailer";

export interface AppContext {
	readonly config: Config;
	readonly db: Database;
	readonly mailer: Mailer;
	/** The engine: enqueue, read, list, revoke and retry tasks. */
	readonly tasks: TaskClient;
	readonly log: Logger;
	/** Per-token limiter for the enqueue routes. */
	readonly enqueueLimiter: RateLimit;
	/** Per-address limiter for dashboard sign-in attempts. */
	readonly loginLimiter: RateLimit;
}

/** Builds the AppContext for one request (the engine's context(), which supplies ctx.tasks). */
export type ContextOf = (env: Env, logFields?: LogFields) => AppContext;

// env and its bindings are the same objects for the isolate's lifetime.
// Parsing the config is cheap but not free; drizzle() walks the schema to
// build its relational config. Neither needs doing per request.
const configOf = oncePer((env: Env) => parseConfig(env));
const dbOf = oncePer((binding: D1Database) => createDb(binding));

export function createContext(env: Env, engine: { tasks: TaskClient; log: Logger }): AppContext {
	const config = configOf(env);
	return {
		config,
		db: dbOf(env.DB),
		mailer: createMailer(env.MAILER, config.mailFrom),
		tasks: engine.tasks,
		log: engine.log,
		enqueueLimiter: env.ENQUEUE_LIMITER,
		loginLimiter: env.LOGIN_LIMITER,
	};
}
