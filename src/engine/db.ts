// The engine's drizzle client over the app's D1 binding: the engine's tables
// only. Built once per binding.
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type EngineDb = ReturnType<typeof createEngineDb>;

export function createEngineDb(d1: D1Database) {
	return drizzle(d1, { schema });
}
