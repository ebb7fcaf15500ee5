// The dashboard's stylesheet, served by the Worker (no build step, no CDN).
// Colours follow the browser's light or dark preference; every text colour
// keeps at least 4.5:1 contrast against its background.
export const style = `
:root {
	color-scheme: light dark;
	--bg: #ffffff;
	--panel: #f6f8fa;
	--text: #1f2328;
	--muted: #59636e;
	--border: #d1d9e0;
	--link: #0550ae;
	--focus: #0969da;
	--ok: #1a7f37;
	--fail: #cf222e;
	--queue: #0969da;
	--grid: #d1d9e0;
	--ok-bg: #dafbe1;
	--ok-text: #116329;
	--fail-bg: #ffebe9;
	--fail-text: #a40e26;
	--wait-bg: #fff8c5;
	--wait-text: #7d4e00;
	--run-bg: #ddf4ff;
	--run-text: #0a3069;
	--off-bg: #eff2f5;
	--off-text: #424a53;
}
@media (prefers-color-scheme: dark) {
	:root {
		--bg: #0d1117;
		--panel: #151b23;
		--text: #e6edf3;
		--muted: #9198a1;
		--border: #3d444d;
		--link: #4493f8;
		--focus: #4493f8;
		--ok: #3fb950;
		--fail: #f85149;
		--queue: #4493f8;
		--grid: #3d444d;
		--ok-bg: #12261e;
		--ok-text: #56d364;
		--fail-bg: #2d1214;
		--fail-text: #ff9492;
		--wait-bg: #272115;
		--wait-text: #e3b341;
		--run-bg: #0c2d6b;
		--run-text: #a5d6ff;
		--off-bg: #212830;
		--off-text: #d1d7e0;
	}
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
	margin: 0;
	background: var(--bg);
	color: var(--text);
	font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
a { color: var(--link); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.875rem; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: 0.5rem 1rem; z-index: 1; }
.skip:focus { left: 0.5rem; }
.visually-hidden {
	position: absolute; width: 1px; height: 1px; overflow: hidden;
	clip-path: inset(50%); white-space: nowrap;
}
.top {
	display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.5rem;
	padding: 0.75rem 1rem; border-bottom: 1px solid var(--border); background: var(--panel);
}
.brand { font-weight: 700; color: var(--text); text-decoration: none; }
.top nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
.top nav a[aria-current="page"] { font-weight: 700; color: var(--text); }
.top form { margin-left: auto; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 0.75rem; }
.muted { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: 0.75rem; margin: 0; }
.card { border: 1px solid var(--border); border-radius: 6px; padding: 0.75rem; background: var(--panel); }
.card dt { color: var(--muted); font-size: 0.875rem; }
.card dd { margin: 0.25rem 0 0; font-size: 1.5rem; font-weight: 600; overflow-wrap: anywhere; }
.card dd small { display: block; font-size: 0.8rem; font-weight: 400; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.925rem; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { text-align: left; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--border); vertical-align: top; }
th { font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.error { overflow-wrap: anywhere; min-width: 12rem; }
.badge { display: inline-block; padding: 0 0.45rem; border-radius: 999px; font-size: 0.8rem; font-weight: 600; }
.state-success { background: var(--ok-bg); color: var(--ok-text); }
.state-failure { background: var(--fail-bg); color: var(--fail-text); }
.state-pending, .state-retry { background: var(--wait-bg); color: var(--wait-text); }
.state-started { background: var(--run-bg); color: var(--run-text); }
.state-revoked { background: var(--off-bg); color: var(--off-text); }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem 1.5rem; margin-bottom: 0.75rem; }
.toolbar h1 { margin: 0.5rem 0; }
.refresh { margin: 0; }
.refresh label { display: inline-flex; align-items: center; gap: 0.4rem; font-weight: 400; }
.refresh input { width: 1.1rem; height: 1.1rem; margin: 0; }
.ranges { display: flex; gap: 1rem; list-style: none; padding: 0; margin: 0 0 0.5rem; }
.ranges a[aria-current="true"] { font-weight: 700; color: var(--text); }
.chart { width: 100%; height: auto; display: block; }
.chart text { fill: var(--muted); font-size: 12px; }
.chart .grid { stroke: var(--grid); stroke-width: 1; }
.chart .ok { fill: var(--ok); }
.chart .fail { fill: var(--fail); }
.chart .queue { fill: none; stroke: var(--queue); stroke-width: 2; }
.legend { display: flex; flex-wrap: wrap; gap: 1rem; list-style: none; padding: 0; margin: 0.25rem 0; font-size: 0.875rem; }
.swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; margin-right: 0.35rem; vertical-align: -0.1rem; }
.swatch.ok { background: var(--ok); }
.swatch.fail { background: var(--fail); }
.swatch.queue { background: var(--queue); height: 0.2rem; vertical-align: 0.2rem; }
details { margin: 0.5rem 0; }
summary { cursor: pointer; }
form.filters { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: 0.75rem; align-items: end; }
form.filters fieldset { display: contents; }
.field { display: flex; flex-direction: column; gap: 0.25rem; }
label { font-weight: 600; font-size: 0.925rem; }
input, select, button { font: inherit; color: inherit; }
input:not([type="checkbox"]), select {
	padding: 0.4rem 0.5rem; border: 1px solid var(--muted); border-radius: 6px; background: var(--bg); min-height: 2.5rem;
}
input[aria-invalid="true"] { border-color: var(--fail); }
button, .button {
	display: inline-block; padding: 0.45rem 0.9rem; border: 1px solid var(--muted); border-radius: 6px;
	background: var(--panel); cursor: pointer; min-height: 2.5rem; text-decoration: none; color: var(--text);
}
button.primary { background: var(--link); border-color: var(--link); color: var(--bg); font-weight: 600; }
button.danger { border-color: var(--fail); color: var(--fail-text); background: var(--fail-bg); font-weight: 600; }
button.link { background: none; border: none; padding: 0; min-height: 0; color: var(--link); text-decoration: underline; }
.actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 1rem 0; }
.actions form { margin: 0; }
.notice { border-left: 4px solid var(--ok); background: var(--ok-bg); color: var(--ok-text); padding: 0.5rem 0.75rem; }
.alert { border-left: 4px solid var(--fail); background: var(--fail-bg); color: var(--fail-text); padding: 0.5rem 0.75rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
ol.timeline { list-style: none; padding: 0; border-left: 2px solid var(--border); margin-left: 0.4rem; }
ol.timeline li { position: relative; padding: 0 0 0.75rem 1rem; }
ol.timeline li::before {
	content: ""; position: absolute; left: -0.4rem; top: 0.45rem; width: 0.7rem; height: 0.7rem;
	border-radius: 50%; background: var(--muted);
}
ol.timeline li.fail::before { background: var(--fail); }
ol.timeline li.ok::before { background: var(--ok); }
ol.timeline .what { font-weight: 600; }
pre { background: var(--panel); border: 1px solid var(--border); border-radius: 6px; padding: 0.75rem; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.login { max-width: 26rem; margin: 3rem auto; }
.login form { display: flex; flex-direction: column; gap: 0.75rem; }
.pager { display: flex; gap: 1rem; margin: 1rem 0; }
@media (max-width: 40rem) {
	main { padding: 0.75rem; }
	th, td { padding: 0.35rem 0.4rem; }
	.hide-narrow { display: none; }
	dl.facts { grid-template-columns: 1fr; }
	dl.facts dd { margin-bottom: 0.4rem; }
	/* The charts shrink to half size; their labels should not. */
	.chart text { font-size: 24px; }
}
`;
