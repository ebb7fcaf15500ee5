// The app's defineTask: the engine's, with the context fixed to AppContext, so
// every task's run receives the app's db, mailer, task client and logger.
import type { AppContext } from "../context";
import { taskDefiner } from "../engine";

export const defineTask = taskDefiner<AppContext>();
