// The dashboard's only script, served from the Worker so the CSP can stay at
// script-src 'self'. Pages work without it; with it, a page that has an
// #auto-refresh toggle reloads its #live region every few seconds. The choice
// is remembered in localStorage; refreshing pauses while the tab is hidden or
// while focus is inside the region, so a keyboard user never loses their place.
export const script = `"use strict";
(function () {
	var toggle = document.getElementById("auto-refresh");
	var live = document.getElementById("live");
	var stamp = document.getElementById("refreshed");
	if (!toggle || !live) return;
	var key = "edge-tasks:auto-refresh";
	var interval = Number(toggle.getAttribute("data-interval") || "5") * 1000;
	var timer = 0;
	var box = toggle.closest("[hidden]");
	if (box) box.removeAttribute("hidden");
	try { toggle.checked = localStorage.getItem(key) !== "off"; } catch (e) { toggle.checked = true; }

	function schedule() {
		clearTimeout(timer);
		if (toggle.checked && !document.hidden) timer = setTimeout(refresh, interval);
	}

	function refresh() {
		if (live.contains(document.activeElement)) return schedule();
		fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
			.then(function (res) {
				if (res.redirected && new URL(res.url).pathname === "/dashboard/login") {
					location.assign(res.url);
					return null;
				}
				return res.ok ? res.text() : null;
			})
			.then(function (html) {
				if (!html) return;
				var next = new DOMParser().parseFromString(html, "text/html").getElementById("live");
				if (next) live.replaceChildren.apply(live, Array.prototype.slice.call(next.childNodes));
				if (stamp) stamp.textContent = "Updated " + new Date().toLocaleTimeString();
			})
			.catch(function () {})
			.then(schedule);
	}

	toggle.addEventListener("change", function () {
		try { localStorage.setItem(key, toggle.checked ? "on" : "off"); } catch (e) {}
		schedule();
	});
	document.addEventListener("visibilitychange", schedule);
	schedule();
})();
`;
