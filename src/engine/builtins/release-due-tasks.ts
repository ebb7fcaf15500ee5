// The release sweep: sends every task whose message is owed and due within the
// queue's delay limit (release.ts): tasks scheduled further ahead than a queue
// can delay a message, and what the consumer or an outbox send did not get to
// (a crash between the write and the send, a refused send). Every minute, so
// an outbox task waits at most about a minute after its send failed.
import * as z from "zod";
import { defineTask } from "../define";
import { RELEASE_LIMIT, releaseDue } from "../release";
import type { Runtime } from "../runtime";

export const releaseDueTasks = defineTask({
	name: "release_due_tasks",
	input: z.object({}).strict(),
	retry: { maxRetries: 2 },
	async run(rt: Runtime) {
		const released = await releaseDue(rt);
		const result = { released, more: released === RELEASE_LIMIT };
		if (released > 0) rt.log.info("due tasks released", result);
		return result;
	},
});
