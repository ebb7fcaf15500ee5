// process_user_data(user_id): the seed's second task. Setting a flag is
// naturally idempotent, so a second run changes nothing visible. It works per
// batch: one UPDATE marks every user of the batch.
import { sql } from "drizzle-orm";
import * as z from "zod";
import { users } from "../db/schema";
import { defineTask } from "./define";

export const userId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const processUserData = defineTask({
	name: "process_user_data",
	input: z.object({ user_id: userId }).strict(),
	// One run per user at a time, across every consumer.
	concurrencyLimit: { limit: 1, key: (input) => String(input.user_id) },
	async runBatch(ctx, items) {
		const ids = [...new Set(items.map((item) => item.input.user_id))];
		// The ids travel as one JSON parameter: D1 binds at most 100 per statement.
		const found = await ctx.db
			.update(users)
			.set({ processed: true, updatedAt: new Date() })
			.where(sql`${users.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`)
			.returning({ id: users.id });
		const processed = new Set(found.map((user) => user.id));
		return items.map(({ input: { user_id } }) => ({
			status: "fulfilled" as const,
			value: processed.has(user_id) ? `Processed user ${user_id}` : `User ${user_id} not found`,
		}));
	},
});
