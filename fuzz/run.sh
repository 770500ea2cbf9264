#!/bin/sh
# Run each libFuzzer driver named on the command line for FUZZ_SECONDS and
# print one result line per driver; exit 1 if any of them found a crash
# (or a leak, timeout or OOM). Called by `make fuzz`; see fuzz/README.md.
# The last line counts each driver as one test, "N passed, N failed", the
# form tests/run.sh ends with, so .ci/run can add the two up.
#
# New corpus units go to $FUZZ_BUILD/corpus/<name> (the checked-in seeds in
# fuzz/corpus/<name> are only read); crash inputs to $FUZZ_BUILD/crashes/,
# full logs to $FUZZ_BUILD/logs/<name>.log. FUZZ_ARGS adds libFuzzer flags.
set -u

SECS=${FUZZ_SECONDS:-30}
B=${FUZZ_BUILD:-build-fuzz}
mkdir -p "$B/crashes" "$B/logs" "$B/tmp"
rm -rf "$B"/tmp/wr-fuzz-http-*
# fuzz_http's static-file root goes here; a crashed run cannot remove it.
TMPDIR=$(cd "$B/tmp" && pwd)
export TMPDIR
failed=""
summary=""
npass=0
nfail=0

for name in "$@"; do
    bin="$B/fuzz_$name"
    log="$B/logs/$name.log"
    mkdir -p "$B/corpus/$name"
    set -- -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$B/crashes/$name-"
    [ -f "fuzz/$name.dict" ] && set -- "$@" -dict="fuzz/$name.dict"
    [ -f "fuzz/$name.options" ] && set -- "$@" $(cat "fuzz/$name.options")
    echo "fuzz: $name for ${SECS}s ($bin)"
    # shellcheck disable=SC2086
    "$bin" "$@" ${FUZZ_ARGS:-} "$B/corpus/$name" "fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
    if [ "$rc" -eq 0 ]; then
        status=ok
        npass=$((npass + 1))
    else
        nfail=$((nfail + 1))
        status="FAILED (exit $rc)"
        failed="$failed $name"
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        [ -n "$art" ] && status="$status, input: $art"
        grep -m 1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|invariant failed|Assertion' \
            "$log" | sed 's/^/    /'
    fi
    line=$(printf '%-16s %s  execs=%s (%s/s) cov=%s ft=%s corpus=%s' "$name" "$status" \
        "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")
    echo "$line"
    summary="$summary$line
"
done

echo "fuzz: results (logs in $B/logs/):"
printf '%s' "$summary"
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed (crash inputs in $B/crashes/)"
else
    echo "fuzz: all drivers ok"
fi
echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
