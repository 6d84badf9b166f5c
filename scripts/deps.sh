#!/usr/bin/env bash
# Installs what switcharoo's tests need, when it is missing: MariaDB,
# BIND 9 and Chromium (the cockpit page is tested headless); with the argument "bench", also what the benchmarks compare
# against: sysbench, mydumper/myloader and percona-toolkit. The tests start their own throwaway servers; this script never
# starts, stops or reconfigures the system's MariaDB or BIND service.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

missing=()
{ have mariadbd && have mariadb-install-db; } || missing+=(mariadb-server)
have named || missing+=(bind9)
have chromium || missing+=(chromium)
if [ "${1:-}" = bench ]; then
  have sysbench || missing+=(sysbench)
  { have mydumper && have myloader; } || missing+=(mydumper)
  have pt-table-checksum || missing+=(percona-toolkit)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: everything the ${1:-test}s need is installed"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing ${missing[*]}. Install them with your system's package manager (MariaDB 10.6 or newer: mariadbd, mariadb-install-db; BIND 9: named); the tests and benchmarks start their own servers." >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "deps: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi

# Debian's maintainer scripts start a service when its package is installed;
# a policy-rc.d that answers 101 forbids that for the length of the install.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi

echo "deps: installing ${missing[*]}"
install() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
install || { "${sudo[@]}" apt-get update && install; }
