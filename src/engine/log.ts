// Structured logging: one JSON object per line, which Workers Logs indexes.
export type LogFields = Record<string, unknown>;

export interface Logger {
	debug(msg: string, fields?: LogFields): void;
	info(msg: string, fields?: LogFields): void;
	warn(msg: string, fields?: LogFields): void;
	error(msg: string, fields?: LogFields): void;
	child(fields: LogFields): Logger;
}

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger that writes lines at `threshold` and above; each line is a console call the platform stores and bills. */
export function createLogger(base: LogFields = {}, threshold: LogLevel = "info"): Logger {
	const least = rank[threshold];
	const write = (level: LogLevel, msg: string, fields?: LogFields) => {
		if (rank[level] < least) return;
		const line = JSON.stringify({ level, msg, time: new Date().toISOString(), ...base, ...fields });
		if (level === "error") console.error(line);
		else if (level === "warn") console.warn(line);
		else console.log(line);
	};
	return {
		debug: (msg, fields) => write("debug", msg, fields),
		info: (msg, fields) => write("info", msg, fields),
		warn: (msg, fields) => write("warn", msg, fields),
		error: (msg, fields) => write("error", msg, fields),
		child: (fields) => createLogger({ ...base, ...fields }, threshold),
	};
}

/** An Error's message without its stack; anything else as a string. */
export function errorMessage(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}
