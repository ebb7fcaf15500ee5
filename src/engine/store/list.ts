// Listing tasks newest first with an opaque keyset cursor over (created_at, id):
// every page is an index range scan, however deep the client pages.
import { and, desc, eq, gte, lte, type SQL, sql } from "drizzle-orm";
import type { EngineDb } from "../db";
import { InvalidCursorError } from "../errors";
import { type TaskRow, tasks } from "../schema";
import type { TaskState } from "../states";

export interface TaskFilter {
	status?: TaskState | undefined;
	name?: string | undefined;
	createdAfter?: Date | undefined;
	createdBefore?: Date | undefined;
	limit: number;
	cursor?: string | undefined;
}

export interface TaskPage {
	tasks: TaskRow[];
	nextCursor: string | null;
}

export async function listTasks(db: EngineDb, filter: TaskFilter): Promise<TaskPage> {
	const conditions: (SQL | undefined)[] = [
		filter.status ? eq(tasks.status, filter.status) : undefined,
		filter.name ? eq(tasks.name, filter.name) : undefined,
		filter.createdAfter ? gte(tasks.createdAt, filter.createdAfter) : undefined,
		filter.createdBefore ? lte(tasks.createdAt, filter.createdBefore) : undefined,
	];
	if (filter.cursor) {
		const after = decodeCursor(filter.cursor);
		// A row value: SQLite seeks to it in the index's (created_at, id) part.
		// The same test written as an OR (created_at < ? OR (created_at = ? AND
		// id < ?)) is no index range: every page read the whole list above it.
		conditions.push(sql`(${tasks.createdAt}, ${tasks.id}) < (${after.createdAt.getTime()}, ${after.id})`);
	}
	const rows = await db
		.select()
		.from(tasks)
		.where(and(...conditions))
		.orderBy(desc(tasks.createdAt), desc(tasks.id))
		.limit(filter.limit + 1);
	const page = rows.slice(0, filter.limit);
	const last = page.at(-1);
	return { tasks: page, nextCursor: rows.length > filter.limit && last ? encodeCursor(last) : null };
}

// URL-safe Base64 without padding (RFC 4648 section 5); the JSON is ASCII, so btoa takes it as is.
const encodeCursor = (row: TaskRow): string =>
	btoa(JSON.stringify([row.createdAt.getTime(), row.id]))
		.replaceAll("+", "-")
		.replaceAll("/", "_")
		.replace(/=+$/, "");

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
	try {
		const [ms, id] = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/"))) as unknown[];
		if (typeof ms === "number" && Number.isSafeInteger(ms) && typeof id === "string") return { createdAt: new Date(ms), id };
	} catch {
		// fall through to the 400 below
	}
	throw new InvalidCursorError();
}
