// The app's HTTP error class. A failure of the HTTP layer (auth, rate limit,
// validation) is an AppError with a status and a machine-readable code; the
// engine's domain errors get theirs in src/http/errors.ts. Both are rendered
// by the app's onError as one JSON shape.
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export type ErrorCode =
	| "validation_error"
	| "invalid_json"
	| "unsupported_media_type"
	| "payload_too_large"
	| "unauthorized"
	| "forbidden"
	| "rate_limited"
	| "not_found"
	| "method_not_allowed"
	| "conflict"
	| "idempotency_key_reused"
	| "unknown_task"
	| "queue_unavailable"
	| "storage_unavailable"
	| "config_error"
	| "internal_error";

export class AppError extends HTTPException {
	constructor(
		status: ContentfulStatusCode,
		readonly code: ErrorCode,
		message: string,
		readonly details?: unknown,
		readonly headers?: Record<string, string>,
	) {
		super(status, { message });
	}
}

export const notFound = (what: string) => new AppError(404, "not_found", `${what} not found`);
