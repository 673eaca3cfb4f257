#!/usr/bin/env bash
# Installs the Debian packages some tests compare against. Outside CI, a missing tool only
# makes those tests skip; in CI (CI set) they must be present, so failures here are fatal.
set -u
need=()
command -v cabextract >/dev/null 2>&1 || need+=(cabextract)
command -v gcab >/dev/null 2>&1 || need+=(gcab)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: cannot install ${need[*]} (not root or no apt-get); dependent tests will skip" >&2
  [ -n "${CI:-}" ] && exit 1
  exit 0
fi
echo "system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
  echo "system-deps: apt-get install ${need[*]} failed" >&2
  [ -n "${CI:-}" ] && exit 1
fi
exit 0
