#!/bin/sh
# Runs one libFuzzer harness for a bounded time from a seed corpus, in a fresh
# work directory, and sums up what it did. Used by the "fuzz" CTest tests.
#
#   run-fuzzer.sh FUZZER SECONDS WORKDIR SEEDDIR [libFuzzer options...]
#
# WORKDIR is emptied first. libFuzzer writes the inputs it finds interesting
# to WORKDIR/corpus (SEEDDIR is only read), any crash, leak or timeout input
# to WORKDIR/artifacts/, and its output to WORKDIR/fuzzer.log. The exit status
# is the fuzzer's: nonzero when it found something.
set -u

if [ $# -lt 4 ]; then
    echo "usage: $0 FUZZER SECONDS WORKDIR SEEDDIR [libFuzzer options...]" >&2
    exit 2
fi
fuzzer=$1 seconds=$2 work=$3 seeds=$4
shift 4

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts" || exit 2
log=$work/fuzzer.log
name=$(basename "$fuzzer")

echo "$name: fuzzing for ${seconds}s from $seeds in $work"
"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" \
    "$work/corpus" "$seeds" >"$log" 2>&1
status=$?

# libFuzzer's last status line ("#N DONE cov: .. ft: .. corp: ..") and final stats.
grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1
grep -E '^(stat::|Done )' "$log"
units=$(find "$work/corpus" -type f | wc -l)
bytes=$(find "$work/corpus" -type f -exec cat {} + 2>/dev/null | wc -c)
echo "$name: new corpus inputs: $units files, $bytes bytes"

if [ "$status" -ne 0 ]; then
    echo "$name: FAILED with status $status; the end of $log:"
    tail -n 150 "$log"
    found=$(find "$work/artifacts" -type f)
    [ -n "$found" ] && echo "$name: reproducer(s): $found"
fi
exit "$status"
