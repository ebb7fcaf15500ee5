// Typed, frozen configuration parsed from the Worker's vars and secrets: the
// seed's config.py. A bad variable fails here, by name, not deep in a task.
// The engine's own settings (TTLs, the dead-letter queue) are parsed by the
// engine (src/engine/config.ts) from the same vars.
import * as z from "zod";
import { parseVars } from "./engine";

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

const configSchema = z.object({
	APP_ENV: z.enum(["development", "production", "test"]),
	MAIL_FROM: z.email().max(254),
	MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(1_048_576),
	// send_email's rate limit: emails started per recipient domain per minute,
	// across every consumer.
	EMAIL_RATE_PER_DOMAIN: z.coerce.number().int().min(1).max(1_000_000).default(60),
	// A secret: comma-separated so a new token can be added before the old one
	// is removed. Empty means every protected route refuses to serve.
	API_TOKENS: commaList(z.string().min(16, { error: "each token must be at least 16 characters" })),
	CORS_ORIGINS: commaList(z.url({ error: "each origin must be a URL such as https://app.example.com" })),
	// A secret: the key that signs dashboard session cookies. Changing it signs
	// everyone out.
	SESSION_SECRET: z
		.string({ error: "is required: a secret of at least 32 random characters that signs dashboard sessions" })
		.min(32, { error: "must be at least 32 characters" }),
});

export type Config = Readonly<{
	appEnv: "development" | "production" | "test";
	mailFrom: string;
	/** Domain of MAIL_FROM; right-hand side of the Message-IDs we mint. */
	mailDomain: string;
	/** Largest request body accepted, in bytes; larger ones get 413. */
	maxBodyBytes: number;
	/** Emails started per recipient domain per minute (send_email's rate limit). */
	emailRatePerDomain: number;
	/** Bearer tokens accepted by the API; never logged. */
	apiTokens: readonly string[];
	/** Origins allowed by CORS; none by default. */
	corsOrigins: readonly string[];
	/** HMAC key for the dashboard's session cookie; never logged. */
	sessionSecret: string;
}>;

/** Only the string vars are read; bindings are taken by createContext. */
export type ConfigVars = { [K in keyof z.input<typeof configSchema>]?: unknown };

export function parseConfig(vars: ConfigVars): Config {
	const env = parseVars(configSchema, vars);
	return Object.freeze({
		appEnv: env.APP_ENV,
		mailFrom: env.MAIL_FROM,
		mailDomain: env.MAIL_FROM.slice(env.MAIL_FROM.lastIndexOf("@") + 1),
		maxBodyBytes: env.MAX_BODY_BYTES,
		emailRatePerDomain: env.EMAIL_RATE_PER_DOMAIN,
		apiTokens: Object.freeze(env.API_TOKENS),
		corsOrigins: Object.freeze(env.CORS_ORIGINS),
		sessionSecret: env.SESSION_SECRET,
	});
}
