#!/bin/sh
# dev-run.sh - `make run`: the appliance on its embedded defaults under var/.
#
# First run: a fresh SoftHSM2 token in var/hsm, the key ceremony (keys,
# appliance CA and TLS certificate in var/) and a configuration in
# var/agentvault.yaml.  Every run: the key inventory, then agentvaultd in
# the foreground until Ctrl-C.
set -eu
BUILD=${BUILD:-build}
ceremony=$BUILD/agentvault-ceremony
daemon=$BUILD/agentvaultd
var=${AGENTVAULT_VAR:-$(pwd)/var}
module=${AGENTVAULT_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
# The worker drops to this user; it must read the token's files.
user=${AGENTVAULT_USER:-nobody}
mkdir -p "$var"
chmod 711 "$var"
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
if [ ! -f "$var/agentvault.yaml" ]; then
	# Root and you administer; $user is an agent unless it is one of
	# you (a uid is in one principal only).
	me=$(id -u)
	admins=0
	if [ "$me" -ne 0 ]; then
		admins="0, $me"
	fi
	agent=$(id -u "$user")
	agents=
	if [ "$agent" -ne 0 ] && [ "$agent" -ne "$me" ]; then
		agents="  - name: agents
    uids: [$agent]
    policies: [AgentVaultAgentAccess]"
	fi
	cat >"$var/agentvault.yaml" <<CONF
# Development configuration written by \`make run\`; see
# daemon/agentvault.yaml.example and docs/configuration.md.
paths:
  state_dir: $var/state
  audit_log: $var/audit/audit.log
  run_dir: $var/run
listen:
  admin_socket:
    mode: "0600"
  agent_socket:
    mode: "0666"
hsm:
  module: $module
  pin: "$pin"
  tls_cert: $var/tls.pem
  ca_cert: $var/ca.pem
sandbox:
  user: $user
principals:
  - name: admin
    uids: [$admins]
    policies: [AgentVaultFullAccess]
$agents
CONF
	chmod 600 "$var/agentvault.yaml"
fi
mkdir -p "$var/audit"
chmod 700 "$var/audit"
# The sandboxed worker reads and locks the token's files as $user.
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$user" "$var/hsm/tokens"
	chmod 711 "$var/hsm"
	chmod 644 "$SOFTHSM2_CONF"
	if ! runuser -u "$user" -- test -r "$SOFTHSM2_CONF" 2>/dev/null; then
		echo "make run: the worker runs as '$user' and cannot reach" >&2
		echo "  $var: a parent directory is closed to other users." >&2
		echo "  Run with AGENTVAULT_VAR=/var/tmp/agentvault (or open the" >&2
		echo "  directories on the way with chmod o+x)." >&2
		exit 1
	fi
fi
cat <<MSG

Agent Vault is starting (Ctrl-C stops it).
  admin socket: $var/run/admin.sock     agent socket: $var/run/agent.sock
  appliance CA: $var/ca.pem             audit log:    $var/audit/audit.log
Try:
  curl --cacert $var/ca.pem --unix-socket $var/run/admin.sock \\
       -H 'Content-Type: application/json' -d '{}' \\
       https://localhost/identities/get-token-vault
  $BUILD/agentvault-audit-verify --key $var/audit-key.pem $var/audit/audit.log
Start over: rm -rf $var && make run

MSG
exec "$daemon" -c "$var/agentvault.yaml"
