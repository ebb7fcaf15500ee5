// An example periodic task, defined like any other: every night, queue
// process_user_data for users not yet processed, in bulk. Users it queued
// yesterday but that are still unprocessed are simply queued again, which the
// task tolerates: setting a flag twice changes nothing.
import { asc, eq } from "drizzle-orm";
import * as z from "zod";
import { users } from "../db/schema";
import { defineTask } from "./define";
import { processUserData } from "./process-user-data";

export const processPendingUsers = defineTask({
	name: "process_pending_users",
	input: z.object({ limit: z.number().int().min(1).max(1000).default(1000) }).strict(),
	async run(ctx, { limit }) {
		const pending = await ctx.db
			.select({ id: users.id })
			.from(users)
			.where(eq(users.processed, false))
			.orderBy(asc(users.id))
			.limit(limit);
		if (pending.length === 0) return { queued: 0 };
		const { ids } = await ctx.tasks.enqueueMany(
			processUserData,
			pending.map((user) => ({ user_id: user.id })),
		);
		return { queued: ids.length };
	},
});
