#!/usr/bin/env bash
# The main job (README): generate a year of a shop with 100,000 customers, ingest it into a durable engine,
# then show statistics, one customer's history, an erasure, and a verification of the whole log.
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
