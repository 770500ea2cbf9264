#!/bin/sh
# Install the Debian packages Warren builds, tests and runs with.
# Called by `make` when pkg-config cannot find a library or a tool is missing;
# safe to run by hand. Uses sudo when not root.
# `install-deps.sh --fuzz` also installs what `make fuzz` needs (clang and
# libFuzzer's runtime); `make test` and CI never ask for it.
set -eu

# libnginx-mod-stream: nginx's stream (TCP proxy) module, which
# `warren cluster up` loads to put nginx in front of the telnet ports.
# prometheus: promtool and a real Prometheus server for tests/cluster/metrics.
# openssl: the command line tool; `warren cluster up --tls` makes its
# self-signed certificate with it.
# strace: tests/cluster/commit-notice.test.mjs slows one node's disk writes
# with it (a fault injector, like netem in the partition tests).

PKGS="build-essential pkg-config
libuv1-dev libraft-dev liblz4-dev libsodium-dev libjansson-dev
libhttp-parser-dev libssl-dev libcmocka-dev libtelnet-dev zlib1g-dev libyaml-dev
nginx libnginx-mod-stream openssl chromium nodejs npm iproute2 nftables procps curl
prometheus strace"
# Optional: only with --fuzz (make fuzz).
FUZZ_PKGS="clang libclang-rt-14-dev"
if [ "${1:-}" = "--fuzz" ]; then
    PKGS="$PKGS $FUZZ_PKGS"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
# node and npm may come from elsewhere (nodesource, nvm): accept them if on PATH.
case "$missing" in *nodejs*|*npm*)
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
        missing=$(echo "$missing" | sed -e 's/ nodejs//' -e 's/ npm//')
    fi ;;
esac

if [ -z "$(echo "$missing" | tr -d ' ')" ]; then
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
# Debian's nginx and prometheus packages enable system services (nginx on
# port 80, Prometheus on 9090). Warren starts its own (`warren cluster up`,
# the metrics test), so stop them, only when this script installed them, and
# never touch other servers.
stop_service() {
    case " $missing " in *" $1 "*)
        if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
            $SUDO systemctl disable --now "$1" >/dev/null 2>&1 || true
        elif command -v service >/dev/null 2>&1; then
            $SUDO service "$1" stop >/dev/null 2>&1 || true
        fi ;;
    esac
}
stop_service nginx
stop_service prometheus
