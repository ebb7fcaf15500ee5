// The dashboard's only script, served as a static asset so the CSP can stay at
// script-src 'self'. Pages work without it; with it, a page that has an
// #auto-refresh toggle reloads its #live region every few seconds. The choice
// is remembered in localStorage; refreshing pauses while the tab is hidden or
// while focus is inside the region, so a keyboard user never loses their place.

(() => {
	const toggle = document.getElementById("auto-refresh");
	const live = document.getElementById("live");
	const stamp = document.getElementById("refreshed");
	if (!toggle || !live) return;
	const key = "edge-tasks:auto-refresh";
	const interval = Number(toggle.getAttribute("data-interval") || "5") * 1000;
	let timer = 0;
	const box = toggle.closest("[hidden]");
	if (box) box.removeAttribute("hidden");
	try {
		toggle.checked = localStorage.getItem(key) !== "off";
	} catch (_e) {
		toggle.checked = true;
	}

	function schedule() {
		clearTimeout(timer);
		if (toggle.checked && !document.hidden) timer = setTimeout(refresh, interval);
	}

	function refresh() {
		if (live.contains(document.activeElement)) return schedule();
		fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
			.then((res) => {
				if (res.redirected && new URL(res.url).pathname === "/dashboard/login") {
					location.assign(res.url);
					return null;
				}
				return res.ok ? res.text() : null;
			})
			.then((html) => {
				if (!html) return;
				const next = new DOMParser().parseFromString(html, "text/html").getElementById("live");
				if (next) live.replaceChildren(...next.childNodes);
				if (stamp) stamp.textContent = `Updated ${new Date().toLocaleTimeString()}`;
			})
			.catch(() => {})
			.then(schedule);
	}

	toggle.addEventListener("change", () => {
		try {
			localStorage.setItem(key, toggle.checked ? "on" : "off");
		} catch (_e) {}
		schedule();
	});
	document.addEventListener("visibilitychange", schedule);
	schedule();
})();
