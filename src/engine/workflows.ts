// Composition, Celery's canvas: a chain runs its steps one after another, a
// group runs its members at once, a chord runs a callback once every member
// of its group is final. Every step is an ordinary task carrying the
// workflow's id; the steps not yet due are recorded without a message, and
// the trigger in migrations/0010_workflows.sql releases them (or, after a
// chain step that did not succeed, revokes them) in the same transaction as
// the write that finished the step before. Nothing polls, and a redelivery
// or a retried batch finishes no step twice, so nothing is counted twice.
import type { Json, TaskRef } from "./define";
import { IllegalTransitionError, InvalidInputError, WorkflowNotFoundError } from "./errors";
import type { EnqueueManyOptions } from "./producer";
import type { Runtime } from "./runtime";
import type { TaskRow, WorkflowRow } from "./schema";
import { isFinal, type TaskState, type WorkflowKind } from "./states";
import { getTask } from "./store/tasks";
import { getWorkflow, insertWorkflow, revokeSteps } from "./store/workflows";

export interface WorkflowStep {
	task: TaskRef;
	input: unknown;
	/**
	 * The input field this step receives what came before in: for a chain step
	 * after the first, the previous step's result; for a chord's callback, every
	 * member's { task_id, name, status, result, error } in member order
	 * ("results" unless named). The step's schema checks the input once it is
	 * filled in; at enqueue, everything but this field is checked.
	 */
	resultAs?: string | undefined;
}

export type WorkflowSpec =
	| { chain: readonly WorkflowStep[] }
	| { group: readonly WorkflowStep[]; callback?: WorkflowStep | undefined };

export type WorkflowOptions = Pick<EnqueueManyOptions, "idempotencyKey" | "keyCovers" | "delaySeconds">;

export interface EnqueuedWorkflow {
	workflowId: string;
	/** Every step's task id, in step order (a chord's callback last). */
	taskIds: string[];
	replayed: boolean;
}

export const MAX_CHAIN_STEPS = 100;
export const MAX_GROUP_MEMBERS = 500;

const CHORD_RESULTS = "results";
/** What `result_as` may be: a plain field name, since it becomes a JSON path in SQL. */
export const RESULT_AS_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const invalid = (path: string, message: string) => new InvalidInputError(`${path} ${message}`, [{ path, message }]);

/** Records a workflow and its steps in one D1 transaction, and sends the steps due now. */
export async function enqueueWorkflow(rt: Runtime, spec: WorkflowSpec, options: WorkflowOptions = {}): Promise<EnqueuedWorkflow> {
	const chain = "chain" in spec;
	const members = chain ? spec.chain : spec.group;
	const callback = chain ? undefined : spec.callback;
	const kind: WorkflowKind = chain ? "chain" : callback ? "chord" : "group";
	const where = chain ? "chain" : "group";
	const max = chain ? MAX_CHAIN_STEPS : MAX_GROUP_MEMBERS;
	if (members.length === 0 || members.length > max) throw invalid(where, `must have 1 to ${max} steps`);

	const steps = callback ? [...members, callback] : members;
	const now = new Date();
	const workflowId = await rt.producer.mint();
	const rows = await Promise.all(
		steps.map(async (step, i) => {
			const path = callback && i === members.length ? "then" : `${where}.${i}`;
			// Waits its turn: every chain step after the first, and a chord's callback.
			const held = chain ? i > 0 : i === members.length;
			if (step.resultAs !== undefined && !held) {
				throw invalid(`${path}.result_as`, "is for a chain step after the first, or a chord's callback");
			}
			// It becomes a JSON path in SQL: a plain field name only.
			if (step.resultAs !== undefined && !RESULT_AS_PATTERN.test(step.resultAs))
				throw invalid(`${path}.result_as`, "must be an input field name");
			const resultAs = step.resultAs ?? (held && !chain ? CHORD_RESULTS : undefined);
			const row = await rt.producer.rowOf(step.task, step.input, held ? {} : options, now, resultAs).catch((err: unknown) => {
				if (!(err instanceof InvalidInputError)) throw err;
				const issues = Array.isArray(err.details) ? (err.details as { path?: PropertyKey[]; message: string }[]) : [];
				throw new InvalidInputError(
					err.message,
					issues.map((issue) => ({ path: [path, "input", ...(issue.path ?? [])].join("."), message: issue.message })),
				);
			});
			const placed = { ...row, workflowId, workflowStep: i, resultAs: resultAs ?? null };
			return held ? { ...placed, dueAt: null, unsent: true } : placed;
		}),
	);
	const workflow = insertWorkflow(rt.db, {
		id: workflowId,
		kind,
		members: members.length,
		callbackId: callback ? (rows.at(-1)?.id ?? null) : null,
		createdAt: now,
	});
	const described: Json = steps.map((step, i) => ({
		name: step.task.name,
		input: rows[i]?.payload ?? null,
		as: step.resultAs ?? null,
	}));
	const { ids, replayed } = await rt.producer.record(rows, options, { name: `workflow ${kind}`, described }, [workflow]);
	const id = replayed ? ((await getTask(rt.db, ids[0] ?? ""))?.workflowId ?? workflowId) : workflowId;
	rt.log.info("workflow enqueued", { workflow_id: id, kind, steps: ids.length, replayed });
	return { workflowId: id, taskIds: ids, replayed };
}

