// The page shell every dashboard page shares: document head (stylesheet and
// script are static assets from src/static/, nothing inline, so the CSP needs
// no 'unsafe-inline'), a skip link, the navigation and the sign-out button.
//
// Pages are hono/html tagged templates, not JSX: `html` escapes every string
// it interpolates just as JSX does, and keeps Hono's JSX runtime (about 10 KiB
// minified) out of a bundle with a 100 KiB gzip budget.
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

/**
 * Markup made by `html`, which another `html` interpolates as is. Arrays of it
 * go in as they are: `html` flattens them. Joining them into a string first
 * would escape the markup a second time.
 */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export type Section = "overview" | "tasks";

export interface LayoutProps {
	title: string;
	/** Which navigation entry is the current page; omitted when signed out. */
	section?: Section | "none";
}

const navigation: { section: Section; href: string; label: string }[] = [
	{ section: "overview", href: "/dashboard", label: "Overview" },
	{ section: "tasks", href: "/dashboard/tasks", label: "Tasks" },
];

const signedIn = (section: Section | "none") => html`
	<nav aria-label="Dashboard">
		<ul>
			${navigation.map(
				(item) =>
					html`<li><a href="${item.href}"${item.section === section && html` aria-current="page"`}>${item.label}</a></li>`,
			)}
		</ul>
	</nav>
	<form method="post" action="/dashboard/logout">
		<button type="submit" class="link">Sign out</button>
	</form>`;

export const layout = ({ title, section }: LayoutProps, content: Html) => html`<!DOCTYPE html>
<html lang="en">
	<head>
		<meta charset="utf-8">
		<meta name="viewport" content="width=device-width, initial-scale=1">
		<meta name="color-scheme" content="light dark">
		<title>${title} · edge-tasks</title>
		<link rel="icon" href="/dashboard/assets/icon.svg" type="image/svg+xml">
		<link rel="stylesheet" href="/dashboard/assets/style.css">
		<script src="/dashboard/assets/app.js" defer></script>
	</head>
	<body>
		<a class="skip" href="#main">Skip to content</a>
		<header class="top">
			<a class="brand" href="/dashboard">edge-tasks</a>
			${section && signedIn(section)}
		</header>
		<main id="main">${content}</main>
	</body>
</html>`;
