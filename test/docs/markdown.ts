// The pages npm run docs:check reads (README.md and docs/*.md) and their
// fenced code blocks, for the snippet checker and the curl runner.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");

export interface Block {
	/** The page, relative to the repository root. */
	page: string;
	/** 1-based line of the opening fence: the block's first line is fence + 1. */
	fence: number;
	/** The fence's info string: ts, diff, sh, ... */
	lang: string;
	/** The block's lines, without the fences and the fence's indentation. */
	lines: string[];
}

export function pages(): string[] {
	const docs = readdirSync(path.join(ROOT, "docs"))
		.filter((name) => name.endsWith(".md"))
		.sort()
		.map((name) => `docs/${name}`);
	return ["README.md", ...docs];
}

export function pageText(page: string): string {
	return readFileSync(path.join(ROOT, page), "utf8");
}

/** Every fenced block of a page; a block inside a list item may be indented. */
export function blocks(page: string): Block[] {
	const lines = pageText(page).split("\n");
	const found: Block[] = [];
	for (let i = 0; i < lines.length; i++) {
		const open = /^( *)(```+)([\w-]*)\s*$/.exec(lines[i] ?? "");
		if (!open) continue;
		const [, indent = "", fence = "", lang = ""] = open;
		const body: string[] = [];
		let j = i + 1;
		for (; j < lines.length && !new RegExp(`^ *${fence}\\s*$`).test(lines[j] ?? ""); j++) {
			const line = lines[j] ?? "";
			body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
		}
		if (j === lines.length) throw new Error(`${page}:${i + 1}: code block is never closed`);
		found.push({ page, fence: i + 1, lang, lines: body });
		i = j;
	}
	return found;
}

/** page:line of a block's n-th line (1-based), for messages. */
export const where = (block: Block, n = 0) => `${block.page}:${block.fence + n}`;
