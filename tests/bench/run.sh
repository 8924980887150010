#!/bin/sh
# run.sh - `make bench`: measures, asserts nothing.  Everything on a fresh
# token of its own, next to the ceilings of this same machine:
#   1. ES256 through the provider vs a raw C_Sign loop; KEK wrap/unwrap;
#   2. GetTokenVault (authorized, audited) over keep-alive TLS on the
#      admin socket at 1, 8 and 32 connections, vs a bare TLS server on a
#      Unix socket with the same HSM key (the ceiling for the transport);
#   3. the data plane, raw HTTP (bench_daemon) and through libagentvault
#      (bench_client: what an agent sees), side by side;
#   4. one policy decision over a 50-statement set (bench_policy, run
#      first: it needs no daemon);
#   5. OAuth2 M2M cache hits, alone and while 500 token requests wait
#      on a slow token endpoint (oauth_load.py: the endpoint, the flood);
#   6. GetWorkloadAccessTokenForJWT with RS256 and ES256 user JWTs (a
#      loopback issuer, tests/oauth/jwtissuer.py) vs min(raw HSM ES256
#      sign rate, OpenSSL's software verify rate of the JWT's algorithm).
set -eu
BUILD=${BUILD:-build}
SECONDS_EACH=${BENCH_SECONDS:-3}
top=$(pwd)
# Under /tmp: the sandboxed worker (nobody) must reach the token's files.
tmp=$(mktemp -d /tmp/agentvault-bench.XXXXXX)
chmod 711 "$tmp"
BUILD=$BUILD tests/setup-token.sh "$tmp"
. "$tmp/testvars"
bench=$BUILD/tests/bench_daemon
lib=$BUILD/tests/bench_client

"$BUILD/tests/bench_policy"
echo
"$BUILD/tests/bench_hsm" | tee "$tmp/hsm.out"
hsm_ceiling=$(awk '/raw C_Sign ECDSA P-256, 2 threads/ { print $(NF-1) }' "$tmp/hsm.out")

# The daemon, sandboxed, as in production.
work=$tmp/daemon
mkdir -p "$work"
chmod 711 "$tmp" "$tmp/token"
chmod 644 "$tmp/token/softhsm2.conf"
chown -R nobody "$tmp/token/tokens"
cat >"$work/agentvault.yaml" <<CONF
paths:
  state_dir: $work/state
  audit_log: $work/audit.log
  run_dir: $work/run
hsm:
  module: $AV_TEST_MODULE
  pin: "$AV_TEST_PIN"
  tls_cert: $tmp/tls.pem
  ca_cert: $tmp/ca.pem
limits:
  max_connections: 1024
outbound:
  allow_http_loopback: true
sandbox:
  user: nobody
audit:
  checkpoint_records: 10000
policy:
  dir: $work/policies
principals:
  - name: admin
    uids: [0]
    policies: [AgentVaultFullAccess]
CONF
# The enforcement run's policy set: 50 statements, the one that allows
# a vend last, with tag conditions (each call then reads two tag sets).
mkdir -p "$work/policies"
{
	echo 'Version: "2012-10-17"'
	echo 'Statement:'
	for i in $(seq 1 49); do
		cat <<STMT
  - Sid: Other$i
    Effect: Allow
    Action: bedrock-agentcore:GetResourceOauth2Token
    Resource: arn:aws:bedrock-agentcore:*:*:token-vault/default/oauth2credentialprovider/p$i
    Condition:
      StringEquals:
        aws:ResourceTag/tenant: \${aws:PrincipalTag/tenant}
STMT
	done
	cat <<STMT
  - Sid: SameTenant
    Effect: Allow
    Action: [bedrock-agentcore:GetResourceApiKey, bedrock-agentcore:GetWorkloadAccessTokenForUserId]
    Resource: "*"
    Condition:
      StringEquals:
        aws:ResourceTag/tenant: \${aws:PrincipalTag/tenant}
STMT
} >"$work/policies/bench-abac.yaml"
chmod 755 "$work/policies"
chmod 644 "$work/policies/bench-abac.yaml"

