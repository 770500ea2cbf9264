#!/bin/sh
# Warren benchmarks: start local clusters, drive them with build/bench/loadgen,
# report medians. See bench/README.md. `make bench` builds and runs this.
#
# Knobs (environment):
#   BENCH_RUNS=3          runs per benchmark; the table shows medians
#   BENCH_CLIENTS=1000    clients for (a); (b) uses twice as many
#   BENCH_DURATION=10     measured seconds per run
#   BENCH_ONLY=a,b,c,d,e,sat3,mud,idle  which benchmarks (mud: the MUD's default
#                         cases; or pick mud300, mud1000, mud1000room, mudbig,
#                         mudcombat; idle100k is not in the default set: it
#                         takes ~1.5 min per run; neither are f and g, the
#                         silent-failure and no-fault failover cases)
#   BENCH_KEEP=1          keep the temp dir (node logs) after the run
#   BENCH_WARREN=PATH     the warren binary to measure (default build/warren;
#                         e.g. an older build, for a before/after)
#   BENCH_NODE_FLAGS=...  extra flags for every node of (a) and (b), e.g.
#                         "--broadcast-hz 60"
#   BENCH_ENCODING=bin    the loadgen's update encoding in (a) and (b): bin
#                         or json
#   MUD_DURATION=10       measured seconds per MUD run
#   MUD_RATE=1            commands/s per bot
#   MUD_BOTS=N            also run the big MUD case with N bots (off by default)
#   MUD_COMBAT_BOTS=N     bots of the combat case (default 300)
#   IDLE_CONNS=100000     idle WebSockets in idle100k (capped by ulimit -Hn)
#   IDLE_SOURCES=8        loopback source addresses they come from
#   SAT_CLIENTS=60 SAT_RATE=2000 SAT_WINDOW=32   the sat3 load
#   IDLE_CLIENTS=10       idle browser-like clients of the idle case
#   IDLE_DURATION=30      measured seconds per idle run
#   FAILOVER_ROUNDS=20    kill -9s of the leader in (e)
#   SILENT_ROUNDS=10      SIGSTOPs and network cuts of the leader in (f)
#   FAILOVER_CLIENTS=N    loadgen clients during (e), (f) under load and (g)
#                         (default BENCH_CLIENTS)
#   NOFAULT_SECONDS=600   length of (g), the no-fault run counting term changes
#
# Every process this script starts is recorded and killed on exit.
# shellcheck disable=SC2154,SC2086,SC3045 # eval-assigned names; flag lists; dash has ulimit -n/-H
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
WARREN=${BENCH_WARREN:-$ROOT/build/warren}
LOADGEN=$ROOT/build/bench/loadgen
BENCHSTAT=$ROOT/build/bench/benchstat
MUDBOTS=$ROOT/build/bench/mudbots
IDLECONNS=$ROOT/build/bench/idleconns
RESULTS=$ROOT/bench/results

RUNS=${BENCH_RUNS:-3}
CLIENTS=${BENCH_CLIENTS:-1000}
DURATION=${BENCH_DURATION:-10}
ONLY=${BENCH_ONLY:-a,b,c,d,e,sat3,mud,idle}
MUD_DURATION=${MUD_DURATION:-10}
MUD_RATE=${MUD_RATE:-1}
MUD_BOTS=${MUD_BOTS:-}
IDLE_CLIENTS=${IDLE_CLIENTS:-10}
IDLE_DURATION=${IDLE_DURATION:-30}

