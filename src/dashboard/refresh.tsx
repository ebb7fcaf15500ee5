// The auto-refresh switch. Hidden until app.js runs (without the script it
// could not work), then visible and remembered per browser.
export const RefreshToggle = ({ seconds = 5 }: { seconds?: number }) => (
	<p class="refresh" hidden>
		<label>
			<input type="checkbox" id="auto-refresh" data-interval={String(seconds)} /> Auto-refresh every {seconds} s
		</label>{" "}
		<span id="refreshed" class="muted" />
	</p>
);
