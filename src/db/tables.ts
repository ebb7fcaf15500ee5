// The app's tables: the seed's models.py. drizzle-kit reads this file with the
// engine's schema (src/db/drizzle.config.ts); the app's drizzle client gets
// both through schema.ts.
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// Milliseconds since the epoch, as an integer, computed by SQLite itself.
const now = sql`(CAST(unixepoch('subsec') * 1000 AS INTEGER))`;
const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

export const users = sqliteTable("users", {
	id: integer("id").primaryKey({ autoIncrement: true }),
	// Lower case, so that the unique index is case-insensitive: the API lowers
	// what it is given, and triggers refuse any other write that is not lower
	// case (migration 0008, which also says what became of addresses that
	// differed only in case). A migration that rebuilds this table must
	// recreate those triggers (test/app/users-route.test.ts fails without them).
	email: text("email").notNull().unique(),
	name: text("name"),
	processed: integer("processed", { mode: "boolean" }).notNull().default(false),
	createdAt: timestamp("created_at").notNull().default(now),
	updatedAt: timestamp("updated_at").notNull().default(now),
});

export type UserRow = typeof users.$inferSelect;

/**
 * Dashboard sign-ins (src/dashboard/session.ts). The cookie names a row, so
 * signing out deletes it and the cookie opens nothing after. Expired rows are
 * deleted a few at a time by later sign-ins.
 */
export const dashboardSessions = sqliteTable(
	"dashboard_sessions",
	{
		/** Random, 256 bits, hex; the signed cookie carries it. */
		id: text("id").primaryKey(),
		/** The API token signed in with, as its id (tok_...): removing the token ends the session. */
		tokenId: text("token_id").notNull(),
		createdAt: timestamp("created_at").notNull(),
		expiresAt: timestamp("expires_at").notNull(),
	},
	(t) => [index("dashboard_sessions_expires_idx").on(t.expiresAt)],
);
