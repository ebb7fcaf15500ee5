// The page shell every dashboard page shares: document head (stylesheet and
// script are static assets from src/static/, nothing inline, so the CSP needs
// no 'unsafe-inline'), a skip link, the navigation and the sign-out button.
import { raw } from "hono/html";
import type { Child } from "hono/jsx";

export type Section = "overview" | "tasks";

export interface LayoutProps {
	title: string;
	/** Which navigation entry is the current page; omitted when signed out. */
	section?: Section | "none";
	children?: Child;
}

const navigation: { section: Section; href: string; label: string }[] = [
	{ section: "overview", href: "/dashboard", label: "Overview" },
	{ section: "tasks", href: "/dashboard/tasks", label: "Tasks" },
];

export const Layout = ({ title, section, children }: LayoutProps) => (
	<>
		{raw("<!DOCTYPE html>")}
		<html lang="en">
			<head>
				<meta charset="utf-8" />
				<meta name="viewport" content="width=device-width, initial-scale=1" />
				<meta name="color-scheme" content="light dark" />
				<title>{`${title} · edge-tasks`}</title>
				<link rel="icon" href="/dashboard/assets/icon.svg" type="image/svg+xml" />
				<link rel="stylesheet" href="/dashboard/assets/style.css" />
				<script src="/dashboard/assets/app.js" defer></script>
			</head>
			<body>
				<a class="skip" href="#main">
					Skip to content
				</a>
				<header class="top">
					<a class="brand" href="/dashboard">
						edge-tasks
					</a>
					{section && (
						<>
							<nav aria-label="Dashboard">
								<ul>
									{navigation.map((item) => (
										<li>
											<a href={item.href} aria-current={item.section === section ? "page" : undefined}>
												{item.label}
											</a>
										</li>
									))}
								</ul>
							</nav>
							<form method="post" action="/dashboard/logout">
								<button type="submit" class="link">
									Sign out
								</button>
							</form>
						</>
					)}
				</header>
				<main id="main">{children}</main>
			</body>
		</html>
	</>
);
