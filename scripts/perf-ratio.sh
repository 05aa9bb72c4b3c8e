#!/usr/bin/env bash
# Runs one benchmark of a release benchmark binary under perf and prints the share of samples whose call stack holds
# a function matching NUMERATOR, the share matching DENOMINATOR, and their ratio. With a part of the work that a
# change does not touch as the denominator (decoding, for a change to a fold), the ratio leaves out most of how fast
# this shared machine is that minute, which moved wall figures of one binary by a third within minutes
# (docs/benchmark-history.md, twenty-eighth session). Alternate the builds and compare the ratios.
#
#   scripts/perf-ratio.sh BINARY BENCHMARK NUMERATOR [DENOMINATOR]
#
# BENCHMARK is the benchmark's name (a regular expression, as `--filter` takes it); NUMERATOR and DENOMINATOR are
# extended regular expressions over mangled symbol names. DENOMINATOR defaults to the engine's decoding of a record.
# Example, the customer projection's rebuild loop against decoding:
#
#   scripts/perf-ratio.sh Benchmarks/.build/release/CRMEngineBenchmarks \
#       projections-rebuild-profiles-segments-rfm-10M-events-1-cores 'ReadsAheadPAAE5apply.*CustomerProfilesO_Tg5'
#
# Needs perf, with call graphs by frame pointer (Swift keeps them on Linux). The benchmark's data directory is the
# benchmark's own (under TMPDIR); the binary's libraries must be found (LD_LIBRARY_PATH for the benchmark package's
# malloc interposer).
set -euo pipefail

if [ $# -lt 3 ]; then
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
binary=$1
benchmark=$2
numerator=$3
denominator=${4:-'CRMEngineC6decode_6access6detailAA06StoredA0V0A3Log10RecordView'}
data=$(mktemp --suffix=.perf.data)
trap 'rm -f "$data"' EXIT

perf record -q -F 200 -g -o "$data" "$binary" --filter "$benchmark" > /dev/null 2>&1
# A sample is a header line and then one frame per line, up to a blank line; a sample counts once for each side
# whatever the number of its frames that match.
perf script -i "$data" 2> /dev/null | awk -v numerator="$numerator" -v denominator="$denominator" '
    function close_sample() {
        if (open) { samples++; top += in_top; bottom += in_bottom }
        open = 0; in_top = 0; in_bottom = 0
    }
    /^[^ \t]/ { close_sample(); open = 1; next }
    /^[ \t]*$/ { close_sample(); next }
    {
        if ($2 ~ numerator) in_top = 1
        if ($2 ~ denominator) in_bottom = 1
    }
    END {
        close_sample()
        if (samples == 0 || bottom == 0) { print "no samples, or none in the denominator"; exit 1 }
        printf "samples %d  numerator %.2f %%  denominator %.2f %%  ratio %.3f\n",
            samples, 100 * top / samples, 100 * bottom / samples, top / bottom
    }'
