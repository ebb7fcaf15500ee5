// Runs one delivered task: the body of Celery's worker loop for one message.
// Shared by the queue consumer and eager mode, so both record states alike.
import type { AppContext } from "../context";
import type { TaskRow } from "../db/schema";
import { errorMessage } from "../log";
import type { Json } from "./define";
import { envelopeSchema } from "./envelope";
import { registry } from "./registry";
import { claim, getTask, markFailure, markSuccess } from "./store";

/** What happened to one delivery. Every outcome means the message is done with. */
export type Delivery =
	| { outcome: "success" | "failure"; task: TaskRow }
	| { outcome: "skipped"; reason: string }
	| { outcome: "rejected"; reason: string };

const MAX_LOGGED_BODY = 512;

export async function execute(ctx: AppContext, body: unknown): Promise<Delivery> {
	const envelope = envelopeSchema.safeParse(body);
	if (!envelope.success) {
		const reason = "message is not a task envelope";
		ctx.log.warn(reason, { body: JSON.stringify(body)?.slice(0, MAX_LOGGED_BODY) });
		return { outcome: "rejected", reason };
	}
	const { id, name, input } = envelope.data;
	const log = ctx.log.child({ task_id: id, name });

	const task = registry.get(name);
	if (!task) return reject(ctx, id, `unknown task "${name}"`);
	const parsed = task.input.safeParse(input);
	if (!parsed.success) {
		const fields = parsed.error.issues.map((i) => i.path.join(".") || "(input)").join(", ");
		return reject(ctx, id, `invalid input for ${name}: ${fields}`);
	}

	const claimed = await claim(ctx.db, id);
	if (!claimed) {
		const current = await getTask(ctx.db, id);
		const reason = current ? `task is ${current.status}` : "task is not recorded";
		log.info("delivery skipped", { reason });
		return { outcome: "skipped", reason };
	}

	const startedAt = Date.now();
	let result: Json;
	try {
		result = await task.run(ctx, parsed.data, { id, name, attempt: claimed.attempts });
	} catch (err) {
		const error = errorMessage(err);
		const row = await markFailure(ctx.db, id, error);
		log.warn("task failed", {
			from: "STARTED",
			to: "FAILURE",
			attempt: claimed.attempts,
			error,
			duration_ms: Date.now() - startedAt,
		});
		return { outcome: "failure", task: recorded(row, id) };
	}
	const row = await markSuccess(ctx.db, id, result);
	log.info("task succeeded", { from: "STARTED", to: "SUCCESS", attempt: claimed.attempts, duration_ms: Date.now() - startedAt });
	return { outcome: "success", task: recorded(row, id) };
}

async function reject(ctx: AppContext, id: string, reason: string): Promise<Delivery> {
	await markFailure(ctx.db, id, reason);
	ctx.log.warn("message rejected", { task_id: id, reason });
	return { outcome: "rejected", reason };
}

// The claim made this delivery the row's only writer until it finishes; a
// missing row here means someone deleted it mid-run.
function recorded(row: TaskRow | undefined, id: string): TaskRow {
	if (!row) throw new Error(`task ${id} changed while running`);
	return row;
}
