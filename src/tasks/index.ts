// The app's tasks.py: every task the app defines, and when the periodic ones
// run. Adding a task is a file beside this one and a line in `tasks`; the
// engine adds its own maintenance tasks (recovery, result expiry) itself.
// Each cron must also be a trigger in wrangler.toml, in both environments
// (test/app/schedule.test.ts checks it).
import { schedule } from "../engine";
import { dailySummary } from "./daily-summary";
import { processPendingUsers } from "./process-pending-users";
import { processUserData } from "./process-user-data";
import { sendEmail } from "./send-email";
import { sendReport } from "./send-report";

export const tasks = [sendEmail, processUserData, processPendingUsers, dailySummary, sendReport];

export const schedules = [
	schedule({ name: "daily-summary", cron: "0 6 * * *", task: dailySummary, input: {} }),
	schedule({ name: "process-pending-users", cron: "30 2 * * *", task: processPendingUsers, input: {} }),
];
