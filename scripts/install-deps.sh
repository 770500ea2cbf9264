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

PKGS="build-essential pkg-config
libuv1-dev libraft-dev liblz4-dev libsodium-dev libjansson-dev
libhttp-parser-dev libssl-dev libcmocka-dev libtelnet-dev zlib1g-dev libyaml-dev
nginx libnginx-mod-stream openssl chromium nodejs npm iproute2 nftables procps curl
prometheus"
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
# Debian's nginx package enables a system nginx on port 80. Warren starts its
# own (port 4000, `warren cluster up`), so the system one is not needed; stop
# it only when this script installed it, and never touch other nginx servers.
# The same for Prometheus: the tests start their own.
case " $missing " in *" prometheus "*)
    if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
        $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
        $SUDO service prometheus stop >/dev/null 2>&1 || true
    fi ;;
esac
case " $missing " in *" nginx "*)
    if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
        $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
        $SUDO service nginx stop >/dev/null 2>&1 || true
    fi ;;
esac