for b in "$WARREN" "$LOADGEN" "$BENCHSTAT" "$MUDBOTS" "$IDLECONNS"; do
    [ -x "$b" ] || { echo "run.sh: $b is missing; run 'make bench'" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/warren-bench.XXXXXX")
ALLPIDS=""      # every process started, for the EXIT trap
RECORDS=$TMP/records.jsonl
: > "$RECORDS"

cleanup() {
    trap - EXIT INT TERM
    for p in $ALLPIDS; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in $ALLPIDS; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "run.sh: kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Clients need file descriptors on both sides; raise the soft limit for the
# nodes this shell starts (the loadgen raises its own).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }

now_ns() { date +%s%N; }

# sh has no local variables: every function's variables carry its prefix
# (a prefix of its own: sample() uses sa_).

# A TCP port nobody uses and that this script has not handed out. Called in
# $(...), so USED_PORTS is kept in a file, not a variable.
USED_PORTS=$TMP/ports
: > "$USED_PORTS"
free_port() {
    fp_i=0
    while [ $fp_i -lt 200 ]; do
        fp_i=$((fp_i + 1))
        fp_p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
        grep -qx "$fp_p" "$USED_PORTS" && continue
        if [ -z "$(ss -Htan "( sport = :$fp_p or dport = :$fp_p )" 2>/dev/null)" ]; then
            echo "$fp_p" >> "$USED_PORTS"
            echo "$fp_p"
            return 0
        fi
    done
    echo "run.sh: no free port" >&2
    return 1
}

# GET a URL; prints the body; fails on non-2xx. Bounded by curl's timeouts.
http_get() { curl -sf --connect-timeout 1 --max-time 3 "$1"; }

# ---- clusters ------------------------------------------------------------

# start_cluster NAME N: start N nodes (1: a single-node cluster, no --peers)
# and wait (bounded) until every /readyz answers 200. Sets CL_DIR, CL_N,
# and per node i: CL_PID_i, CL_HTTP_i.
CLUSTER_SEQ=0
start_cluster() {
    sc_name=$1 sc_n=$2
    CLUSTER_SEQ=$((CLUSTER_SEQ + 1))
    CL_DIR=$TMP/cluster$CLUSTER_SEQ-$sc_name
    CL_N=$sc_n
    mkdir -p "$CL_DIR"
    head -c 32 /dev/urandom | base64 > "$CL_DIR/cookie"
    sc_peers=""
    sc_i=1
    while [ $sc_i -le "$sc_n" ]; do
        eval "CL_RAFT_$sc_i=127.0.0.1:$(free_port)"
        eval "CL_HTTP_$sc_i=127.0.0.1:$(free_port)"
        if [ "${CL_TELNET:-0}" = 1 ]; then
            eval "CL_TELNET_$sc_i=127.0.0.1:$(free_port)"
        else
            eval "CL_TELNET_$sc_i="
        fi
        eval "sc_peers=\"\${sc_peers:+\$sc_peers,}$sc_i=\$CL_RAFT_$sc_i\""
        sc_i=$((sc_i + 1))
    done
    sc_i=1
    while [ $sc_i -le "$sc_n" ]; do
        eval "sc_raft=\$CL_RAFT_$sc_i sc_http=\$CL_HTTP_$sc_i sc_telnet=\$CL_TELNET_$sc_i"
        if [ "$sc_n" -gt 1 ]; then
            set -- --peers "$sc_peers" --cookie-file "$CL_DIR/cookie"
        else
            set --
        fi
        [ -n "$sc_telnet" ] && set -- "$@" --telnet "$sc_telnet"
        # shellcheck disable=SC2086 # CL_EXTRA is a list of flags
        "$WARREN" node --id "$sc_i" --cluster "$sc_raft" --http "$sc_http" \
            --data "$CL_DIR/d$sc_i" "$@" $CL_EXTRA > "$CL_DIR/node$sc_i.log" 2>&1 &
        eval "CL_PID_$sc_i=$!"
        ALLPIDS="$ALLPIDS $!"
        sc_i=$((sc_i + 1))
    done
    sc_deadline=$(( $(date +%s) + 30 ))
    sc_i=1
    while [ $sc_i -le "$sc_n" ]; do
        eval "sc_http=\$CL_HTTP_$sc_i sc_pid=\$CL_PID_$sc_i"
        until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$sc_http/readyz")" = 200 ]; do
            if ! kill -0 "$sc_pid" 2>/dev/null || [ "$(date +%s)" -ge "$sc_deadline" ]; then
                echo "run.sh: node $sc_i ($sc_http) never became ready; log:" >&2
                tail -n 20 "$CL_DIR/node$sc_i.log" >&2
                exit 1
            fi
            sleep 0.1
        done
        sc_i=$((sc_i + 1))
    done
}

stop_cluster() {
    st_i=1
    while [ $st_i -le "$CL_N" ]; do
        eval "st_pid=\$CL_PID_$st_i"
        kill -TERM "$st_pid" 2>/dev/null || true
        st_i=$((st_i + 1))
    done
    st_i=1
    while [ $st_i -le "$CL_N" ]; do
        eval "st_pid=\$CL_PID_$st_i"
        st_t=0
        while kill -0 "$st_pid" 2>/dev/null && [ $st_t -lt 50 ]; do
            sleep 0.1
            st_t=$((st_t + 1))
        done
        kill -KILL "$st_pid" 2>/dev/null || true
        wait "$st_pid" 2>/dev/null || true
        st_i=$((st_i + 1))
    done
}

# The leader's node id as the first answering node sees it.
leader_id() {
    li_i=1
    while [ $li_i -le "$CL_N" ]; do
        eval "li_http=\$CL_HTTP_$li_i"
        li_l=$(http_get "http://$li_http/api/cluster" 2>/dev/null |
            sed -n 's/.*"leader":\([0-9][0-9]*\).*/\1/p')
        if [ -n "$li_l" ]; then echo "$li_l"; return 0; fi
        li_i=$((li_i + 1))
    done
    return 1
}

nodes_list() {
    nl_out="" nl_i=1
    while [ $nl_i -le "$CL_N" ]; do
        eval "nl_out=\"\${nl_out:+\$nl_out,}\$CL_HTTP_$nl_i\""
        nl_i=$((nl_i + 1))
    done
    echo "$nl_out"
}

# The current cluster's telnet addresses and node pids, in node order.
telnet_list() {
    tl_out="" tl_i=1
    while [ $tl_i -le "$CL_N" ]; do
        eval "tl_out=\"\${tl_out:+\$tl_out,}\$CL_TELNET_$tl_i\""
        tl_i=$((tl_i + 1))
    done
    echo "$tl_out"
}

pids_list() {
    pl_out="" pl_i=1
    while [ $pl_i -le "$CL_N" ]; do
        eval "pl_out=\"\${pl_out:+\$pl_out,}\$CL_PID_$pl_i\""
        pl_i=$((pl_i + 1))
    done
    echo "$pl_out"
}

# ---- process sampling ----------------------------------------------------

CLK_TCK=$(getconf CLK_TCK)

# sample NAME PID -> "NAME PID ticks rss_kb" (ticks = utime + stime)
sample() {
    sa_t=$(awk '{print $14 + $15}' "/proc/$2/stat" 2>/dev/null || true)
    sa_r=$(awk '/^VmRSS:/ {print $2}' "/proc/$2/status" 2>/dev/null || true)
    echo "$1 $2 ${sa_t:-x} ${sa_r:-x}"
}

# Every node of the current cluster. (The loadgen reports its own CPU: it
# may exit right after the window, before this shell samples it.)
sample_all() {
    sm_i=1
    while [ $sm_i -le "$CL_N" ]; do
        eval "sm_pid=\$CL_PID_$sm_i"
        sample "node$sm_i" "$sm_pid"
        sm_i=$((sm_i + 1))
    done
}

# procs_json START_FILE END_FILE WALL_NS -> JSON array; also prints a line
procs_json() {
    awk -v wall="$3" -v hz="$CLK_TCK" '
        NR == FNR { t0[$1] = $3; r0[$1] = $4; next }
        {
            cpu = "null"; rss0 = (r0[$1] == "x" || r0[$1] == "") ? "null" : r0[$1]
            rss1 = ($4 == "x") ? "null" : $4
            if ($3 != "x" && t0[$1] != "x" && wall > 0)
                cpu = sprintf("%.1f", ($3 - t0[$1]) / hz / (wall / 1e9) * 100)
            printf "%s{\"name\":\"%s\",\"pid\":%s,\"cpu_pct\":%s,\"rss_start_kb\":%s,\"rss_end_kb\":%s}",
                (n++ ? "," : "["), $1, $2, cpu, rss0, rss1
        }
        END { print "]" }' "$1" "$2"
}

procs_line() {
    awk -v wall="$3" -v hz="$CLK_TCK" '
        NR == FNR { t0[$1] = $3; next }
        {
            cpu = "-"
            if ($3 != "x" && t0[$1] != "x" && wall > 0)
                cpu = sprintf("%.0f%%", ($3 - t0[$1]) / hz / (wall / 1e9) * 100)
            rss = ($4 == "x") ? "-" : sprintf("%.0fMB", $4 / 1024)
            printf "%s %s cpu %s rss %s", (n++ ? "," : "    procs:"), $1, cpu, rss
        }
        END { print "" }' "$1" "$2"
}

# wait_file FILE PID SECONDS: until FILE exists, PID exits, or time is up.
wait_file() {
    wf_end=$(( $(date +%s) + $3 ))
    while [ ! -f "$1" ]; do
        kill -0 "$2" 2>/dev/null || return 1
        [ "$(date +%s)" -lt "$wf_end" ] || return 1
        sleep 0.05
    done
}

# ---- one loadgen run -----------------------------------------------------

# run_loadgen BENCH RUN DESC [--kill-leader-after S] -- LOADGEN_ARGS...
# Starts the loadgen against the current cluster, samples CPU/RSS of every
# node and the loadgen over the measured window, optionally kill -9s the
# leader S seconds into the window, and appends a record to $RECORDS.
run_loadgen() {
    rl_bench=$1 rl_run=$2 rl_desc=$3
    shift 3
    rl_kill=""
    if [ "$1" = "--kill-leader-after" ]; then rl_kill=$2; shift 2; fi
    [ "$1" = "--" ] && shift
    rl_dir=$TMP/$rl_bench-$rl_run
    mkdir -p "$rl_dir"
    "$LOADGEN" --json "$rl_dir/result.json" --mark-dir "$rl_dir" --prefix "$rl_bench$rl_run-" \
        "$@" > "$rl_dir/loadgen.out" 2>&1 &
    rl_lg=$!
    ALLPIDS="$ALLPIDS $rl_lg"
    rl_killed=""
    rl_wall=0
    : > "$rl_dir/s0"
    : > "$rl_dir/s1"
    if wait_file "$rl_dir/start" "$rl_lg" 60; then
        rl_t0=$(now_ns)
        sample_all > "$rl_dir/s0"
        if [ -n "$rl_kill" ]; then
            sleep "$rl_kill"
            rl_lid=$(leader_id || true)
            if [ -n "$rl_lid" ]; then
                eval "rl_lpid=\$CL_PID_$rl_lid"
                kill -KILL "$rl_lpid" 2>/dev/null || true
                rl_killed=$rl_lid
                log "  kill -9 the leader, node $rl_lid (pid $rl_lpid), ${rl_kill} s into the window"
            else
                log "  no leader found to kill"
            fi
        fi
        wait_file "$rl_dir/end" "$rl_lg" $((${DURATION%.*} + 30)) || true
        rl_t1=$(now_ns)
        sample_all > "$rl_dir/s1"
        rl_wall=$((rl_t1 - rl_t0))
    fi
    rl_rc=0
    wait "$rl_lg" || rl_rc=$?
    sed 's/^/    /' "$rl_dir/loadgen.out"
    if [ -s "$rl_dir/s1" ]; then procs_line "$rl_dir/s0" "$rl_dir/s1" "$rl_wall"; fi
    [ $rl_rc -eq 0 ] || log "  loadgen exited with status $rl_rc"
    rl_result=null
    [ -s "$rl_dir/result.json" ] && rl_result=$(cat "$rl_dir/result.json")
    rl_procs="[]"
    [ -s "$rl_dir/s1" ] && rl_procs=$(procs_json "$rl_dir/s0" "$rl_dir/s1" "$rl_wall")
    printf '{"bench":"%s","desc":"%s","run":%s,"rc":%s,"killed_node":%s,"procs":%s,"result":%s}\n' \
        "$rl_bench" "$rl_desc" "$rl_run" "$rl_rc" "${rl_killed:-null}" "$rl_procs" \
        "$rl_result" >> "$RECORDS"
}

# ---- the benchmarks ------------------------------------------------------

COMMON="--duration $DURATION"
CL_EXTRA=""
log "warren bench: runs=$RUNS clients=$CLIENTS duration=${DURATION}s only=$ONLY (temp $TMP)"

# Sets a and b: N clients spread over 3 nodes, 5 moves/s each.
load_set() {
    set_name=$1
    n=$2
    desc="$n clients over 3 nodes, 5 moves/s each, window 4"
    log "($set_name) $desc"
    [ -n "${BENCH_NODE_FLAGS:-}" ] && desc="$desc; nodes $BENCH_NODE_FLAGS"
    desc="$desc; ${BENCH_ENCODING:-bin} updates"
    CL_EXTRA=${BENCH_NODE_FLAGS:-}
    start_cluster "$set_name" 3
    CL_EXTRA=""
    r=1
    while [ $r -le "$RUNS" ]; do
        run_loadgen "$set_name" $r "$desc" -- --nodes "$(nodes_list)" --clients "$n" --rate 5 \
            --encoding "${BENCH_ENCODING:-bin}" $COMMON
        r=$((r + 1))
    done
    stop_cluster
}

if want a; then load_set a "$CLIENTS"; fi
if want b; then load_set b $((CLIENTS * 2)); fi

if want c; then
    # One client may send 60 messages/s by default (docs/protocol.md); the
    # node's rate limit is raised so that 100 clients can offer more than it
    # applies, and the window (8 in flight per client) does the throttling.
    desc="1 node alone, 100 clients, 500 moves/s offered each, window 8 (ws-rate raised)"
    log "(c) $desc"
    CL_EXTRA="--ws-rate 100000 --ws-burst 100000"
    start_cluster c 1
    CL_EXTRA=""
    r=1
    while [ $r -le "$RUNS" ]; do
        run_loadgen c $r "$desc" -- --nodes "$(nodes_list)" --clients 100 --rate 500 \
            --window 8 $COMMON
        r=$((r + 1))
    done
    stop_cluster
fi

if want d; then
    log "(d) single-move latency: 1 client, 1 move in flight, 20 moves/s"
    start_cluster d 3
    lid=$(leader_id || echo 1)
    fid=1
    [ "$lid" = 1 ] && fid=2
    eval "lhttp=\$CL_HTTP_$lid fhttp=\$CL_HTTP_$fid"
    r=1
    while [ $r -le "$RUNS" ]; do
        run_loadgen d_follower $r "1 client on a follower (node $fid), window 1, 20 moves/s" -- \
            --nodes "$fhttp" --clients 1 --rate 20 --window 1 --warmup 1 $COMMON
        run_loadgen d_leader $r "1 client on the leader (node $lid), window 1, 20 moves/s" -- \
            --nodes "$lhttp" --clients 1 --rate 20 --window 1 --warmup 1 $COMMON
        r=$((r + 1))
    done
    stop_cluster
fi

# ---- failover (bench/failover.mjs): e kills, f silent failures, g no fault ----

# failover_case NAME FAULT ROUNDS CLIENTS: one bench/failover.mjs run on a
# fresh 3-node cluster at the default settings; prints its lines and keeps
# its JSON as $RESULTS/failover-NAME.json.
failover_case() {
    fc_name=$1 fc_fault=$2 fc_rounds=$3 fc_clients=$4
    log "($fc_name) $fc_fault x $fc_rounds, $fc_clients clients; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    mkdir -p "$RESULTS"
    fc_rc=0
    node "$ROOT/bench/failover.mjs" --fault "$fc_fault" --rounds "$fc_rounds" \
        --clients "$fc_clients" --duration "$NOFAULT_SECONDS" \
        --json "$RESULTS/failover-$fc_name.json" | sed 's/^/    /' || fc_rc=$?
    [ $fc_rc -eq 0 ] || log "  failover.mjs exited with status $fc_rc"
}

FAILOVER_ROUNDS=${FAILOVER_ROUNDS:-20}
SILENT_ROUNDS=${SILENT_ROUNDS:-10}
FAILOVER_CLIENTS=${FAILOVER_CLIENTS:-$CLIENTS}
NOFAULT_SECONDS=${NOFAULT_SECONDS:-600}
if want e; then failover_case e kill "$FAILOVER_ROUNDS" "$FAILOVER_CLIENTS"; fi
if want f; then
    failover_case f_stop_quiet stop "$SILENT_ROUNDS" 0
    failover_case f_stop_load stop "$SILENT_ROUNDS" "$FAILOVER_CLIENTS"
    if [ "$(id -u)" = 0 ]; then
        failover_case f_cut_quiet cut "$SILENT_ROUNDS" 0
        failover_case f_cut_load cut "$SILENT_ROUNDS" "$FAILOVER_CLIENTS"
    else
        log "(f_cut) skipped: network namespaces need root"
    fi
fi
if want g; then failover_case g none 0 "$FAILOVER_CLIENTS"; fi

# ---- scale: idle connections and saturation (issue 8) ---------------------

# median_of FILE: the median of the numbers in FILE, one a line ("-" if none).
median_of() {
    sort -n "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# record_add KEY JSON: put "KEY": JSON into the result of the last record
# (run_loadgen's), so that benchstat takes its medians with the rest.
record_add() {
    sed -i '$ s|"result":{|"result":{"'"$1"'":'"$2"',|' "$RECORDS"
}

# A JSON number field of a one-line JSON object (written without a final
# newline), on a line of its own: json_num FILE KEY.
json_num() {
    printf '%s\n' "$(sed -n 's/.*"'"$2"'":\(-\{0,1\}[0-9.e+-]*\).*/\1/p' "$1" | head -n 1)"
}

# idle100k: IDLE_CONNS (100000) idle WebSockets to the leader of a 3-node
# cluster, opened and held by build/bench/idleconns from IDLE_SOURCES
# loopback source addresses. Meanwhile the loadgen drives 10 clients x 20
# moves/s on the same node (bench `idle`); the same load before they are
# opened is the control (`idle100k_ctl`). A fresh cluster per run: memory
# freed by an earlier run would be reused. The node's connection limits are
# lifted for the bench only. Every process needs a descriptor per socket:
# when RLIMIT_NOFILE's hard limit is below that and cannot be raised (it
# takes CAP_SYS_RESOURCE), the count is capped and the log says so.
idle100k_case() {
    ic_want=${IDLE_CONNS:-100000}
    ic_n=$ic_want
    ic_soft=$(ulimit -Sn) ic_hard=$(ulimit -Hn)
    if [ "$ic_hard" != unlimited ] && [ "$ic_hard" -lt $((ic_want + 200)) ]; then
        if ! ulimit -n $((ic_want + 200)) 2>/dev/null; then
            ic_n=$((ic_hard - 200))
            log "(idle100k) RLIMIT_NOFILE's hard limit is $ic_hard and cannot be raised here" \
                "(no CAP_SYS_RESOURCE): $ic_n connections instead of $ic_want"
        fi
    elif [ "$ic_soft" != unlimited ] && [ "$ic_soft" -lt $((ic_want + 200)) ]; then
        ulimit -Sn $((ic_want + 200))
    fi
    ic_lg="--clients 10 --rate 20 --window 4 --warmup 1 $COMMON"
    ic_desc="10 clients x 20 moves/s on the leader"
    log "(idle100k) $ic_n idle WebSockets to the leader of 3 nodes; $ic_desc"
    : > "$TMP/idle-bpc" ; : > "$TMP/idle-kpc"
    ic_r=1
    while [ $ic_r -le "$RUNS" ]; do
        CL_EXTRA="--max-connections $((ic_n + 1000)) --max-connections-per-ip 0 --fd-reserve 32"
        start_cluster idle100k 3
        CL_EXTRA=""
        ic_lid=$(leader_id || echo 1)
        eval "ic_http=\$CL_HTTP_$ic_lid ic_pid=\$CL_PID_$ic_lid"
        run_loadgen idle100k_ctl $ic_r "$ic_desc, no idle connections (control)" -- \
            --nodes "$ic_http" $ic_lg
        ic_dir=$TMP/idleconns-$ic_r
        mkdir -p "$ic_dir"
        "$IDLECONNS" --node "$ic_http" --pid "$ic_pid" --conns "$ic_n" \
            --sources "${IDLE_SOURCES:-8}" --mark-dir "$ic_dir" --json "$ic_dir/idle.json" \
            --hold $((${DURATION%.*} + 120)) > "$ic_dir/idleconns.out" 2>&1 &
        ic_ipid=$!
        ALLPIDS="$ALLPIDS $ic_ipid"
        if wait_file "$ic_dir/open" "$ic_ipid" 300; then
            sed 's/^/    /' "$ic_dir/idleconns.out"
            run_loadgen idle100k $ic_r "$ic_desc, with $ic_n idle WebSockets on it" -- \
                --nodes "$ic_http" $ic_lg
        else
            log "  idleconns did not open its connections; skipping the run"
        fi
        touch "$ic_dir/release"
        wait "$ic_ipid" || true
        sed 's/^/    /' "$ic_dir/idleconns.out" | tail -n 1
        if [ -s "$ic_dir/idle.json" ]; then
            record_add idle100k "$(cat "$ic_dir/idle.json")"
            json_num "$ic_dir/idle.json" bytes_per_conn >> "$TMP/idle-bpc"
            json_num "$ic_dir/idle.json" kernel_slab_bytes_per_conn_both_ends >> "$TMP/idle-kpc"
        fi
        stop_cluster
        ic_r=$((ic_r + 1))
    done
    [ "$ic_soft" = unlimited ] || ulimit -Sn "$ic_soft" 2>/dev/null || true
    log "(idle100k) $ic_n connections: node memory per idle connection (RSS, median)" \
        "$(median_of "$TMP/idle-bpc") bytes; kernel socket slabs, both ends," \
        "$(median_of "$TMP/idle-kpc") bytes; move latency in the table (idle100k vs idle100k_ctl)"
}

# The leader's counters: "ns commands_applied commit_index".
leader_counts() {
    lc_m=$(http_get "http://$1/metrics" 2>/dev/null || true)
    printf '%s %s %s\n' "$(now_ns)" \
        "$(echo "$lc_m" | awk '/^warren_commands_applied_total/ { print $2 }')" \
        "$(echo "$lc_m" | awk '/^warren_raft_commit_index/ { print $2 }')"
}

# In the background: the leader's counters when the loadgen's window starts
# and ends (its mark files in DIR), bounded by 90 s of waiting each.
counts_sampler() {
    cs_i=0
    while [ ! -f "$1/start" ] && [ $cs_i -lt 1800 ]; do sleep 0.05; cs_i=$((cs_i + 1)); done
    leader_counts "$2" > "$1/counts0"
    cs_i=0
    while [ ! -f "$1/end" ] && [ $cs_i -lt 1800 ]; do sleep 0.05; cs_i=$((cs_i + 1)); done
    leader_counts "$2" > "$1/counts1"
}

# sat3: saturation of a 3-node cluster. SAT_CLIENTS (60) clients offer
# SAT_RATE (2000) moves/s each, at most SAT_WINDOW (32) in flight, so each
# sends as fast as its moves are acknowledged; the per-client rate limit is
# raised for the bench as in (c). Committed commands/s and entries/s come
# from the leader's /metrics (commands applied, commit index) at the start
# and end of the measured window; CPU per node from /proc.
sat_case() {
    sat_clients=${SAT_CLIENTS:-60} sat_rate=${SAT_RATE:-2000} sat_window=${SAT_WINDOW:-32}
    sat_desc="$sat_clients clients over 3 nodes, $sat_rate moves/s offered each, window $sat_window (ws-rate raised)"
    log "(sat3) $sat_desc"
    : > "$TMP/sat-cps" ; : > "$TMP/sat-eps"
    CL_EXTRA="--ws-rate 100000 --ws-burst 100000"
    start_cluster sat3 3
    CL_EXTRA=""
    sat_lid=$(leader_id || echo 1)
    eval "sat_http=\$CL_HTTP_$sat_lid"
    sat_r=1
    while [ $sat_r -le "$RUNS" ]; do
        sat_dir=$TMP/sat3-$sat_r
        mkdir -p "$sat_dir"
        counts_sampler "$sat_dir" "$sat_http" &
        sat_spid=$!
        run_loadgen sat3 $sat_r "$sat_desc" -- --nodes "$(nodes_list)" --clients "$sat_clients" \
            --rate "$sat_rate" --window "$sat_window" $COMMON
        wait "$sat_spid" || true
        sat_c=$(awk 'NR == FNR { t = $1; c = $2; e = $3; next }
            $2 != "" && c != "" && $1 > t {
                s = ($1 - t) / 1e9
                printf "{\"leader\":%d,\"seconds\":%.3f,\"commands_per_s\":%.0f,\"entries_per_s\":%.0f,\"commands_per_entry\":%.1f}",
                    '"$sat_lid"', s, ($2 - c) / s, ($3 - e) / s, ($3 > e) ? ($2 - c) / ($3 - e) : 0 }' \
            "$sat_dir/counts0" "$sat_dir/counts1" 2>/dev/null || true)
        if [ -n "$sat_c" ]; then
            record_add committed "$sat_c"
            echo "$sat_c" > "$sat_dir/committed.json"
            json_num "$sat_dir/committed.json" commands_per_s >> "$TMP/sat-cps"
            json_num "$sat_dir/committed.json" entries_per_s >> "$TMP/sat-eps"
            log "  committed (leader node $sat_lid): $sat_c"
        fi
        sat_r=$((sat_r + 1))
    done
    stop_cluster
    log "(sat3) committed commands/s (median) $(median_of "$TMP/sat-cps"), entries/s" \
        "$(median_of "$TMP/sat-eps"); CPU per node in the table"
}

if want idle100k; then idle100k_case; fi
if want sat3; then sat_case; fi

# ---- the MUD: telnet bots (build/bench/mudbots) ----------------------------

# run_mudbots BENCH RUN DESC -- MUDBOTS_ARGS...: one mudbots run against the
# current cluster. mudbots samples the nodes' CPU and RSS itself (--pids),
# so the record's procs stay empty.
run_mudbots() {
    rm_bench=$1 rm_run=$2 rm_desc=$3
    shift 3
    [ "$1" = "--" ] && shift
    rm_dir=$TMP/$rm_bench-$rm_run
    mkdir -p "$rm_dir"
    "$MUDBOTS" --json "$rm_dir/result.json" --mark-dir "$rm_dir" --nodes "$(telnet_list)" \
        --pids "$(pids_list)" "$@" > "$rm_dir/mudbots.out" 2>&1 &
    rm_pid=$!
    ALLPIDS="$ALLPIDS $rm_pid"
    rm_rc=0
    wait "$rm_pid" || rm_rc=$?
    sed 's/^/    /' "$rm_dir/mudbots.out"
    [ $rm_rc -eq 0 ] || log "  mudbots exited with status $rm_rc"
    rm_result=null
    [ -s "$rm_dir/result.json" ] && rm_result=$(cat "$rm_dir/result.json")
    printf '{"bench":"%s","desc":"%s","run":%s,"rc":%s,"killed_node":null,"procs":[],"result":%s}\n' \
        "$rm_bench" "$rm_desc" "$rm_run" "$rm_rc" "$rm_result" >> "$RECORDS"
}

# Password hashing (argon2id) runs on a worker thread of the node and is
# meant to be slow; at the production cost, logging in 1000 bots would
# measure argon2 and little else. The node is started with the cheapest
# parameters when it has the flags (say so in the results: login times are
# NOT those of production). MUD_PWHASH_OPS / MUD_PWHASH_MEM override.
mud_node_flags() {
    mf_help=$("$WARREN" node --help 2>&1 || true)
    mf_out=""
    case $mf_help in *--mud-pwhash-ops*) mf_out="--mud-pwhash-ops ${MUD_PWHASH_OPS:-1}" ;; esac
    case $mf_help in *--mud-pwhash-mem*) mf_out="$mf_out --mud-pwhash-mem ${MUD_PWHASH_MEM:-8192}" ;; esac
    echo "$mf_out"
}

# Wait (bounded) until every node of the cluster has the world: the leader
# loads world/ through the log after its election, and a bot that logs in
# before would be told to wait. A node without /api/mud (no MUD) is not
# waited for.
mud_wait_world() {
    mw_deadline=$(( $(date +%s) + 30 ))
    mw_i=1
    while [ $mw_i -le "$CL_N" ]; do
        eval "mw_http=\$CL_HTTP_$mw_i"
        until http_get "http://$mw_http/api/mud" 2>/dev/null | grep -q '"world": *{'; do
            if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$mw_http/api/mud")" = 404 ]; then
                break
            fi
            if [ "$(date +%s)" -ge "$mw_deadline" ]; then
                log "  node $mw_i has no world after 30 s; running anyway"
                return 0
            fi
            sleep 0.1
        done
        mw_i=$((mw_i + 1))
    done
}