export interface WorkflowBody {
	workflow_id: string;
	kind: WorkflowKind;
	status: TaskState;
	steps: { task_id: string; name: string; status: TaskState; result: Json; error: string | null }[];
	/** A chain's last result, a group's results in member order, a chord's callback's result: once it has one. */
	result: Json;
	created_at: string;
}

/** What the workflow as a whole is: final once its outcome is known. */
function statusOf(kind: WorkflowKind, steps: readonly TaskRow[]): TaskState {
	const states = steps.map((step) => step.status);
	const last = states.at(-1) ?? "PENDING";
	if (kind === "chord" && isFinal(last)) return last;
	if (kind !== "chord" && states.every(isFinal)) {
		if (states.every((s) => s === "SUCCESS")) return "SUCCESS";
		return states.includes("FAILURE") ? "FAILURE" : "REVOKED";
	}
	// A chain that failed is final as soon as it did; its later steps are revoked in the same write.
	if (kind === "chain" && states.includes("FAILURE")) return "FAILURE";
	return states.some((s) => s !== "PENDING") ? "STARTED" : "PENDING";
}

function resultOf(kind: WorkflowKind, status: TaskState, steps: readonly TaskRow[]): Json {
	const json = (step: TaskRow | undefined) => (step?.result ?? null) as Json;
	if (kind === "group") return status === "PENDING" || status === "STARTED" ? null : steps.map(json);
	const last = steps.at(-1);
	return last?.status === "SUCCESS" ? json(last) : null;
}

export function workflowBody(workflow: WorkflowRow, steps: readonly TaskRow[]): WorkflowBody {
	const status = statusOf(workflow.kind, steps);
	return {
		workflow_id: workflow.id,
		kind: workflow.kind,
		status,
		steps: steps.map((step) => ({
			task_id: step.id,
			name: step.name,
			status: step.status,
			result: (step.result ?? null) as Json,
			error: step.error,
		})),
		result: resultOf(workflow.kind, status, steps),
		created_at: workflow.createdAt.toISOString(),
	};
}

export async function readWorkflow(rt: Runtime, id: string): Promise<WorkflowBody> {
	const found = await getWorkflow(rt.db, id);
	if (!found) throw new WorkflowNotFoundError();
	return workflowBody(found.workflow, found.steps);
}

/** Revokes every step that has not started; IllegalTransitionError if none is left to revoke. */
export async function revokeWorkflow(rt: Runtime, id: string): Promise<WorkflowBody> {
	const found = await getWorkflow(rt.db, id);
	if (!found) throw new WorkflowNotFoundError();
	if (!found.steps.some((step) => step.status === "PENDING" || step.status === "RETRY")) {
		throw new IllegalTransitionError(`Workflow is ${statusOf(found.workflow.kind, found.steps)}; every step has started`);
	}
	await revokeSteps(rt.db, found.workflow, new Date());
	rt.log.info("workflow revoked", { workflow_id: id });
	return readWorkflow(rt, id);
}
