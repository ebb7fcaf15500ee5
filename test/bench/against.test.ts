// `npm run bench -- --against <run>`: a Flask + Celery run read as bench.sh
// writes it, and each side-by-side row judged against its goal, or against
// the bare floor of the same run that bounds it locally.
import { describe, expect, it } from "vitest";
import { type EdgeFigures, parseCeleryRun, sideBySide } from "../../bench/against";

const results = `wrk_send_email_rps=1200.5
wrk_send_email_p50_ms=26.1
wrk_send_email_p99_ms=31.0
wrk_process_user_rps=1300
wrk_process_user_p99_ms=36.0
drain_users_tasks_per_s=400
drain_email_emails_per_s=500
roundtrip_process_user_median_ms=8.0
`;
const summary = `================ celery-anchor benchmark summary ================
stack: Flask 2.2.2-3, Celery 5.2.6-5, kombu 5.2.4-1, redis-server 5:7.0.15-1~deb12u10,
       gunicorn 20.1.0-6+deb12u1 (-w 4 sync), celery worker --concurrency=4 (prefork), SQLite file (journal_mode=delete)
`;
const celery = parseCeleryRun("20261201-040000", results, summary);

const edge = (over: Partial<EdgeFigures> = {}): EdgeFigures => ({
	sendEmail: { rps: 1600, p99: 30 },
	processUser: { rps: 1700, p99: 35 },
	drainUsers: 1000,
	drainEmails: 600,
	roundTripMs: 7,
	floor: {
		sendEmail: { rps: 1000, p99: 40 },
		processUser: { rps: 1400, p99: 38 },
		drainUsers: 1100,
		drainEmails: 520,
		roundTripMs: 9,
	},
	...over,
});
const goals = (rows: string[][]) => rows.slice(1).map((row) => row[4]);

describe("the Celery run", () => {
	it("is read from results.env, with the stack's versions from summary.txt", () => {
		expect(celery).toEqual({
			run: "20261201-040000",
			stack: expect.stringMatching(/^Flask 2\.2\.2-3, Celery 5\.2\.6-5, .* gunicorn 20\.1\.0/),
			sendEmail: { rps: 1200.5, p99: 31 },
			processUser: { rps: 1300, p99: 36 },
			drainUsers: 400,
			drainEmails: 500,
			roundTripMs: 8,
		});
	});

	it("names the figure it lacks", () => {
		expect(() => parseCeleryRun("partial", "wrk_send_email_rps=1200\n")).toThrow(/wrk_send_email_p99_ms/);
	});
});

describe("the side-by-side rows", () => {
	it("meet their goals when every ratio does", () => {
		const rows = sideBySide(edge(), celery);
		expect(rows[1]).toEqual([
			"enqueue POST /send-email",
			"1600 req/s, p99 30 ms",
			"1200.5 req/s, p99 31 ms",
			"1.33x, p99 0.97x",
			expect.stringMatching(/^met/),
		]);
		expect(goals(rows).every((goal) => goal?.startsWith("met"))).toBe(true);
	});

	it("miss a goal on a slower p99 even at the rate, and say how near the bare floor the row came on each measure", () => {
		// The floor misses the goal too, and the row is within 90% of it on rate and p99.
		const rows = sideBySide(edge({ processUser: { rps: 1300, p99: 40 } }), celery);
		expect(rows[2]?.[4]).toBe("MISSED >= 1.25x, p99 <= Celery's; bounded: 92%, 95% of the bare floor (1400 req/s, p99 38 ms)");
		// 90% of the floor's rate, but its p99 half again the floor's: not bounded.
		const slow = sideBySide(edge({ processUser: { rps: 1300, p99: 57 } }), celery);
		expect(slow[2]?.[4]).toBe(
			"MISSED >= 1.25x, p99 <= Celery's; the bare floor misses it too: 92%, 66% of the bare floor (1400 req/s, p99 38 ms)",
		);
	});

	it("are not bounded where the bare floor meets the goal, however near the row comes", () => {
		const floor = { ...edge().floor, drainEmails: 640 };
		const rows = sideBySide(edge({ drainEmails: 590, floor }), celery);
		expect(rows[4]?.[4]).toBe("MISSED >= 1.2x; the bare floor meets it: 92% of the bare floor (640/s)");
	});

	it("call a row bounded only at 90% of the floor or more", () => {
		const rows = sideBySide(edge({ drainEmails: 460 }), celery);
		expect(rows[4]?.[4]).toBe("MISSED >= 1.2x; the bare floor misses it too: 88% of the bare floor (520/s)");
		expect(sideBySide(edge({ drainEmails: 470 }), celery)[4]?.[4]).toBe("MISSED >= 1.2x; bounded: 90% of the bare floor (520/s)");
		// 466/520 is 89.6%: shown as 89%, never as a 90% that is not bounded.
		expect(sideBySide(edge({ drainEmails: 466 }), celery)[4]?.[4]).toBe(
			"MISSED >= 1.2x; the bare floor misses it too: 89% of the bare floor (520/s)",
		);
	});

	it("judge the round trip by its median against Celery's", () => {
		expect(sideBySide(edge({ roundTripMs: 9 }), celery)[5]).toEqual([
			"round trip, median",
			"9 ms",
			"8 ms",
			"1.13x",
			"MISSED <= Celery's; bounded: 100% of the bare floor (9 ms)",
		]);
		const floor = { ...edge().floor, roundTripMs: 7.5 };
		expect(sideBySide(edge({ roundTripMs: 10, floor }), celery)[5]?.[4]).toBe(
			"MISSED <= Celery's; the bare floor meets it: 75% of the bare floor (7.5 ms)",
		);
	});
});
