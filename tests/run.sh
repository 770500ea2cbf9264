#!/bin/sh
# tests/run.sh: run every Warren test that has been built and print one
# summary. `make test` calls it after building build/ and build-san/.
#
#   sh tests/run.sh                    everything
#   TESTS=unit sh tests/run.sh         cmocka binaries only (build/ and build-san/)
#   TESTS=cluster sh tests/run.sh      node:test cluster tests only
#   TESTS=unit,cluster                 a comma-separated list; parts: unit, plain
#                                      (build/ only), san (build-san/ only), cluster,
#                                      browser
#   CLUSTER_FILTER=failover            only cluster test files whose name contains it
#   BROWSER_FILTER=arena               the same for tests/browser/
#   WARREN_BIN=build-san/warren        run the cluster tests on the ASan build
#   UNIT_TIMEOUT=300 CLUSTER_TIMEOUT=1800  seconds before a hung part is killed
#
# Parts:
#   - every build/tests/test_* and build-san/tests/test_* binary (cmocka):
#     its "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)" lines are
#     added up; a binary that crashes, hangs or exits non-zero without a
#     failure in its summary counts as 1 failed test more;
#   - `node --test --test-concurrency=1` over tests/cluster/ (serial: the
#     cluster tests start real processes on a 2-core machine), then the same
#     over tests/browser/ (Chromium through playwright-core); each run's
#     "# pass N" / "# fail N" (and "# cancelled N", as failed) are counted.
# The last line printed is "N passed, N failed"; the exit status is non-zero
# if anything failed.

set -u
cd "$(dirname "$0")/.." || exit 2

TESTS=${TESTS:-all}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
CLUSTER_TIMEOUT=${CLUSTER_TIMEOUT:-1800}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/warren-run.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

TOTAL_PASS=0
TOTAL_FAIL=0
SUMMARY=""
FAILED_NAMES=""

for t in $(echo "$TESTS" | tr ',' ' '); do
    case "$t" in
        all | unit | plain | san | cluster | browser) ;;
        *)
            echo "tests/run.sh: unknown part '$t' in TESTS (use all, unit, plain, san, cluster, browser)" >&2
            exit 2
            ;;
    esac
done

want() {
    case ",$TESTS," in
        *,all,*) return 0 ;;
        *,"$1",*) return 0 ;;
    esac
    return 1
}

add_summary() {
    # $1 part name, $2 passed, $3 failed, $4 note
    SUMMARY="$SUMMARY$(printf '  %-22s %5s passed, %5s failed%s' "$1" "$2" "$3" "${4:+  ($4)}")
"
    TOTAL_PASS=$((TOTAL_PASS + $2))
    TOTAL_FAIL=$((TOTAL_FAIL + $3))
}

# Sum the N of every "<pattern> N" match in a file.
sum_matches() {
    # $1 file, $2 extended regex whose first run of digits is N
    grep -oE "$2" "$1" 2>/dev/null | grep -oE '[0-9]+' | awk '{ s += $1 } END { print s + 0 }'
}

have_timeout=0
command -v timeout >/dev/null 2>&1 && have_timeout=1

with_timeout() {
    # $1 seconds, then the command
    secs=$1
    shift
    if [ "$have_timeout" = 1 ]; then
        timeout -k 10 "$secs" "$@"
    else
        "$@"
    fi
}

