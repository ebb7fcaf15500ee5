// createContext(env): the seed's extensions.py and ContextTask in one factory.
// It builds everything a request handler or a task needs; Hono middleware calls
// it once per request, queue() once per batch. Nothing else reads env.
import { type Config, parseConfig } from "./config";
import { createDb, type Database } from "./db/client";
import { createLogger, type LogFields, type Logger } from "./log";
import { createMailer, type Mailer } from "./mail/mailer";
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

// Parsing is cheap but not free, and env is the same object for the isolate's
// lifetime, so each env is parsed once.
const configs = new WeakMap<Env, Config>();

function configOf(env: Env): Config {
	let config = configs.get(env);
	if (!config) {
		config = parseConfig(env);
		configs.set(env, config);
	}
	return config;
}

export function createContext(env: Env, logFields: LogFields = {}): AppContext {
	const config = configOf(env);
	const log = createLogger({ app_env: config.appEnv, ...logFields });
	const db = createDb(env.DB);
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
