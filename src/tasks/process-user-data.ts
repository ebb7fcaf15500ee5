// process_user_data(user_id): the seed's second task. Its work is one UPDATE,
// so it is declared as a transaction: the consumer writes it in the claim's
// own D1 batch, with the outcome, one statement for every user of the batch.
// Marking a user processed is done once per run, and would change nothing
// visible if done twice.
import { inArray, sql } from "drizzle-orm";
import * as z from "zod";
import { users } from "../db/schema";
import { defineTask } from "./define";

export const userId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const processUserData = defineTask({
	name: "process_user_data",
	input: z.object({ user_id: userId }).strict(),
	// One run per user at a time, across every consumer.
	concurrencyLimit: { limit: 1, key: (input) => String(input.user_id) },
	transaction: {
		db: (ctx) => ctx.db,
		work: (ctx, runs) => [
			ctx.db
				.update(users)
				.set({ processed: true, updatedAt: new Date() })
				.where(inArray(users.id, runs.input("user_id"))),
		],
		result: (run) =>
			sql<string>`iif(EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${run.field("user_id")}),
				'Processed user ' || ${run.field("user_id")}, 'User ' || ${run.field("user_id")} || ' not found')`,
	},
});
