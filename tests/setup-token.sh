#!/bin/sh
# setup-token.sh DIR - a fresh SoftHSM2 token with the appliance's keys in
# DIR, and DIR/testvars to source (by tests, or by hand to reproduce a run).
set -eu
dir=$1
ceremony=${CEREMONY:-${BUILD:-build}/agentvault-ceremony}
module=${AGENTVAULT_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
# A directory that exists is emptied, not replaced (it may be a mktemp one).
mkdir -p "$dir"
find "$dir" -mindepth 1 -delete
dir=$(cd "$dir" && pwd)
$ceremony dev-token --dir "$dir/token" --module "$module" >"$dir/setup.log"
export SOFTHSM2_CONF="$dir/token/softhsm2.conf"
$ceremony init --module "$module" --pin "file:$dir/token/user.pin" \
	--out "$dir" >>"$dir/setup.log"
cat >"$dir/testvars" <<VARS
export SOFTHSM2_CONF=$dir/token/softhsm2.conf
export AV_TEST_MODULE=$module
export AV_TEST_TOKEN=pkcs11:token=agentvault
export AV_TEST_PIN=file:$dir/token/user.pin
export AV_TEST_DIR=$dir
VARS
