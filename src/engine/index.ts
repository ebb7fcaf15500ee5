// edge-tasks' engine: a task queue on Cloudflare Queues and D1, with its result
// backend, retries, idempotency keys, periodic tasks and maintenance. This is
// its one public entry; the app imports nothing else under src/engine/, and
// nothing under src/engine/ imports the app.
export type { TaskBody } from "./body";
export { taskBody } from "./body";
export type { EngineConfig, EngineVars } from "./config";
export { parseEngineConfig, parseVars } from "./config";
export type {
	BatchItem,
	BatchResults,
	ConcurrencyLimit,
	Debounce,
	FlowOptions,
	Json,
	RateLimit,
	RetryPolicy,
	TaskDefinition,
	TaskInfo,
	TaskOptions,
	TaskRef,
} from "./define";
export { DEFAULT_RETRY, defineTask, mapSettled, PermanentError, RetryLater, taskDefiner } from "./define";
export type { Engine, EngineBindings, EngineOptions, TaskClient } from "./engine";
export { createEngine } from "./engine";
export type { EngineErrorKind } from "./errors";
export {
	ConfigError,
	EngineError,
	IdempotencyKeyInFlightError,
	IdempotencyKeyReusedError,
	IllegalTransitionError,
	InputTooLargeError,
	InvalidCursorError,
	InvalidInputError,
	isStorageFailure,
	QueueUnavailableError,
	StorageUnavailableError,
	TaskNotFoundError,
	UnknownTaskError,
	WorkflowNotFoundError,
} from "./errors";
export type { WaitReason } from "./flow/admit";
export { FlowControl } from "./flow/control";
export * as limits from "./limits";
export type { LogFields, Logger } from "./log";
export { createLogger, errorMessage } from "./log";
export { MAX_WAIT_SECONDS } from "./manage";
export { oncePer } from "./once-per";
export type { Backlog, Enqueued, EnqueuedMany, EnqueueManyOptions, EnqueueOptions, Prepared, PrepareOptions } from "./producer";
export type { ScheduleEntry } from "./scheduler";
export { schedule } from "./scheduler";
export type { HistoryEntry, TaskRow } from "./schema";
export { idempotencyKeys, taskEffects, tasks, workflows } from "./schema";
export type { TaskState } from "./states";
export { FINAL_STATES, isFinal, TASK_STATES } from "./states";
export type { TaskFilter, TaskPage } from "./store/list";
export type { Bucket, Overview, Range } from "./store/stats";
export { RANGES } from "./store/stats";
export { UNKNOWN_NAME } from "./store/tasks";
export type { Run, Runs, Transaction, WorkStatement } from "./transaction";
export type { EnqueuedWorkflow, WorkflowBody, WorkflowOptions, WorkflowSpec, WorkflowStep } from "./workflows";
export { MAX_CHAIN_STEPS, MAX_GROUP_MEMBERS, RESULT_AS_PATTERN } from "./workflows";
