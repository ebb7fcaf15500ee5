// Workflows over HTTP: POST /workflows runs a chain, a group, or a chord (a
// group with `then`); GET reads one with its steps; DELETE revokes every step
// that has not started. Steps name any callable task, as POST /tasks does;
// each step's input is checked by its task's schema (all but the field it
// receives, `result_as`), by the engine, which answers where the error is.
import type { Context } from "hono";
import * as z from "zod";
import {
	type EnqueuedWorkflow,
	MAX_CHAIN_STEPS,
	MAX_GROUP_MEMBERS,
	RESULT_AS_PATTERN,
	TASK_STATES,
	type WorkflowSpec,
	type WorkflowStep,
} from "../engine";
import { enqueueOptions, enqueueResponses, idempotencyHeader, json } from "../http/enqueue-route";
import { authedRoute, enqueueRoute } from "../http/openapi";
import { createRouter } from "../http/openapi-router";
import { errorResponse, scheduleFields } from "../http/schemas";
import { callable, unknownTask } from "./tasks-by-name";

export const workflowStep = z
	.object({
		name: z.string().meta({ example: "process_user_data" }),
		input: z
			.record(z.string(), z.unknown())
			.default({})
			.meta({ example: { user_id: 1 } }),
		result_as: z.string().regex(RESULT_AS_PATTERN, { error: "must be an input field name" }).optional().meta({
			description:
				"The input field this step receives what came before in: for a chain step after the first, the previous step's result; for a chord's `then`, every member's outcome in order (default `results`)",
			example: "results",
		}),
	})
	.strict()
	.meta({ id: "WorkflowStep" });

const { delay_seconds, eta } = scheduleFields;
const workflowRequest = z
	.union([
		z.object({ chain: z.array(workflowStep).min(1).max(MAX_CHAIN_STEPS), delay_seconds, eta }).strict(),
		z
			.object({
				group: z.array(workflowStep).min(1).max(MAX_GROUP_MEMBERS),
				// biome-ignore lint/suspicious/noThenProperty: the API's name for a chord's callback, as the issue asks; never a thenable
				then: workflowStep.optional(),
				delay_seconds,
				eta,
			})
			.strict(),
	])
	.meta({ id: "WorkflowRequest" });

export type StepBody = z.infer<typeof workflowStep>;

/** The engine's steps from the request's; 400 unknown_task naming every unknown one. */
export function stepsOf(steps: readonly StepBody[], where: string): WorkflowStep[] {
	const unknown = steps.flatMap((s, index) => (callable.has(s.name) ? [] : [{ where, index, name: s.name }]));
	if (unknown.length > 0) throw unknownTask(unknown);
	return steps.map((s) => ({ task: callable.get(s.name) as WorkflowStep["task"], input: s.input, resultAs: s.result_as }));
}

const acceptedWorkflow = z
	.object({
		workflow_id: z.uuid(),
		task_ids: z.array(z.uuid()).meta({ description: "Every step's task id, in step order (a chord's callback last)" }),
		status: z.literal("queued"),
	})
	.meta({ id: "WorkflowAccepted" });

const workflow = z
	.object({
		workflow_id: z.uuid(),
		kind: z.enum(["chain", "group", "chord"]),
		status: z.enum(TASK_STATES).meta({
			description:
				"PENDING, STARTED while under way, then SUCCESS, FAILURE or REVOKED: a chain's first step that did not succeed, a group's worst member, a chord's callback",
		}),
		steps: z.array(
			z.object({
				task_id: z.uuid(),
				name: z.string(),
				status: z.enum(TASK_STATES),
				result: z.unknown(),
				error: z.string().nullable(),
			}),
		),
		result: z.unknown().meta({ description: "A chain's last result, a group's results in order, a chord's callback's result" }),
		created_at: z.iso.datetime(),
	})
	.meta({ id: "Workflow" });

/** 202 with the workflow's id and its steps' task ids, Location its GET; 200 on an Idempotency-Key replay. */
export const workflowAccepted = (c: Context, { workflowId, taskIds, replayed }: EnqueuedWorkflow) =>
	c.json({ workflow_id: workflowId, task_ids: taskIds, status: "queued" as const }, replayed ? 200 : 202, {
		Location: `/workflows/${workflowId}`,
	});

const workflowParams = z.object({
	workflow_id: z.uuid({ error: "must be a UUID" }).meta({ example: "0193a3f2-5a1c-7d3e-8f00-2c4b6e8a9d10" }),
});
const workflowResponse = (description: string) => ({ content: { "application/json": { schema: workflow } }, description });

export const workflows = createRouter();

workflows.openapi(
	enqueueRoute({
		method: "post",
		path: "/workflows",
		tags: ["Workflows"],
		summary: "Run a chain, a group, or a chord (a group with then)",
		request: { headers: idempotencyHeader, body: json(workflowRequest) },
		responses: {
			...enqueueResponses,
			200: {
				content: { "application/json": { schema: acceptedWorkflow } },
				description: "Replay: this Idempotency-Key already started this workflow",
			},
			202: {
				content: { "application/json": { schema: acceptedWorkflow } },
				headers: z.object({ Location: z.string().meta({ example: "/workflows/0193a3f2-5a1c-7d3e-8f00-2c4b6e8a9d10" }) }),
				description: "Recorded; the first steps are on the queue",
			},
			400: errorResponse("validation_error (details name the step and field) or unknown_task"),
		},
	}),
	async (c) => {
		const body = c.req.valid("json");
		const spec: WorkflowSpec =
			"chain" in body
				? { chain: stepsOf(body.chain, "chain") }
				: { group: stepsOf(body.group, "group"), callback: body.then && stepsOf([body.then], "then")[0] };
		const options = enqueueOptions(c.req.valid("header"), { delay_seconds: body.delay_seconds, eta: body.eta });
		return workflowAccepted(c, await c.get("ctx").tasks.enqueueWorkflow(spec, options));
	},
);

workflows.openapi(
	authedRoute({
		method: "get",
		path: "/workflows/{workflow_id}",
		tags: ["Workflows"],
		summary: "A workflow's status, steps and result",
		request: { params: workflowParams },
		responses: {
			200: workflowResponse("The workflow"),
			400: errorResponse("workflow_id is not a UUID"),
			404: errorResponse("No such workflow"),
		},
	}),
	async (c) => c.json(await c.get("ctx").tasks.workflow(c.req.valid("param").workflow_id), 200),
);

workflows.openapi(
	authedRoute({
		method: "delete",
		path: "/workflows/{workflow_id}",
		tags: ["Workflows"],
		summary: "Revoke every step that has not started",
		request: { params: workflowParams },
		responses: {
			200: workflowResponse("The workflow, its unstarted steps REVOKED"),
			400: errorResponse("workflow_id is not a UUID"),
			404: errorResponse("No such workflow"),
			409: errorResponse("Every step has started; nothing is left to revoke"),
		},
	}),
	async (c) => c.json(await c.get("ctx").tasks.revokeWorkflow(c.req.valid("param").workflow_id), 200),
);
