// Task states, as Celery names them.
export const TASK_STATES = ["PENDING", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED"] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** States a task never leaves. */
export const FINAL_STATES = ["SUCCESS", "FAILURE", "REVOKED"] as const satisfies readonly TaskState[];
/** States from which a delivery may claim the task and run it. */
export const RUNNABLE_STATES = ["PENDING", "RETRY"] as const satisfies readonly TaskState[];

export const isFinal = (state: TaskState): boolean => (FINAL_STATES as readonly TaskState[]).includes(state);