run_unit_dir() {
    # $1 build dir, $2 part name
    dir=$1/tests
    part=$2
    p_pass=0
    p_fail=0
    nbin=0
    notes=""
    if [ ! -d "$dir" ]; then
        echo "== $part: no $dir (not built); skipped"
        add_summary "$part" 0 0 "not built"
        return
    fi
    for bin in "$dir"/test_*; do
        if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
        case "$bin" in *.d | *.o | *.c) continue ;; esac
        nbin=$((nbin + 1))
        name=$(basename "$bin")
        echo "== $part: $name"
        out="$TMP/unit.out"
        # No stdbuf here: its LD_PRELOAD breaks ASan's "runtime first" check.
        # The summary lines come from stderr (unbuffered) and are matched
        # anywhere in a line, so stdout buffering cannot hide them.
        CMOCKA_MESSAGE_OUTPUT=STDOUT with_timeout "$UNIT_TIMEOUT" "$bin" >"$out" 2>&1
        rc=$?
        cat "$out"
        np=$(sum_matches "$out" '\[  PASSED  \] [0-9]+ test\(s\)')
        nf=$(sum_matches "$out" '\[  FAILED  \] [0-9]+ test\(s\)')
        if ! grep -qE '\[  (PASSED|FAILED)  \] [0-9]+ test\(s\)' "$out"; then
            echo "== $part: $name exited with status $rc without a cmocka summary: counted as 1 failed"
            notes="$notes $name:no-summary(rc=$rc)"
            np=0
            nf=1
        elif [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
            echo "== $part: $name exited with status $rc after its summary (crash, sanitizer or leak report?): counted as 1 failed"
            notes="$notes $name:rc=$rc"
            nf=1
        fi
        [ "$rc" -eq 124 ] && notes="$notes $name:timeout"
        p_pass=$((p_pass + np))
        p_fail=$((p_fail + nf))
    done
    if [ "$nbin" -eq 0 ]; then
        echo "== $part: no test binaries in $dir"
        notes="no binaries"
    fi
    add_summary "$part" "$p_pass" "$p_fail" "$(echo "$notes" | sed 's/^ //')"
}

run_node_part() {
    # $1 part name, $2 directory of *.test.mjs files, $3 file name filter
    part=$1
    tdir=$2
    filter=$3
    if ! command -v node >/dev/null 2>&1; then
        echo "== $part: node is not installed: counted as 1 failed"
        add_summary "$part" 0 1 "no node"
        return
    fi
    if [ ! -d node_modules/ws ] || [ ! -d node_modules/playwright-core ]; then
        echo "== $part: node_modules is incomplete (run: npm ci)"
    fi
    files=""
    for f in "$tdir"/*.test.mjs; do
        [ -f "$f" ] || continue
        case "$f" in *"$filter"*) files="$files $f" ;; esac
    done
    if [ -z "$files" ]; then
        echo "== $part: no test files in $tdir matching \"$filter\""
        add_summary "$part" 0 0 "no files"
        return
    fi
    bin=${WARREN_BIN:-build/warren}
    echo "== $part: node --test --test-concurrency=1 (WARREN_BIN=$bin):$files"
    tap="$TMP/$part.tap"
    # shellcheck disable=SC2086
    with_timeout "$CLUSTER_TIMEOUT" node --test --test-concurrency=1 \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tap" $files
    rc=$?
    np=$(sum_matches "$tap" '^# pass [0-9]+')
    nf=$(sum_matches "$tap" '^# fail [0-9]+')
    nc=$(sum_matches "$tap" '^# cancelled [0-9]+')
    nf=$((nf + nc))
    note=""
    [ "$nc" -gt 0 ] && note="$nc cancelled (timeout?)"
    if ! grep -qE '^# pass [0-9]+' "$tap" 2>/dev/null; then
        note="node exited $rc without a summary"
        nf=$((nf + 1))
    elif [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
        note="node exited $rc with no failed test"
        nf=1
    fi
    add_summary "$part" "$np" "$nf" "$note"
    # Name what failed, for the summary: CI keeps only the tail of the log.
    # node:test's TAP nests subtests; a failed file shows as "not ok N - path".
    names=$(grep -E '^ *not ok [0-9]+ - ' "$tap" 2>/dev/null | sed "s/^ */  $part: /")
    [ -n "$names" ] && FAILED_NAMES="$FAILED_NAMES$names
"
}

want unit || want plain && run_unit_dir build "unit (build)"
want unit || want san && run_unit_dir build-san "unit (build-san)"
want cluster && run_node_part cluster tests/cluster "${CLUSTER_FILTER:-}"
want browser && run_node_part browser tests/browser "${BROWSER_FILTER:-}"

echo
echo "== summary"
printf '%s' "$SUMMARY"
if [ -n "$FAILED_NAMES" ]; then
    echo "failed:"
    printf '%s' "$FAILED_NAMES"
fi
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" -eq 0 ]
