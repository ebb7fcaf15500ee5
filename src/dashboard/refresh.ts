// The auto-refresh switch, beside the page's heading. Hidden until app.js runs
// (without the script it could not work), then visible and remembered per
// browser.
import { html } from "hono/html";
import type { Html } from "./layout";

// app.js reads the interval from data-interval, so the label and the timer agree.
const SECONDS = 5;

const refreshToggle = html`<p class="refresh" hidden><label><input type="checkbox" id="auto-refresh" data-interval="${SECONDS}"> Auto-refresh every ${SECONDS} s</label> <span id="refreshed" class="muted"></span></p>`;

/** The page's heading, with the switch where the page has a #live region still changing. */
export const toolbar = (heading: string | Html, refresh = true) =>
	html`<div class="toolbar"><h1>${heading}</h1>${refresh && refreshToggle}</div>`;
