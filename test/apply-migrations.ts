// Setup files may run more than once; applyD1Migrations skips what is applied.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// MAILER is a JS RPC stub. A spy installed on it (vi.spyOn(env.MAILER,
// "send")) after the sending code has run often no longer sees its calls
// (email.test.ts reproduces it); our best explanation, not verified, is that
// optimised code reads the stub's properties through the stub's own lookup
// and never sees an own property added later. A plain object in front of the
// real binding takes spies like any other, and every send still goes to
// Miniflare's send_email. Once per isolate: files that share one run this
// setup each.
const REAL = Symbol.for("edge-tasks.test.realMailer");
const mailer = env.MAILER as SendEmail & { [REAL]?: SendEmail };
if (!mailer[REAL]) {
	const real = env.MAILER;
	// The Worker sends EmailMessage only (src/mail/mailer.ts).
	const send = (message: EmailMessage) => real.send(message);
	(env as { MAILER: SendEmail }).MAILER = { [REAL]: real, send } as SendEmail;
}