# mud_case NAME LETTER BOTS MODE [RAMP [NODE_FLAGS [BOT_FLAGS]]]: RUNS runs, each on a fresh 3-node
# cluster with telnet (so memory per character is measured on a fresh
# process and no character of an earlier run is left in the world). Names
# are M<LETTER><run letter><index letters>: unique per run. A run whose
# mudbots fails (most bots got no reply: its error line says what they saw)
# fails the case, and the script exits 1 at the end (MUD_FAILED).
MUD_FAILED=""
mud_case() {
    mc_name=$1 mc_letter=$2 mc_bots=$3 mc_mode=$4 mc_ramp=${5:-5} mc_more=${6:-} mc_bot_more=${7:-}
    mc_desc="$mc_bots bots over 3 nodes, $mc_mode, $MUD_RATE cmds/s each, ramp ${mc_ramp} s"
    [ "$mc_mode" = combat ] || mc_desc="$mc_desc (look:move:say 1:1:1)"
    mc_flags="$(mud_node_flags) $mc_more"
    log "($mc_name) $mc_desc; node flags: ${mc_flags:-none}"
    mc_r=1
    mc_failed=0
    for mc_rl in a b c d e f g h i j k l m n o p q r s t u v w x y z; do
        [ $mc_r -le "$RUNS" ] || break
        CL_TELNET=1
        CL_EXTRA=$mc_flags
        start_cluster "$mc_name" 3
        CL_TELNET=0
        CL_EXTRA=""
        mud_wait_world
        run_mudbots "$mc_name" $mc_r "$mc_desc" -- --bots "$mc_bots" --mode "$mc_mode" \
            --rate "$MUD_RATE" --duration "$MUD_DURATION" --ramp "$mc_ramp" \
            --prefix "M$mc_letter$mc_rl" $mc_bot_more
        [ "$rm_rc" -eq 0 ] || mc_failed=$((mc_failed + 1))
        stop_cluster
        mc_r=$((mc_r + 1))
    done
    if [ $mc_failed -gt 0 ]; then
        log "($mc_name) FAILED: $mc_failed of $RUNS runs (see mudbots' error line above)"
        MUD_FAILED="${MUD_FAILED:+$MUD_FAILED }$mc_name"
    fi
}

