// Typed, frozen configuration parsed from the Worker's vars and secrets: the
// seed's config.py. A bad variable fails here, by name, not deep in a task.
import * as z from "zod";

const commaList = <T extends z.ZodType<string, string>>(item: T) =>
	z
		.string()
		.optional()
		.transform((v) =>
			(v ?? "")
				.split(",")
				.map((part) => part.trim())
				.filter(Boolean),
		)
		.pipe(z.array(item));

const configSchema = z
	.object({
		APP_ENV: z.enum(["development", "production", "test"]),
		MAIL_FROM: z.email().max(254),
		MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(1_048_576),
		TASKS_DEAD_LETTER_QUEUE: z.string().min(1),
		IDEMPOTENCY_TTL_SECONDS: z.coerce
			.number()
			.int()
			.min(60)
			.max(30 * 86_400)
			.default(86_400),
		RESULT_TTL_SECONDS: z.coerce
			.number()
			.int()
			.min(60)
			.default(7 * 86_400),
		STUCK_PENDING_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
		// The task queue's message retention: 4 days unless the queue was created
		// with another (up to 14 days; the Free plan keeps messages 24 hours).
		QUEUE_RETENTION_SECONDS: z.coerce
			.number()
			.int()
			.min(60)
			.max(14 * 86_400)
			.default(4 * 86_400),
		// A secret: comma-separated so a new token can be added before the old one
		// is removed. Empty means every protected route refuses to serve.
		API_TOKENS: commaList(z.string().min(16, { error: "each token must be at least 16 characters" })),
		CORS_ORIGINS: commaList(z.url({ error: "each origin must be a URL such as https://app.example.com" })),
		// A secret: the key that signs dashboard session cookies. Changing it signs
		// everyone out.
		SESSION_SECRET: z
			.string({ error: "is required: a secret of at least 32 random characters that signs dashboard sessions" })
			.min(32, { error: "must be at least 32 characters" }),
	})
	// A task's record must outlive every copy of its message: the consumer
	// creates a missing row, so a redelivery after the result expired would run
	// the task again.
	.refine((env) => env.RESULT_TTL_SECONDS >= env.QUEUE_RETENTION_SECONDS, {
		path: ["RESULT_TTL_SECONDS"],
		error: "must be at least QUEUE_RETENTION_SECONDS, so a finished task's record outlives any redelivery of its message",
	})
	// A replayed Idempotency-Key answers from its tasks' records (their ids, and
	// which of a bulk request never reached the queue), so they must outlive it.
	.refine((env) => env.IDEMPOTENCY_TTL_SECONDS <= env.RESULT_TTL_SECONDS, {
		path: ["IDEMPOTENCY_TTL_SECONDS"],
		error: "must be at most RESULT_TTL_SECONDS, so a replayed key's tasks still have their records",
	});

export type Config = Readonly<{
	appEnv: "development" | "production" | "test";
	mailFrom: string;
	/** Domain of MAIL_FROM; right-hand side of the Message-IDs we mint. */
	mailDomain: string;
	/** Largest request body accepted, in bytes; larger ones get 413. */
	maxBodyBytes: number;
	/** Name of the queue that collects the task queue's dead letters. */
	deadLetterQueue: string;
	/** How long an Idempotency-Key is remembered. */
	idempotencyTtlSeconds: number;
	/** How long finished tasks are kept before result expiry deletes them. */
	resultTtlSeconds: number;
	/** A PENDING task this far past due (and not touched since) counts as lost. */
	stuckPendingSeconds: number;
	/** How long the queue keeps a message nobody consumed: a task id older than this with no row is unknown. */
	queueRetentionSeconds: number;
	/** Bearer tokens accepted by the API; never logged. */
	apiTokens: readonly string[];
	/** Origins allowed by CORS; none by default. */
	corsOrigins: readonly string[];
	/** HMAC key for the dashboard's session cookie; never logged. */
	sessionSecret: string;
}>;

export class ConfigError extends Error {
	override readonly name = "ConfigError";
	constructor(readonly issues: { variable: string; message: string }[]) {
		super(`Invalid Worker configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join("; ")}`);
	}
}

/** Only the string vars are read; bindings are taken by createContext. */
export type ConfigVars = { [K in keyof z.input<typeof configSchema>]?: unknown };

export function parseConfig(vars: ConfigVars): Config {
	const parsed = configSchema.safeParse(vars);
	if (!parsed.success) {
		throw new ConfigError(
			parsed.error.issues.map((issue) => ({
				variable: String(issue.path[0] ?? "(env)"),
				message: issue.message,
			})),
		);
	}
	const env = parsed.data;
	return Object.freeze({
		appEnv: env.APP_ENV,
		mailFrom: env.MAIL_FROM,
		mailDomain: env.MAIL_FROM.slice(env.MAIL_FROM.lastIndexOf("@") + 1),
		maxBodyBytes: env.MAX_BODY_BYTES,
		deadLetterQueue: env.TASKS_DEAD_LETTER_QUEUE,
		idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
		resultTtlSeconds: env.RESULT_TTL_SECONDS,
		stuckPendingSeconds: env.STUCK_PENDING_SECONDS,
		queueRetentionSeconds: env.QUEUE_RETENTION_SECONDS,
		apiTokens: Object.freeze(env.API_TOKENS),
		corsOrigins: Object.freeze(env.CORS_ORIGINS),
		sessionSecret: env.SESSION_SECRET,
	});
}
