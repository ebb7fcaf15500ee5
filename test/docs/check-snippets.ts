// npm run docs:check, part 1: every TypeScript snippet in README.md and docs/
// compiles against the real sources, so the docs cannot drift from the code.
//
// A ```ts block is a whole file: its first line names it, as a comment
// (`// src/tasks/resize-image.ts`), new or replacing a real one. A ```diff
// block changes a file: its first line names it the same way (as a context
// line, ` // src/tasks/index.ts`), then context (" "), removed ("-") and added
// ("+") lines, matched to the file ignoring indentation; a line " ..." starts
// the next hunk. Each page's snippets are written, in page order, into a copy
// of src/ in the system's temp directory (each page its own, so two pages can
// change the same file) and checked with the project's tsconfig. ```json
// blocks must parse. Exits 1 on any failure, naming the page and line.
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type Block, blocks, pages, ROOT, where } from "./markdown.ts";

const run = promisify(execFile);
const TS = new Set(["ts", "typescript", "tsx"]);
const HEADER = /^\/\/ (src\/[\w./-]+\.tsx?)\s*$/;

/** A file as the snippets leave it, with the page line each of its lines came from (undefined: the real file's). */
interface Written {
	lines: string[];
	origins: (string | undefined)[];
}

/** Where a snippet puts its file, or why it cannot. */
function fileOf(block: Block, header: string | undefined): string | Error {
	const match = HEADER.exec(header ?? "");
	const file = match?.[1];
	if (!file || path.posix.normalize(file) !== file) {
		return new Error(
			`${where(block, 1)}: a \`\`\`${block.lang} block starts with a comment naming the file under src/ it stands for, e.g. "// src/tasks/resize-image.ts"`,
		);
	}
	return file;
}

/** Applies a ```diff block to `file`; throws with the page and line of a hunk that does not fit. */
function applyDiff(block: Block, file: Written): Written {
	let { lines, origins } = file;
	const hunks: { mark: string; text: string; n: number }[][] = [[]];
	block.lines.slice(1).forEach((line, i) => {
		if (/^ ?\.\.\.\s*$/.test(line)) hunks.push([]);
		else {
			const mark = line[0] ?? " ";
			if (!" +-".includes(mark)) throw new Error(`${where(block, i + 2)}: a diff line starts with " ", "+" or "-"`);
			hunks.at(-1)?.push({ mark, text: line.slice(1), n: i + 2 });
		}
	});
	for (const hunk of hunks) {
		const old = hunk.filter((entry) => entry.mark !== "+");
		const first = hunk[0];
		if (!first) continue;
		if (old.length === 0) throw new Error(`${where(block, first.n)}: a hunk needs a context or "-" line to place it`);
		const at: number[] = [];
		for (let p = 0; p + old.length <= lines.length; p++) {
			if (old.every((entry, k) => lines[p + k]?.trim() === entry.text.trim())) at.push(p);
		}
		if (at.length !== 1) {
			const why = at.length === 0 ? "its context and removed lines are not in" : "its context matches more than one place in";
			throw new Error(`${where(block, first.n)}: this hunk does not apply: ${why} the file`);
		}
		const start = at[0] ?? 0;
		const next: string[] = [];
		const nextOrigins: (string | undefined)[] = [];
		let k = start;
		for (const entry of hunk) {
			if (entry.mark === "+") {
				next.push(entry.text);
				nextOrigins.push(where(block, entry.n));
				continue;
			}
			if (entry.mark === " ") {
				next.push(lines[k] ?? "");
				nextOrigins.push(origins[k]);
			}
			k++;
		}
		lines = [...lines.slice(0, start), ...next, ...lines.slice(k)];
		origins = [...origins.slice(0, start), ...nextOrigins, ...origins.slice(k)];
	}
	return { lines, origins };
}