if want mud || want mud300; then mud_case mud300 a 300 spread 3; fi
if want mud || want mud1000; then mud_case mud1000 b 1000 spread 5; fi
if want mud || want mud1000room; then mud_case mud1000room c 1000 one-room 5; fi
if [ -n "$MUD_BOTS" ] && { want mud || want mudbig; }; then
    # Logins cost the nodes a few ms each: ramp at about 150 a second. The
    # sample world's 48 rooms would hold ~200 players each at 10,000: the
    # big case runs in a generated grid of 1200 rooms (bench/gen-world.sh),
    # and bots walk 30 rooms from the start before the run.
    sh "$ROOT/bench/gen-world.sh" "$TMP/gridworld" 3 20
    mud_case mudbig d "$MUD_BOTS" spread $((MUD_BOTS / 150 > 20 ? MUD_BOTS / 150 : 20)) \
        "--mud-world $TMP/gridworld" "--disperse 30"
fi
if want mud || want mudcombat; then
    # Combat: bots fight training dummies (which never hit back) in three
    # zones, so each zone owner runs rounds for its share of the fights.
    # Each bot walks 20 random steps first, so the fights spread over the
    # three zones (and their owners) rather than crowding the start room.
    sh "$ROOT/bench/gen-world.sh" "$TMP/combatworld" 3 5 combat
    mud_case mudcombat e "${MUD_COMBAT_BOTS:-300}" combat 3 "--mud-world $TMP/combatworld" "--disperse 20"
