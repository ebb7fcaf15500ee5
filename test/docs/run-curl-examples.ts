// npm run docs:check, part 3: the curl examples in README.md and docs/ run,
// against the Worker started as `npm run dev` starts it: the same migration
// script, then `wrangler dev`, but on a free port, with .dev.vars.example's
// values (a developer's .dev.vars is neither read nor touched) and a fresh
// local D1 in a temp directory. Each ```sh block that calls curl runs on its
// own, in order, in `bash -euo pipefail` with BASE set to the Worker's
// address: an example writes `curl -fsS` where it expects a 2xx and checks the
// status itself where it shows an error. Exits 1 if any block fails.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { blocks, pages, ROOT, where } from "./markdown.ts";

const run = promisify(execFile);
// Every wait is bounded: a Worker that never answers fails the run.
const START_MS = 90_000;
const BLOCK_MS = 60_000;

const tmp = mkdtempSync(path.join(os.tmpdir(), "edge-tasks-curl-"));
let wrangler: ChildProcess | undefined;

/** Stops wrangler (its whole process group: workerd too) and removes the temp directory. */
async function cleanUp() {
	const child = wrangler;
	wrangler = undefined;
	const group = child?.pid;
	if (child && group !== undefined && child.exitCode === null) {
		const exited = new Promise((resolve) => child.once("exit", resolve));
		signalGroup(group, "SIGTERM");
		const timer = setTimeout(() => signalGroup(group, "SIGKILL"), 5_000);
		await exited;
		clearTimeout(timer);
	}
	rmSync(tmp, { recursive: true, force: true });
}

function signalGroup(group: number, signal: NodeJS.Signals) {
	try {
		process.kill(-group, signal);
	} catch {
		// Already gone.
	}
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
	process.on(signal, () => {
		void cleanUp().finally(() => process.exit(130));
	});
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
		});
	});
}

async function waitForHealth(base: string, log: string) {
	const deadline = Date.now() + START_MS;
	for (;;) {
		if (wrangler?.exitCode !== null) throw new Error(`wrangler dev exited:\n${readFileSync(log, "utf8")}`);
		const up = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2_000) }).then(
			(res) => res.ok,
			() => false,
		);
		if (up) return;
		if (Date.now() > deadline)
			throw new Error(`no answer from ${base}/health in ${START_MS / 1000} s:\n${readFileSync(log, "utf8")}`);
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}

async function main(): Promise<number> {
	const started = Date.now();
	const examples = pages().flatMap((page) => blocks(page).filter((b) => b.lang === "sh" && /\bcurl\b/.test(b.lines.join("\n"))));
	const env = {
		...process.env,
		WRANGLER_SEND_METRICS: "false",
		PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}`,
	};

	await run("bash", [path.join(ROOT, "migrations/apply-local.sh"), "--persist-to", tmp], { cwd: ROOT, env });
	const port = await freePort();
	const base = `http://127.0.0.1:${port}`;
	const log = path.join(tmp, "wrangler.log");
	const out = openSync(log, "a");
	const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", tmp, "--env-file", ".dev.vars.example"];
	// Its own process group, so stopping it stops workerd too.
	wrangler = spawn("wrangler", [...args, "--show-interactive-dev-session=false"], {
		cwd: ROOT,
		env,
		detached: true,
		stdio: ["ignore", out, out],
	});
	await waitForHealth(base, log);

	let failed = 0;
	for (const [i, block] of examples.entries()) {
		const script = path.join(tmp, `example-${i}.sh`);
		// Names the page line of the command that failed: block line n is script line n + 1.
		const trap = `trap 'echo "failed at ${block.page}:$((LINENO + ${block.fence - 1})): $BASH_COMMAND" >&2' ERR`;
		writeFileSync(script, `${trap}\n${block.lines.join("\n")}\n`);
		const result = await run("bash", ["-euo", "pipefail", script], {
			cwd: tmp,
			env: { ...env, BASE: `127.0.0.1:${port}` },
			timeout: BLOCK_MS,
		}).then(
			() => undefined,
			(err: { stdout?: string; stderr?: string; message: string }) =>
				`...${(err.stdout ?? "").slice(-1500)}\n${err.stderr || err.message}`,
		);
		if (result === undefined) console.log(`ok   ${where(block)}`);
		else {
			failed++;
			console.error(`FAIL ${where(block)}\n${result.replace(/^/gm, "     ")}`);
		}
	}
	const seconds = ((Date.now() - started) / 1000).toFixed(1);
	console.log(`docs: ${examples.length - failed} of ${examples.length} curl examples ran (${seconds} s)`);

	// The typed client's example caller, against the same Worker.
	const caller = await run("node", [path.join(ROOT, "examples/node-caller.ts")], {
		cwd: ROOT,
		env: { ...env, EDGE_TASKS_URL: `http://127.0.0.1:${port}` },
		timeout: BLOCK_MS,
	}).then(
		({ stdout }) => ({ ok: true, text: stdout.trim() }),
		(err: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, text: err.stderr || err.message }),
	);
	console.log(`${caller.ok ? "ok  " : "FAIL"} examples/node-caller.ts: ${caller.text}`);
	return failed === 0 && caller.ok ? 0 : 1;
}

let code = 1;
try {
	code = await main();
} catch (err) {
	console.error((err as Error).message);
} finally {
	await cleanUp();
}
process.exit(code);
