// `npm run bench -- --against <run>`: a Flask + Celery run read as bench.sh
// writes it, and each side-by-side row judged against its goal, or against
// the probe that bounds it locally.
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
	probes: { queueSend: 2000, emailSend: 560 },
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

	it("miss a goal on a slower p99 even at the rate, and say how near the probe that bounds it the row came", () => {
		const rows = sideBySide(edge({ processUser: { rps: 1850, p99: 40 } }), celery);
		expect(rows[2]?.[4]).toBe("MISSED >= 1.25x, p99 <= Celery's; bounded: 93% of one queue send (2000/s)");
		// Every email accepted is sent by the local send_email: that is what bounds POST /send-email.
		const emails = sideBySide(edge({ sendEmail: { rps: 520, p99: 40 } }), celery);
		expect(emails[1]?.[4]).toBe("MISSED >= 1.25x, p99 <= Celery's; bounded: 93% of the local send_email alone (560/s)");
	});

	it("call a row bounded only at 90% of its probe or more", () => {
		const rows = sideBySide(edge({ drainEmails: 480 }), celery);
		expect(rows[4]?.[4]).toBe("MISSED >= 1.2x; 86% of the local send_email alone (560/s)");
		expect(sideBySide(edge({ drainEmails: 510 }), celery)[4]?.[4]).toMatch(/bounded: 91%/);
	});

	it("judge the round trip by its median against Celery's", () => {
		expect(sideBySide(edge({ roundTripMs: 9 }), celery)[5]).toEqual([
			"round trip, median",
			"9 ms",
			"8 ms",
			"1.13x",
			"MISSED: <= Celery's",
		]);
	});
});