chmod 600 "$work/agentvault.yaml"
echo_pid=
idp_pid=
jwt_pid=
trap 'kill $daemon $echo_pid $idp_pid $jwt_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
# wait_for FILE PATTERN: up to 60 s (a loaded machine starts slowly).
wait_for() {
	for _ in $(seq 600); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench: no \"$2\" in $1:" >&2
	cat "$1" >&2
	exit 1
}
"$BUILD/agentvaultd" -c "$work/agentvault.yaml" 2>"$work/daemon.log" &
daemon=$!
wait_for "$work/daemon.log" 'worker .* ready'
# One process at a time opens the token: the echo server, started beside
# the daemon, sometimes failed to find its key in SoftHSM2's files.
"$bench" echo "$work/echo.sock" "$tmp/tls.pem" \
	"pkcs11:object=agentvault-tls;type=private" >"$work/echo.out" 2>&1 &
echo_pid=$!
wait_for "$work/echo.out" ready

# CPU seconds (user+system) a process has used so far.
cpu() { awk '{ printf "%.2f", ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }
worker=$(pgrep -P "$daemon" | head -n 1)

echo
echo "Daemon benchmark ($(nproc) cores, client and server on the same machine, ${SECONDS_EACH} s per run)"
printf '  %-40s %6s %9s %9s %9s %7s\n' "call" "conns" "req/s" "p50 us" "p99 us" "ratio"
for c in 1 8 32; do
	set -- $("$bench" client "$work/echo.sock" "$tmp/ca.pem" "$c" \
		"$SECONDS_EACH" POST /echo '{}')
	ceil=$2
	eval "echo_$c=$2"
	printf '  %-40s %6s %9s %9s %9s %7s\n' "bare TLS echo, same key (ceiling)" \
		"$1" "$2" "$3" "$4" "1.00"
	w0=$(cpu "$worker"); p0=$(cpu "$daemon")
	set -- $("$bench" client "$work/run/admin.sock" "$tmp/ca.pem" "$c" \
		"$SECONDS_EACH" POST /identities/get-token-vault '{}')
	w1=$(cpu "$worker"); p1=$(cpu "$daemon")
	usage=$(echo "$w0 $w1 $p0 $p1 $SECONDS_EACH" | awk '{ printf "worker %.0f%%, parent %.0f%% of one core", 100 * ($2 - $1) / $5, 100 * ($4 - $3) / $5 }')
	printf '  %-40s %6s %9s %9s %9s %7s\n' "GetTokenVault (authorized, audited)" \
		"$1" "$2" "$3" "$4" "$(echo "$2 $ceil" | awk '{printf "%.2f", $1/$2}')"
	[ "$5" = 0 ] || echo "  ($5 errors)"
	echo "      CPU during that run: $usage"
done

# The data plane: an identity, an API-key provider and a token to use.
api() { curl -sS --cacert "$tmp/ca.pem" --unix-socket "$work/run/$1" \
	-H 'Content-Type: application/json' -d "$3" "https://localhost/identities/$2"; }
api admin.sock CreateWorkloadIdentity '{"name":"bench-agent"}' >/dev/null
api admin.sock CreateApiKeyCredentialProvider \
	'{"name":"bench-key","apiKey":"bench-api-key-0123456789"}' >/dev/null
token=$(api agent.sock GetWorkloadAccessTokenForUserId \
	'{"workloadName":"bench-agent","userId":"bench+user-1"}' |
	sed 's/.*"workloadAccessToken":"\([^"]*\)".*/\1/')
echo
echo "Data plane (ceilings: raw HSM ES256 on two sessions ${hsm_ceiling}/s; the TLS echo above)"
printf '  %-40s %6s %9s %9s %9s %7s\n' "call" "conns" "req/s" "p50 us" "p99 us" "ratio"
# CPU of the worker and the parent during the last run, per request.
usage() { echo "$1 $2 $3 $4 $SECONDS_EACH $5" | awk '{ printf "worker %.0f%%, parent %.0f%% of one core (%.0f + %.0f us of CPU a call)", 100 * ($2 - $1) / $5, 100 * ($4 - $3) / $5, 1e6 * ($2 - $1) / ($6 * $5), 1e6 * ($4 - $3) / ($6 * $5) }'; }
# The "the same via" rows: libagentvault, one handle per thread; their
# ratio is to the raw row above them.
for c in 1 8 32; do
	w0=$(cpu "$worker"); p0=$(cpu "$daemon")
	set -- $("$bench" client "$work/run/agent.sock" "$tmp/ca.pem" "$c" \
		"$SECONDS_EACH" POST /identities/GetWorkloadAccessTokenForUserId \
		'{"workloadName":"bench-agent","userId":"bench+user-1"}')
	w1=$(cpu "$worker"); p1=$(cpu "$daemon")
	raw=$2
	printf '  %-40s %6s %9s %9s %9s %7s\n' "GetWorkloadAccessTokenForUserId" \
		"$1" "$2" "$3" "$4" "$(echo "$2 $hsm_ceiling" | awk '{printf "%.2f", $1/$2}') (vs HSM)"
	[ "$5" = 0 ] || echo "  ($5 errors)"
	echo "      CPU: $(usage "$w0" "$w1" "$p0" "$p1" "$2")"
	set -- $("$lib" "$work/run/agent.sock" "$tmp/ca.pem" "$c" \
		"$SECONDS_EACH" token bench-agent bench+user-1)
	printf '  %-40s %6s %9s %9s %9s %7s\n' "  the same via libagentvault" \
		"$1" "$2" "$3" "$4" "$(echo "$2 $raw" | awk '{printf "%.2f", $1/$2}') (vs raw)"
	[ "$5" = 0 ] || echo "  ($5 errors)"
	w0=$(cpu "$worker"); p0=$(cpu "$daemon")
	set -- $("$bench" client "$work/run/agent.sock" "$tmp/ca.pem" "$c" \
		"$SECONDS_EACH" POST /identities/api-key \
		"{\"workloadIdentityToken\":\"$token\",\"resourceCredentialProviderName\":\"bench-key\"}")
	w1=$(cpu "$worker"); p1=$(cpu "$daemon")
	raw=$2
	eval "vend_$c=$2"
	eval "echo_rate=\$echo_$c"
	printf '  %-40s %6s %9s %9s %9s %7s\n' "GetResourceApiKey" "$1" "$2" \
		"$3" "$4" "$(echo "$2 $echo_rate" | awk '{printf "%.2f", $1/$2}') (vs echo)"
	[ "$5" = 0 ] || echo "  ($5 errors)"
	echo "      CPU: $(usage "$w0" "$w1" "$p0" "$p1" "$2")"
	set -- $("$lib" "$work/run/agent.sock" "$tmp/ca.pem" "$c" \
		"$SECONDS_EACH" api-key bench-agent bench+user-1 bench-key)
	printf '  %-40s %6s %9s %9s %9s %7s\n' "  the same via av_with_api_key" \
		"$1" "$2" "$3" "$4" "$(echo "$2 $raw" | awk '{printf "%.2f", $1/$2}') (vs raw)"
	[ "$5" = 0 ] || echo "  ($5 errors)"
done

# Inbound JWTs: each call verifies the user's JWT in software (keys
# cached), reads the kept copy's hash (the same JWT: no write) and mints
# a workload access token (one HSM signature).  The ceiling: the slower
# of the HSM's raw ES256 rate and OpenSSL's verify rate for the JWT's
# algorithm, both on as many processes as the worker has loops (2).
python3 tests/oauth/jwtissuer.py "$tmp/jwt.url" "$tmp" &
jwt_pid=$!
for _ in $(seq 600); do [ -s "$tmp/jwt.url" ] && break; sleep 0.1; done
openssl speed -seconds "$SECONDS_EACH" -multi 2 rsa2048 ecdsap256 \
	>"$tmp/speed.out" 2>/dev/null
rs_verify=$(awk '/^rsa 2048 bits/ { print $NF }' "$tmp/speed.out")
es_verify=$(awk '/ecdsa \(nistp256\)/ { print $NF }' "$tmp/speed.out")
api admin.sock CreateWorkloadIdentity "{\"name\":\"bench-jwt\",
  \"authorizerConfiguration\":{\"customJWTAuthorizer\":{
  \"discoveryUrl\":\"$(cat "$tmp/jwt.url")\",
  \"allowedAudience\":[\"agents\"]}}}" >/dev/null
echo
echo "Inbound JWTs (GetWorkloadAccessTokenForJWT; ceiling min(raw HSM ES256 ${hsm_ceiling}/s, OpenSSL verify: RS256 ${rs_verify}/s, ES256 ${es_verify}/s, 2 processes); aim 0.70)"
printf '  %-40s %6s %9s %9s %9s %7s\n' "call" "conns" "req/s" "p50 us" "p99 us" "ratio"
for alg in rs256 es256; do
	jwt=$(cat "$tmp/$alg.jwt")
	[ "$alg" = rs256 ] && verify=$rs_verify || verify=$es_verify
	ceil=$(echo "$hsm_ceiling $verify" | awk '{ print ($1 < $2) ? $1 : $2 }')
	body="{\"workloadName\":\"bench-jwt\",\"userToken\":\"$jwt\"}"
	api agent.sock GetWorkloadAccessTokenForJWT "$body" |
		grep -q workloadAccessToken ||
		echo "  (the first $alg call failed: no token)"
	for c in 1 8 32; do
		w0=$(cpu "$worker"); p0=$(cpu "$daemon")
		set -- $("$bench" client "$work/run/agent.sock" "$tmp/ca.pem" \
			"$c" "$SECONDS_EACH" POST \
			/identities/GetWorkloadAccessTokenForJWT "$body")
		w1=$(cpu "$worker"); p1=$(cpu "$daemon")
		printf '  %-40s %6s %9s %9s %9s %7s\n' \
			"ForJWT, $(echo "$alg" | tr a-z A-Z) user JWT" "$1" "$2" "$3" \
			"$4" "$(echo "$2 $ceil" | awk '{printf "%.2f", $1/$2}')"
		[ "$5" = 0 ] || echo "  ($5 errors)"
		echo "      CPU: $(usage "$w0" "$w1" "$p0" "$p1" "$2")"
	done
done
kill "$jwt_pid" 2>/dev/null; wait "$jwt_pid" 2>/dev/null || true; jwt_pid=

# OAuth2 M2M: a cached token (the vault's copy, decrypted per call) vs
# the TLS echo; then the same cache hits while 500 client-credentials
# grants wait on a token endpoint that answers after 2 seconds (each
# with a scope of its own: 500 requests in flight, no single flight).
python3 tests/bench/oauth_load.py serve "$tmp/idp.port" &
idp_pid=$!
for _ in $(seq 600); do [ -s "$tmp/idp.port" ] && break; sleep 0.1; done
idp="http://127.0.0.1:$(cat "$tmp/idp.port")"
m2m() {
	api admin.sock CreateOauth2CredentialProvider "{\"name\":\"$1\",
	  \"credentialProviderVendor\":\"CustomOauth2\",
	  \"oauth2ProviderConfigInput\":{\"customOauth2ProviderConfig\":{
	  \"clientId\":\"bench\",\"clientSecret\":\"bench-secret-0123456789\",
	  \"oauthDiscovery\":{\"authorizationServerMetadata\":{
	  \"issuer\":\"$idp\",\"authorizationEndpoint\":\"$idp/auth\",
	  \"tokenEndpoint\":\"$idp/$2\"}}}}}" >/dev/null
}
m2m bench-m2m token
m2m bench-slow slow-token
vend='{"workloadIdentityToken":"'$token'","resourceCredentialProviderName":"bench-m2m","scopes":["read"],"oauth2Flow":"M2M"}'
api agent.sock oauth2/token "$vend" | grep -q accessToken ||
	echo "  (the first M2M call failed: no token cached)"
echo
echo "OAuth2 M2M, cache hit (GetResourceOauth2Token; ratio to the TLS echo; aim 0.50)"
printf '  %-40s %6s %9s %9s %9s %7s\n' "call" "conns" "req/s" "p50 us" "p99 us" "ratio"
for c in 1 8 32; do
	w0=$(cpu "$worker"); p0=$(cpu "$daemon")
	set -- $("$bench" client "$work/run/agent.sock" "$tmp/ca.pem" "$c" \
		"$SECONDS_EACH" POST /identities/oauth2/token "$vend")
	w1=$(cpu "$worker"); p1=$(cpu "$daemon")
	eval "echo_rate=\$echo_$c"
	printf '  %-40s %6s %9s %9s %9s %7s\n' "GetResourceOauth2Token (M2M, cached)" \
		"$1" "$2" "$3" "$4" "$(echo "$2 $echo_rate" | awk '{printf "%.2f", $1/$2}') (vs echo)"
	[ "$5" = 0 ] || echo "  ($5 errors)"
	echo "      CPU: $(usage "$w0" "$w1" "$p0" "$p1" "$2")"
done
echo
echo "Isolation: the cache hits above while 500 grants wait 2 s each on a slow token endpoint (aim: p99 under 2 ms)"
printf '  %-40s %6s %9s %9s %9s\n' "call" "conns" "req/s" "p50 us" "p99 us"
python3 tests/bench/oauth_load.py flood "$work/run/agent.sock" "$tmp/ca.pem" \
	"$token" bench-slow 500 $((SECONDS_EACH + 3)) "$tmp/flood.ready" \
	>"$tmp/flood.out" &
flood=$!
for _ in $(seq 600); do [ -e "$tmp/flood.ready" ] && break; sleep 0.1; done
sleep 2		# every connection has a grant waiting on the endpoint
for c in 1 8; do
	set -- $("$bench" client "$work/run/agent.sock" "$tmp/ca.pem" "$c" \
		"$(echo "$SECONDS_EACH" | awk '{ print $1 / 2 }')" POST /identities/oauth2/token "$vend")
	printf '  %-40s %6s %9s %9s %9s\n' "GetResourceOauth2Token (M2M, cached)" \
		"$1" "$2" "$3" "$4"
	[ "$5" = 0 ] || echo "  ($5 errors)"
done
wait "$flood"
read -r calls errors first <"$tmp/flood.out"
echo "      meanwhile: $calls grants on the slow endpoint completed, $errors failed${first:+ (first: $first)}"
kill "$idp_pid" 2>/dev/null; wait "$idp_pid" 2>/dev/null || true; idp_pid=

# Enforcement: the same vend decided by the 50-statement ABAC set above
# (its last statement allows; the provider's and the workload identity's
# tags are read on every call), against the run above decided by
# AgentVaultFullAccess (one statement, no lookups).
tag() { curl -sS --cacert "$tmp/ca.pem" --unix-socket "$work/run/admin.sock" \
	-H 'Content-Type: application/json' -d '{"tags":{"tenant":"bench"}}' \
	"https://localhost/tags/$1" >/dev/null; }
arn=arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A000000000000%3A
tag "${arn}workload-identity-directory%2Fdefault%2Fworkload-identity%2Fbench-agent"
tag "${arn}token-vault%2Fdefault%2Fapikeycredentialprovider%2Fbench-key"
sed -i 's/policies: \[AgentVaultFullAccess\]/policies: [bench-abac]/' \
	"$work/agentvault.yaml"
served=$(grep -c "serving with" "$work/daemon.log")
kill -HUP "$daemon"
for _ in $(seq 600); do
	[ "$(grep -c "serving with" "$work/daemon.log")" -gt "$served" ] && break
	sleep 0.1
done
worker=$(pgrep -P "$daemon" | head -n 1)
echo
echo "Enforcement (GetResourceApiKey decided by a 50-statement ABAC set, the allowing statement last, the provider's and the identity's tags compared on every call; ratio to the AgentVaultFullAccess run above)"
printf '  %-40s %6s %9s %9s %9s %7s\n' "call" "conns" "req/s" "p50 us" "p99 us" "ratio"
for c in 1 8 32; do
	w0=$(cpu "$worker"); p0=$(cpu "$daemon")
	set -- $("$bench" client "$work/run/agent.sock" "$tmp/ca.pem" "$c" \
		"$SECONDS_EACH" POST /identities/api-key \
		"{\"workloadIdentityToken\":\"$token\",\"resourceCredentialProviderName\":\"bench-key\"}")
	w1=$(cpu "$worker"); p1=$(cpu "$daemon")
	eval "base=\$vend_$c"
	printf '  %-40s %6s %9s %9s %9s %7s\n' "GetResourceApiKey (ABAC, 50 statements)" \
		"$1" "$2" "$3" "$4" "$(echo "$2 $base" | awk '{printf "%.2f", $1/$2}')"
	[ "$5" = 0 ] || echo "  ($5 errors)"
	echo "      CPU: $(usage "$w0" "$w1" "$p0" "$p1" "$2")"
done
