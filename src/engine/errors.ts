// The engine's domain errors. The engine speaks no HTTP: it says what went
// wrong, with the facts a caller needs (`details`), and the app decides what
// that means to its clients (src/http/errors.ts maps each kind to a status).

export type EngineErrorKind =
	| "invalid_input"
	| "input_too_large"
	| "unknown_task"
	| "queue_unavailable"
	| "idempotency_key_reused"
	| "idempotency_key_in_flight"
	| "task_not_found"
	| "workflow_not_found"
	| "illegal_transition"
	| "invalid_cursor"
	| "storage_unavailable"
	| "config_error";

export class EngineError extends Error {
	override readonly name: string = "EngineError";
	/** When asking again makes sense, if the engine knows: an HTTP answer's Retry-After. */
	readonly retryAfterSeconds?: number;
	constructor(
		readonly kind: EngineErrorKind,
		message: string,
		/** Machine-readable facts about the error, safe to show a client. */
		readonly details?: unknown,
	) {
		super(message);
	}
}

/** A task's input failed its schema; `details` are the schema's issues. */
export class InvalidInputError extends EngineError {
	override readonly name = "InvalidInputError";
	constructor(message: string, details?: unknown) {
		super("invalid_input", message, details);
	}
}

/** A task's input is too large for a queue message. */
export class InputTooLargeError extends EngineError {
	override readonly name = "InputTooLargeError";
	constructor(message: string, details?: unknown) {
		super("input_too_large", message, details);
	}
}

/** No task of that name is registered with the engine. */
export class UnknownTaskError extends EngineError {
	override readonly name = "UnknownTaskError";
	constructor(name: string, registered: readonly string[]) {
		super("unknown_task", `No task named "${name}" is registered`, { registered });
	}
}

/**
 * The queue refused a send. `details` say which tasks did and did not reach
 * it, or that their state could not be recorded either.
 */
export class QueueUnavailableError extends EngineError {
	override readonly name = "QueueUnavailableError";
	constructor(message: string, details?: unknown) {
		super("queue_unavailable", message, details);
	}
}

/** An idempotency key was used before for different work. */
export class IdempotencyKeyReusedError extends EngineError {
	override readonly name = "IdempotencyKeyReusedError";
	constructor() {
		super("idempotency_key_reused", "This Idempotency-Key was used for a different request");
	}
}

/** An idempotency key's first request is still being recorded or sent; ask again after `retryAfterSeconds`. */
export class IdempotencyKeyInFlightError extends EngineError {
	override readonly name = "IdempotencyKeyInFlightError";
	constructor(override readonly retryAfterSeconds = 1) {
		super("idempotency_key_in_flight", "A request with this Idempotency-Key is being processed; retry it");
	}
}

export class TaskNotFoundError extends EngineError {
	override readonly name = "TaskNotFoundError";
	constructor() {
		super("task_not_found", "Task not found");
	}
}

export class WorkflowNotFoundError extends EngineError {
	override readonly name = "WorkflowNotFoundError";
	constructor() {
		super("workflow_not_found", "Workflow not found");
	}
}

/** The task's state does not allow what was asked (revoke a running task, retry a successful one). */
export class IllegalTransitionError extends EngineError {
	override readonly name = "IllegalTransitionError";
	constructor(message: string) {
		super("illegal_transition", message);
	}
}

/** A list cursor the engine did not issue. */
export class InvalidCursorError extends EngineError {
	override readonly name = "InvalidCursorError";
	constructor() {
		super("invalid_cursor", "Invalid cursor; pass next_cursor from the previous page unchanged", [
			{ path: "cursor", message: "is not a cursor this API issued" },
		]);
	}
}

/** D1 failed (unreachable, overloaded); nothing may be assumed about a write that was under way. */
export class StorageUnavailableError extends EngineError {
	override readonly name = "StorageUnavailableError";
	constructor(cause: unknown) {
		super("storage_unavailable", "The task store (D1) is unavailable; try again later", undefined);
		this.cause = cause;
	}
}

/** Whether `err` (or what it wraps: drizzle wraps D1's errors) is a failure of D1 itself. */
export function isStorageFailure(err: unknown): boolean {
	for (let e: unknown = err; e instanceof Error; e = e.cause) {
		if (e instanceof EngineError) return false;
		if (/^D1_/.test(e.message)) return true;
	}
	return false;
}

/** A configuration variable is missing or invalid; the message names it. */
export class ConfigError extends EngineError {
	override readonly name = "ConfigError";
	constructor(readonly issues: { variable: string; message: string }[]) {
		super("config_error", `Invalid Worker configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join("; ")}`);
	}
}
