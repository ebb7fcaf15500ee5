#!/usr/bin/env bash
# npm run db:migrate:local (and so npm run dev): applies migrations/ to the
# local D1 and prints one line per migration applied, or nothing when there is
# none, instead of wrangler's tables (about 170 lines on a fresh clone). When
# wrangler fails, its whole output is shown and the script fails with it.
# Arguments go to wrangler, e.g. --persist-to <dir>.
set -euo pipefail

# stdin from /dev/null: wrangler asks before applying when it has a terminal.
if ! out=$(wrangler d1 migrations apply DB --local "$@" < /dev/null 2>&1); then
	printf '%s\n' "$out" >&2
	exit 1
fi

# The names are in wrangler's first table, "Migrations to be applied".
applied=$(printf '%s\n' "$out" | sed -n '/Migrations to be applied/,/About to apply/s/^│ \([^ ]*\.sql\) .*/\1/p')
if [ -n "$applied" ]; then
	printf '%s\n' "$applied" | sed 's/^/local D1: applied migrations\//'
elif ! printf '%s\n' "$out" | grep -q 'No migrations to apply'; then
	# Neither a list nor "nothing to do": wrangler's wording changed, so say it all.
	printf '%s\n' "$out"
fi
