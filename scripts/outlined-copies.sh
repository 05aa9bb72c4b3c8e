#!/usr/bin/env bash
# Counts, function by function, the calls a release binary makes to the compiler's outlined copies and destroys of
# a value (`outlined init with copy of Event`, `outlined destroy of CustomerProfile`, ...): a copy of a struct with
# references is a retain of each of them. Given two binaries, prints only what differs, so that a change meant to
# remove a copy shows where the compiler put one back (docs/benchmark-history.md, twenty-third session).
#
#   scripts/outlined-copies.sh BINARY [TYPE]              every call site, or those of TYPE's copies only
#   scripts/outlined-copies.sh BEFORE AFTER [TYPE]        the counts that differ between two builds
#
# Needs objdump (binutils) and `swift demangle`.
set -euo pipefail

count() {
    objdump -d --no-show-raw-insn "$1" | swift demangle --simplified | awk -v type="${2:-}" '
        /^[0-9a-f]+ <.*>:$/ { function_name = $0; sub(/^[0-9a-f]+ /, "", function_name); next }
        /call.*<outlined (init with copy of|destroy of|copy of|consume of) / {
            match($0, /<outlined [^>]*>/)
            callee = substr($0, RSTART + 1, RLENGTH - 2)
            if (type == "" || callee ~ (" of " type "$")) print function_name " :: " callee
        }' | sort | uniq -c
}

if [ $# -ge 2 ] && [ -f "$2" ]; then
    diff <(count "$1" "${3:-}") <(count "$2" "${3:-}") || true
else
    count "$1" "${2:-}"
fi
