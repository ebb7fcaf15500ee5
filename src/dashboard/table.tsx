// Table pieces the pages share: a header row from column names, and number
// cells aligned for comparison.
import { formatCount } from "./format";

export interface Column {
	label: string;
	/** Right-aligned, tabular figures. */
	num?: boolean;
	/** Left out on phone-width screens. */
	wide?: boolean;
}

const classOf = (c: Column) => [c.num && "num", c.wide && "hide-narrow"].filter(Boolean).join(" ") || undefined;

export const TableHead = ({ columns }: { columns: (string | Column)[] }) => (
	<thead>
		<tr>
			{columns.map((column) => {
				const c = typeof column === "string" ? { label: column } : column;
				return (
					<th scope="col" class={classOf(c)}>
						{c.label}
					</th>
				);
			})}
		</tr>
	</thead>
);

export const NumCell = ({ value, wide }: { value: number | string; wide?: boolean }) => (
	<td class={wide ? "num hide-narrow" : "num"}>{typeof value === "number" ? formatCount(value) : value}</td>
);
