// createContext(env): the seed's extensions.py and ContextTask in one factory.
// It builds everything a request handler or a task needs; Hono middleware calls
// it once per request, queue() once per batch. Nothing else reads env.
import { type Config, parseConfig } from "./config";
import { createDb, type Database } from "./db/client";
import { createLogger, type LogFields, type Logger } from "./log";
import { createMailer, type Mailer } from "./mail/mailer";
import { oncePer } from "./once-per";
import { createTaskProducer, type TaskProducer } from "./tasks/producer";

export interface AppContext {
	readonly config: Config;
	readonly db: Database;
	readonly mailer: Mailer;
	readonly tasks: TaskProducer;
	readonly log: Logger;
	/** Per-token limiter for the enqueue routes. */
	readonly enqueueLimiter: RateLimit;
	/** Per-address limiter for dashboard sign-in attempts. */
	readonly loginLimiter: RateLimit;
}

// env and its bindings are the same objects for the isolate's lifetime.
// Parsing the config is cheap but not free; drizzle() walks the schema to
// build its relational config. Neither needs doing per request.
const configOf = oncePer((env: Env) => parseConfig(env));
const dbOf = oncePer((binding: D1Database) => createDb(binding));

export function createContext(env: Env, logFields: LogFields = {}): AppContext {
	const config = configOf(env);
	const log = createLogger({ app_env: config.appEnv, ...logFields });
	const db = dbOf(env.DB);
	return {
		config,
		db,
		mailer: createMailer(env.MAILER, config.mailFrom),
		tasks: createTaskProducer(db, env.TASKS, config, log),
		log,
		enqueueLimiter: env.ENQUEUE_LIMITER,
		loginLimiter: env.LOGIN_LIMITER,
	};
}
