// npm run docs:check, part 2: what README.md and docs/ point at exists. Each
// relative link (and its #anchor, as GitHub makes them from headings) leads
// somewhere, and each repository path written as code (`src/engine/define.ts`,
// `test/app/dashboard-*.test.ts`) is in the tree, so moving a file without
// updating the docs fails here. Paths a snippet creates (check-snippets.ts)
// and git-ignored ones (screenshots, results) are exempt.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { blocks, pages, pageText, ROOT } from "./markdown.ts";

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
	heading
		.trim()
		.toLowerCase()
		.replace(/[^\p{L}\p{N}\s_-]/gu, "")
		.replace(/\s/g, "-");

/** A page's prose, with its code blocks blanked out (lines kept, so line numbers hold). */
function prose(page: string): string[] {
	let fenced = false;
	return pageText(page)
		.split("\n")
		.map((line) => {
			if (/^ *```/.test(line)) fenced = !fenced;
			return fenced || /^ *```/.test(line) ? "" : line;
		});
}

function anchors(page: string): Set<string> {
	const seen = new Map<string, number>();
	const found = new Set<string>();
	for (const line of prose(page)) {
		const heading = /^#{1,6} (.*)$/.exec(line)?.[1];
		if (heading === undefined) continue;
		const base = slug(heading.replace(/`/g, ""));
		const n = seen.get(base) ?? 0;
		seen.set(base, n + 1);
		found.add(n === 0 ? base : `${base}-${n}`);
	}
	return found;
}

/** A path with at most one `*` per segment exists (a glob must match something). */
function exists(relative: string): boolean {
	if (!relative.includes("*")) return existsSync(path.join(ROOT, relative));
	const dir = path.posix.dirname(relative);
	const pattern = new RegExp(`^${path.posix.basename(relative).split("*").map(RegExp.escape).join("[^/]*")}$`);
	return existsSync(path.join(ROOT, dir)) && readdirSync(path.join(ROOT, dir)).some((name) => pattern.test(name));
}

const ignored = (relative: string) => {
	try {
		execFileSync("git", ["check-ignore", "-q", relative], { cwd: ROOT, stdio: "ignore" });
		return true;
	} catch {
		return false;
	}
};

// Files the snippets stand for: new ones (src/tasks/resize-image.ts) exist only there.
const snippetFiles = new Set(
	pages().flatMap((page) =>
		blocks(page).flatMap((block) => {
			const header = /^ ?\/\/ (src\/\S+)/.exec(block.lines[0] ?? "")?.[1];
			return header ? [header] : [];
		}),
	),
);

const errors: string[] = [];
let checked = 0;
for (const page of pages()) {
	prose(page).forEach((line, i) => {
		const at = `${page}:${i + 1}`;
		for (const [, target = ""] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
			if (/^[a-z]+:/.test(target)) continue;
			checked++;
			const [file = "", anchor] = target.split("#");
			const linked = file === "" ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
			if (!existsSync(path.join(ROOT, linked))) errors.push(`${at}: link to ${target}: ${linked} does not exist`);
			else if (anchor !== undefined && linked.endsWith(".md") && !anchors(linked).has(anchor)) {
				errors.push(`${at}: link to ${target}: ${linked} has no heading with the anchor #${anchor}`);
			}
		}
		for (const [, named = ""] of line.matchAll(/`((?:src|test|bench|migrations|docs|scripts)\/[^`\s]*)`/g)) {
			checked++;
			if (!exists(named) && !snippetFiles.has(named) && !ignored(named)) errors.push(`${at}: ${named} does not exist`);
		}
	});
}

if (errors.length > 0) {
	console.error(`docs: ${errors.length} broken link(s) or path(s):\n${errors.map((e) => `  ${e}`).join("\n")}`);
	process.exit(1);
}
console.log(`docs: ${checked} links and paths lead somewhere`);
