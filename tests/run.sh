#!/bin/sh
# run.sh [TEST...] - run the named tests (default: all) against a fresh
# SoftHSM2 token, count TAP results and end with "N passed, N failed".
#
# Each test is a program or script that prints TAP lines ("ok N - name",
# "not ok N - name").  A test that exits non-zero without reporting a
# failure (a crash, a sanitizer report) counts as one failure.
set -u
BUILD=${BUILD:-build}
SAN=${SAN:-0}
VALGRIND=${VALGRIND:-0}
FUZZ_RUNS=${FUZZ_RUNS:-20000}
ALL="uri hsm provider tls vault http_parse config audit wat policy vendors oauth_client authorize jwt ceremony daemon authz oauth inbound sts obo client python fuzz"

top=$(pwd)
logs=$top/$BUILD/tests/logs
# The token and the daemon's files live under /tmp, which every user can
# traverse: the sandboxed worker runs as nobody, and a checkout may sit in
# a directory only root can enter.  $BUILD/tests/tmp points there.
mkdir -p "$top/$BUILD/tests"
old=$(readlink "$top/$BUILD/tests/tmp" 2>/dev/null || true)
case $old in /tmp/agentvault-tests.*) rm -rf "$old" ;; esac
rm -rf "$top/$BUILD/tests/tmp"
tmp=$(mktemp -d /tmp/agentvault-tests.XXXXXX)
chmod 711 "$tmp"
ln -s "$tmp" "$top/$BUILD/tests/tmp"
rm -rf "$logs"
mkdir -p "$logs"

export CMOCKA_MESSAGE_OUTPUT=TAP
WRAP=""
if [ "$SAN" = 1 ]; then
	# Full unwinding: the modules have no frame pointers, and the
	# suppressions match on frames inside them.
	export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:detect_odr_violation=0
	export LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
if [ "$VALGRIND" = 1 ]; then
	WRAP="valgrind -q --error-exitcode=99 --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite \
--suppressions=$top/tests/valgrind.supp"
fi
export AV_TEST_WRAP="$WRAP"
# Sanitizers and valgrind cannot run under seccomp (LeakSanitizer
# ptraces, valgrind traps syscalls): the daemon runs unconfined there.
if [ "$SAN" = 1 ] || [ "$VALGRIND" = 1 ]; then
	export AV_TEST_NO_SANDBOX=1
fi

if ! BUILD=$BUILD tests/setup-token.sh "$tmp"; then
	echo "setup: could not create the test token (see $tmp/setup.log)"
	echo "0 passed, 1 failed"
	exit 1
fi
. "$tmp/testvars"

passed=0
failed=0

# run NAME COMMAND...: run one test, count its TAP lines.
run() {
	name=$1; shift
	log=$logs/$name.log
	"$@" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		printf 'FAIL %-10s %d passed, %d failed (log: %s)\n' "$name" "$p" "$f" "$log"
		grep -E '^not ok |^# ' "$log" | head -n 20 | sed 's/^/    /'
	else
		printf 'ok   %-10s %d passed\n' "$name" "$p"
	fi
}

# The OAuth harness's node modules (tests/oauth), from its lock file when
# missing or older than it.  Never a browser download: the tests use
# Debian's Chromium.
oauth_modules() {
	d=$top/tests/oauth
	if [ -f "$d/node_modules/.package-lock.json" ] &&
	    [ ! "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
		return 0
	fi
	if ! (cd "$d" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
	    npm ci --no-audit --no-fund) >"$logs/npm-ci.log" 2>&1; then
		echo "npm ci in tests/oauth failed (log: $logs/npm-ci.log)"
	fi
}

# One TAP line for a fuzz target replaying its corpus plus FUZZ_RUNS inputs.
fuzz() {
	f=$1
	n=${f##*/fuzz_}
	mkdir -p "$tmp/corpus/$n"
	if "$f" -runs="$FUZZ_RUNS" -max_len=4096 "$tmp/corpus/$n" \
	    "$top/tests/fuzz/corpus/$n" >"$logs/fuzz_$n.out" 2>&1; then
		echo "ok 1 - fuzz_$n: $FUZZ_RUNS runs"
	else
		echo "not ok 1 - fuzz_$n (see $logs/fuzz_$n.out)"
	fi
}

for t in ${*:-$ALL}; do
	case $t in
	uri|hsm|provider|tls|vault|http_parse|config|audit|wat|policy|oauth_client|authorize|jwt)
		# shellcheck disable=SC2086
		run "$t" $WRAP "$BUILD/tests/test_$t" ;;
	vendors)
		# The presets, then the pages generated from them.
		run "$t" sh -c "$WRAP $BUILD/tests/test_vendors; r=\$?;
		    python3 docs/vendors/generate.py --check && exit \$r" ;;
	ceremony)
		run "$t" sh tests/integration/test_ceremony.sh ;;
	daemon)
		run "$t" python3 tests/integration/test_daemon.py ;;
	authz)
		run "$t" python3 tests/integration/test_authz.py ;;
	oauth)
		oauth_modules
		run "$t" python3 tests/oauth/test_harness.py
		run oauth_m2m python3 tests/oauth/test_m2m.py
		run oauth_3lo python3 tests/oauth/test_3lo.py
		run oauth_vendors python3 tests/oauth/test_vendors_flows.py
		run client_oauth python3 tests/oauth/test_client_oauth.py ;;
	oauth_m2m|oauth_3lo)
		# One suite of "oauth" alone.
		oauth_modules
		run "$t" python3 "tests/oauth/test_${t#oauth_}.py" ;;
	obo)
		oauth_modules
		run "$t" python3 tests/oauth/test_obo.py ;;
	inbound)
		oauth_modules
		run "$t" python3 tests/oauth/test_inbound.py ;;
	sts)
		oauth_modules
		run "$t" python3 tests/oauth/test_sts.py ;;
	client)
		run "$t" python3 tests/integration/test_client.py ;;
	python)
		run "$t" python3 tests/python/test_sdk.py ;;
	fuzz)
		for f in "$BUILD"/fuzz/fuzz_*; do
			run "$(basename "$f")" fuzz "$f"
		done ;;
	*)
		echo "unknown test '$t' (known: $ALL)"
		failed=$((failed + 1)) ;;
	esac
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
