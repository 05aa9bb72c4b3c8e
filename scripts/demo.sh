#!/usr/bin/env bash
# The main job (README): generate a year of a shop with 100,000 customers, ingest it into a durable engine,
# then show statistics, one customer's history, an erasure, a verification of the whole log, and the projections
# rebuilt from it: profiles, segments (5 generated definitions and 6 from scripts/segments.json) and RFM groups,
# then attribution by every model side by side, the top campaigns, sales by channel and the support summary.
set -euo pipefail
crm="$1"
customers="${CUSTOMERS:-100000}"
data="demo-data"
rm -rf "$data"
mkdir -p "$data"
export CRM_LOG="$data/engine"

step() { printf '\n== %s\n' "$*"; }

step "crm generate --customers $customers --seed 42 $data/events.ndjson"
"$crm" generate --customers "$customers" --seed 42 "$data/events.ndjson"
ls -lh "$data/events.ndjson" | awk '{print "   " $5 " of NDJSON"}'

# Defined before the data arrives, at the start of the simulated year, so that their history covers it.
step "crm segment define --at 2024-01-01T00:00:00Z scripts/segments.json"
"$crm" segment define --at 2024-01-01T00:00:00Z "$(dirname "$0")/segments.json"

step "crm ingest $data/events.ndjson   (durable: group commit)"
"$crm" ingest "$data/events.ndjson"

step "crm ingest $data/events.ndjson   (again: every event is a duplicate, nothing is appended)"
"$crm" ingest "$data/events.ndjson"

step "crm stats"
"$crm" stats

step "crm history c-42"
"$crm" history c-42 | cut -c1-160

step "crm forget c-42, then its registration again"
"$crm" forget c-42
"$crm" history --format ndjson c-42 | grep customer.registered || true

step "crm verify"
"$crm" verify

step "crm rebuild   (profiles, segments and RFM groups, from the whole log, on every core)"
"$crm" rebuild

# The generated year ends on 2024-12-30; the erasure above happened today, so "now" in event time is today and
# every window has emptied since. Ask about the end of the simulated year instead, as an audit would.
end="2024-12-31T00:00:00Z"
for customer in c-3 c-7; do
    step "crm profile $customer --as-of $end"
    "$crm" profile "$customer" --as-of "$end"
done

step "crm rfm --as-of $end"
"$crm" rfm --as-of "$end"

step "crm segment list --as-of $end"
"$crm" segment list --as-of "$end" | cut -c1-150

step "crm segment sizes repeat-buyers --as-of $end   (the last days)"
"$crm" segment sizes repeat-buyers --as-of "$end" | tail -5

step "crm segment history c-3"
"$crm" segment history c-3

# Attribution and the shop's analytics, from the projections `crm rebuild` saved.
step "crm attribution --compare   (conversions each model credits to each channel)"
"$crm" attribution --compare

step "crm campaigns --top 5"
"$crm" campaigns --top 5 | cut -c1-160

step "crm sales --by channel --in USD"
"$crm" sales --by channel --in USD

step "crm support --by priority"
"$crm" support --by priority