fi

# ---- idle: what a cluster costs with nothing to do -------------------------

# idle_case: RUNS runs, each on a fresh 3-node cluster (the default MUD world
# loaded, as `warren node` does) with IDLE_CLIENTS idle browser-like clients
# (bench/idle-clients.mjs: joined to the arena, then a ping and an
# /api/cluster poll every 2 s each, nothing else), spread over the nodes.
# Each node's CPU is sampled over IDLE_DURATION s once every client has its
# welcome; the record's result carries the clients and seconds, its procs
# the per-node cpu%.
idle_case() {
    ic_desc="3 nodes, $IDLE_CLIENTS idle clients (a ping and an /api/cluster poll every 2 s each), ${IDLE_DURATION} s"
    log "(idle) $ic_desc"
    ic_r=1
    while [ $ic_r -le "$RUNS" ]; do
        start_cluster idle 3
        ic_dir=$TMP/idle-$ic_r
        mkdir -p "$ic_dir"
        : > "$ic_dir/s0"
        : > "$ic_dir/s1"
        sleep 3 # the start-up entries (node records, the world's upload) go by first
        node "$ROOT/bench/idle-clients.mjs" "$(nodes_list)" "$IDLE_CLIENTS" "$IDLE_DURATION" \
            "$ic_dir" > "$ic_dir/clients.out" 2>&1 &
        ic_pid=$!
        ALLPIDS="$ALLPIDS $ic_pid"
        ic_wall=0
        if wait_file "$ic_dir/start" "$ic_pid" 30; then
            ic_t0=$(now_ns)
            sample_all > "$ic_dir/s0"
            wait_file "$ic_dir/end" "$ic_pid" $((IDLE_DURATION + 15)) || true
            ic_t1=$(now_ns)
            sample_all > "$ic_dir/s1"
            ic_wall=$((ic_t1 - ic_t0))
        fi
        ic_rc=0
        wait "$ic_pid" || ic_rc=$?
        sed 's/^/    /' "$ic_dir/clients.out"
        [ $ic_rc -eq 0 ] || log "  idle-clients exited with status $ic_rc"
        ic_procs="[]"
        if [ -s "$ic_dir/s1" ]; then
            # procs_line rounds to whole percents; an idle node needs tenths
            awk -v wall="$ic_wall" -v hz="$CLK_TCK" '
                NR == FNR { t0[$1] = $3; next }
                $3 != "x" && t0[$1] != "x" && wall > 0 {
                    printf "%s %s cpu %.1f%%", (n++ ? "," : "    idle:"), $1,
                        ($3 - t0[$1]) / hz / (wall / 1e9) * 100
                }
                END { print "" }' "$ic_dir/s0" "$ic_dir/s1"
            ic_procs=$(procs_json "$ic_dir/s0" "$ic_dir/s1" "$ic_wall")
        fi
        printf '{"bench":"idle","desc":"%s","run":%s,"rc":%s,"killed_node":null,"procs":%s,"result":{"clients":%s,"seconds":%s}}\n' \
            "$ic_desc" "$ic_r" "$ic_rc" "$ic_procs" "$IDLE_CLIENTS" "$IDLE_DURATION" >> "$RECORDS"
        stop_cluster
        ic_r=$((ic_r + 1))
    done
}
if want idle; then idle_case; fi

mkdir -p "$RESULTS"
echo '*' > "$RESULTS/.gitignore"
"$BENCHSTAT" "$RECORDS" "$RESULTS/latest.json"
log "results: $RESULTS/latest.json"
[ -z "$MUD_FAILED" ] || { log "failed MUD cases: $MUD_FAILED"; exit 1; }