/** Type-checks one page's snippets in its own copy of src/; returns the errors, mapped to page lines where they can be. */
async function checkPage(page: string, snippets: Block[]): Promise<string[]> {
	const dir = mkdtempSync(path.join(os.tmpdir(), "edge-tasks-docs-"));
	temporary.add(dir);
	try {
		cpSync(path.join(ROOT, "src"), path.join(dir, "src"), { recursive: true });
		symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
		writeFileSync(
			path.join(dir, "tsconfig.json"),
			JSON.stringify({ extends: path.join(ROOT, "tsconfig.json"), include: ["src"] }),
		);
		const written = new Map<string, Written>();
		const errors: string[] = [];
		for (const block of snippets) {
			const isDiff = block.lang === "diff";
			const file = fileOf(block, isDiff ? block.lines[0]?.slice(1) : block.lines[0]);
			if (file instanceof Error) {
				errors.push(file.message);
				continue;
			}
			try {
				if (isDiff) {
					const current = written.get(file) ?? realFile(dir, file, block);
					written.set(file, applyDiff(block, current));
				} else {
					written.set(file, { lines: block.lines, origins: block.lines.map((_, i) => where(block, i + 1)) });
				}
			} catch (err) {
				errors.push((err as Error).message);
			}
		}
		if (errors.length > 0) return errors;
		for (const [file, { lines }] of written) writeFileSync(path.join(dir, file), `${lines.join("\n")}\n`);
		const tsc = path.join(ROOT, "node_modules/.bin/tsc");
		const result = await run(tsc, ["-p", dir, "--noEmit", "--pretty", "false"], { cwd: dir }).then(
			() => "",
			(err: { stdout?: string; stderr?: string; message: string }) => `${err.stdout ?? ""}${err.stderr ?? ""}` || err.message,
		);
		return result
			.split("\n")
			.filter((line) => line.trim() !== "")
			.map((line) => {
				const m = /^(src\/[^(]+)\((\d+),(\d+)\): (.*)$/.exec(line);
				if (!m) return `${page}: ${line}`;
				const [, file = "", row = "0", col = "", message = ""] = m;
				const origin = written.get(file)?.origins[Number(row) - 1];
				return origin
					? `${origin}: ${message} (${file}:${row}:${col} as the snippets write it)`
					: `${page}: ${message} (in ${file}:${row}:${col} as this page's snippets leave it)`;
			});
	} finally {
		rmSync(dir, { recursive: true, force: true });
		temporary.delete(dir);
	}
}

function realFile(dir: string, file: string, block: Block): Written {
	try {
		const lines = readLines(path.join(dir, file));
		return { lines, origins: lines.map(() => undefined) };
	} catch {
		throw new Error(`${where(block, 1)}: ${file} does not exist, so this diff has nothing to change`);
	}
}

const readLines = (file: string) => readFileSync(file, "utf8").replace(/\n$/, "").split("\n");

// Temp copies are removed even when the run is interrupted.
const temporary = new Set<string>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
	process.on(signal, () => {
		for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
		process.exit(130);
	});
}

const started = Date.now();
const errors: string[] = [];
let checked = 0;
const jobs: Promise<string[]>[] = [];
for (const page of pages()) {
	const all = blocks(page);
	for (const block of all.filter((b) => b.lang === "json")) {
		checked++;
		try {
			JSON.parse(block.lines.join("\n"));
		} catch (err) {
			errors.push(`${where(block, 1)}: not valid JSON: ${(err as Error).message}`);
		}
	}
	const snippets = all.filter((b) => TS.has(b.lang) || b.lang === "diff");
	checked += snippets.length;
	if (snippets.length > 0) jobs.push(checkPage(page, snippets));
}
for (const found of await Promise.all(jobs)) errors.push(...found);

if (errors.length > 0) {
	console.error(`docs: ${errors.length} problem(s) in the snippets:\n${errors.map((e) => `  ${e}`).join("\n")}`);
	process.exit(1);
}
console.log(`docs: ${checked} snippets compile or parse (${((Date.now() - started) / 1000).toFixed(1)} s)`);
