// process_user_data(user_id): the seed's second task. Setting a flag is
// naturally idempotent, so a second run changes nothing visible.
import { eq } from "drizzle-orm";
import { z } from "zod";
import { users } from "../db/schema";
import { defineTask } from "./define";

export const userId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const processUserData = defineTask({
	name: "process_user_data",
	input: z.object({ user_id: userId }).strict(),
	async run(ctx, { user_id }) {
		const [user] = await ctx.db
			.update(users)
			.set({ processed: true, updatedAt: new Date() })
			.where(eq(users.id, user_id))
			.returning({ id: users.id });
		return user ? `Processed user ${user_id}` : `User ${user_id} not found`;
	},
});
