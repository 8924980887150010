#!/bin/sh
# run.sh - benchmarks on a fresh token of their own; measures, asserts nothing.
set -eu
BUILD=${BUILD:-build}
tmp=$(pwd)/$BUILD/bench/tmp
BUILD=$BUILD tests/setup-token.sh "$tmp"
. "$tmp/testvars"
"$BUILD/tests/bench_hsm"
