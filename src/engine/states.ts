// The task state machine, written down once. Every state change in the result
// backend goes through transition() in store.ts, which only updates a row whose
// current state may move to the target, so an illegal move is a no-op there.
export const TASK_STATES = ["PENDING", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED"] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const TRANSITIONS = {
	// Claimed by a delivery; failed before running (enqueue failed, poison,
	// dead-lettered); revoked by a client.
	PENDING: ["STARTED", "FAILURE", "REVOKED"],
	// Finished one way or another; STARTED -> STARTED is a re-claim after the
	// holder's lease expired (its consumer died mid-run).
	STARTED: ["STARTED", "SUCCESS", "RETRY", "FAILURE"],
	// Claimed for the next attempt; dead-lettered; revoked.
	RETRY: ["STARTED", "FAILURE", "REVOKED"],
	SUCCESS: [],
	FAILURE: [],
	REVOKED: [],
} as const satisfies Record<TaskState, readonly TaskState[]>;

/** The states from which `to` may be reached. */
export function sourcesOf(to: TaskState): TaskState[] {
	return TASK_STATES.filter((from) => (TRANSITIONS[from] as readonly TaskState[]).includes(to));
}

export const FINAL_STATES: readonly TaskState[] = TASK_STATES.filter((s) => TRANSITIONS[s].length === 0);

export const isFinal = (state: TaskState): boolean => FINAL_STATES.includes(state);

/** What a workflow is: steps one after another, members at once, or members and then a callback. */
export const WORKFLOW_KINDS = ["chain", "group", "chord"] as const;
export type WorkflowKind = (typeof WORKFLOW_KINDS)[number];
