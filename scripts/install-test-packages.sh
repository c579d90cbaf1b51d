#!/bin/sh
# Debian packages the Mininet tests and experiments use: Mininet itself (no
# Open vSwitch: p4cast's switches are simple_switch_grpc or its own),
# ethtool, ping, tc and nsenter; and chromium, which the live view's page
# test drives headless (test/live/). Installed only when missing, only as
# root on a system with apt-get; otherwise says what is missing and leaves
# it to the tests, which skip with the reason. Never fails the build.
set -u
pkgs=""
python3_sys=/usr/bin/python3
[ -x "$python3_sys" ] && "$python3_sys" -c 'import mininet.net' 2>/dev/null || pkgs="$pkgs mininet"
command -v ethtool >/dev/null 2>&1 || pkgs="$pkgs ethtool"
command -v ping >/dev/null 2>&1 || pkgs="$pkgs iputils-ping"
command -v tc >/dev/null 2>&1 || pkgs="$pkgs iproute2"
command -v nsenter >/dev/null 2>&1 || pkgs="$pkgs util-linux"
[ -x /usr/bin/chromium ] || pkgs="$pkgs chromium"
[ -z "$pkgs" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: the Mininet and live-view tests need:$pkgs (apt-get install -y$pkgs, as root); they will skip and say why" >&2
  exit 0
fi
echo "installing for the Mininet and live-view tests:$pkgs" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet.
if ! apt-cache show mininet >/dev/null 2>&1; then timeout 300 apt-get update -q >&2 || true; fi
# shellcheck disable=SC2086 # one word per package
if ! timeout 600 apt-get install -y -q --no-install-recommends $pkgs >&2; then
  echo "note: installing$pkgs failed; the tests that need them will skip and say why" >&2
fi
exit 0
