// The drizzle schema: the seed's models.py, plus the engine's tables
// re-exported so that drizzle-kit generates one migration sequence (npm run
// db:generate) from this file.
import { sql } from "drizzle-orm";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export { idempotencyKeys, taskEffects, tasks } from "../engine";

// Milliseconds since the epoch, as an integer, computed by SQLite itself.
const now = sql`(CAST(unixepoch('subsec') * 1000 AS INTEGER))`;
const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

export const users = sqliteTable("users", {
	id: integer("id").primaryKey({ autoIncrement: true }),
	email: text("email").notNull().unique(),
	name: text("name"),
	processed: integer("processed", { mode: "boolean" }).notNull().default(false),
	createdAt: timestamp("created_at").notNull().default(now),
	updatedAt: timestamp("updated_at").notNull().default(now),
});

export type UserRow = typeof users.$inferSelect;
