// The drizzle schema the app's client knows: its own tables (tables.ts) and
// the engine's, so that app code and tests can query tasks with the same client.
export { idempotencyKeys, taskEffects, tasks, workflows } from "../engine";
export * from "./tables";
