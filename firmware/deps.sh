#!/bin/sh
# deps.sh - check for, or install, the Debian packages Agent Vault needs.
#   deps.sh check PKG...    exit 1 if any package is missing
#   deps.sh install PKG...  apt-get install the missing ones (as root)
set -eu
mode=$1; shift
# Names that installed packages provide count as installed: a Node.js
# package from outside Debian (NodeSource's) provides npm and conflicts
# with Debian's.
provided=$(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
	awk -F'|' '$1 ~ /^ii/ { n = split($2, a, /, */)
		for (i = 1; i <= n; i++) { sub(/ .*/, "", a[i]); print a[i] } }')
missing=""
for p in "$@"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) printf '%s\n' "$provided" | grep -qx -- "$p" ||
		missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$mode" = check ]; then
	echo "deps: missing:$missing" >&2
	exit 1
fi
echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: run 'make deps' as root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
