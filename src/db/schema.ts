// The drizzle schema: the seed's models.py plus the result backend. SQL
// migrations in migrations/ are generated from this file (npm run db:generate).
import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { TASK_STATES } from "../tasks/states";

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

export const tasks = sqliteTable(
	"tasks",
	{
		id: text("id").primaryKey(),
		name: text("name").notNull(),
		payload: text("payload", { mode: "json" }).notNull(),
		status: text("status", { enum: TASK_STATES }).notNull().default("PENDING"),
		result: text("result", { mode: "json" }),
		error: text("error"),
		attempts: integer("attempts").notNull().default(0),
		createdAt: timestamp("created_at").notNull().default(now),
		startedAt: timestamp("started_at"),
		finishedAt: timestamp("finished_at"),
		updatedAt: timestamp("updated_at").notNull().default(now),
	},
	(t) => [
		check("tasks_status_check", sql.raw(`status IN (${TASK_STATES.map((s) => `'${s}'`).join(", ")})`)),
		index("tasks_status_created_idx").on(t.status, t.createdAt),
		index("tasks_name_created_idx").on(t.name, t.createdAt),
		index("tasks_created_idx").on(t.createdAt),
	],
);

export type UserRow = typeof users.$inferSelect;
export type TaskRow = typeof tasks.$inferSelect;
