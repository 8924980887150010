#!/bin/sh
# dev-run.sh - `make run`: the appliance on its embedded defaults under var/.
#
# First run: a fresh SoftHSM2 token in var/hsm and the initialisation
# ceremony (keys, appliance CA and TLS certificate in var/).  Every run:
# the key inventory.  (The daemon issue makes this start agentvaultd.)
set -eu
BUILD=${BUILD:-build}
ceremony=$BUILD/agentvault-ceremony
var=${AGENTVAULT_VAR:-$(pwd)/var}
module=${AGENTVAULT_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
mkdir -p "$var"
chmod 700 "$var"
export SOFTHSM2_CONF="$var/hsm/softhsm2.conf"
pin="file:$var/hsm/user.pin"

if [ ! -f "$SOFTHSM2_CONF" ]; then
	echo "== first run: creating a development token in $var/hsm"
	"$ceremony" dev-token --dir "$var/hsm" --module "$module"
	echo "== key ceremony"
	"$ceremony" init --module "$module" --pin "$pin" --out "$var"
else
	"$ceremony" inventory --module "$module" --pin "$pin"
fi
cat <<MSG

Token:        $var/hsm (SOFTHSM2_CONF=$SOFTHSM2_CONF)
User PIN:     $pin
Appliance CA: $var/ca.pem   TLS certificate: $var/tls.pem
Start over:   rm -rf $var && make run
MSG
