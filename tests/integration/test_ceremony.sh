#!/bin/sh
# test_ceremony.sh - agentvault-ceremony end to end, with the token's own
# view checked independently by pkcs11-tool (OpenSC).  Prints TAP.
set -u
BUILD=${BUILD:-build}
ceremony="${AV_TEST_WRAP:-} $BUILD/agentvault-ceremony"
module=$AV_TEST_MODULE
work=$AV_TEST_DIR/ceremony
rm -rf "$work"
mkdir -p "$work"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { # check NAME COMMAND...
	name=$1; shift
	if "$@" >>"$work/log" 2>&1; then ok "$name"; else notok "$name"; fi
}
check_fails() {
	name=$1; shift
	if "$@" >>"$work/log" 2>&1; then notok "$name"; else ok "$name"; fi
}

# A token of our own, so that --force below does not disturb other tests.
check "dev-token creates a token" $ceremony dev-token --dir "$work/tok" \
	--module "$module" --label ceremony-test
export SOFTHSM2_CONF=$work/tok/softhsm2.conf
pin="file:$work/tok/user.pin"
tok="pkcs11:token=ceremony-test"
mode=$(stat -c %a "$work/tok/user.pin")
[ "$mode" = 600 ] && ok "PIN file has mode 0600" || notok "PIN file mode is $mode"
check_fails "dev-token refuses a directory that holds a token" \
	$ceremony dev-token --dir "$work/tok" --module "$module"

check "init generates keys and certificates" $ceremony init --module "$module" \
	--token "$tok" --pin "$pin" --out "$work"
check "the TLS certificate chains to the appliance CA" \
	openssl verify -CAfile "$work/ca.pem" "$work/tls.pem"
$ceremony inventory --module "$module" --token "$tok" --pin "$pin" \
	>"$work/inventory" 2>&1
for label in agentvault-kek agentvault-token-signing agentvault-tls \
	agentvault-audit agentvault-ca; do
	grep -q "^  $label " "$work/inventory" && ok "inventory lists $label" ||
		notok "inventory lists $label"
done
[ "$(grep -c '    kcv: [0-9A-F]\{6\} ' "$work/inventory")" -eq 5 ] &&
	ok "inventory prints a check value for every key" ||
	notok "inventory prints a check value for every key"
grep -q MISSING "$work/inventory" && notok "no key missing" || ok "no key missing"

# The CA fingerprint in the inventory is the one in ca.pem.
fp=$(openssl x509 -in "$work/ca.pem" -noout -pubkey |
	openssl pkey -pubin -outform DER | sha256sum | cut -c1-64 | tr a-f A-F)
grep -A5 '^  agentvault-ca ' "$work/inventory" | tr -d ':' | grep -q "$fp" &&
	ok "CA public key fingerprint matches ca.pem" ||
	notok "CA public key fingerprint matches ca.pem"

check_fails "init refuses to overwrite existing keys" $ceremony init \
	--module "$module" --token "$tok" --pin "$pin" --out "$work"
grep -q "refusing to replace existing keys" "$work/log" &&
	ok "the refusal says why" || notok "the refusal says why"
check_fails "a PIN on the command line is refused" $ceremony inventory \
	--module "$module" --token "$tok" --pin 1234
check_fails "a wrong PIN fails" sh -c "printf 0000 >'$work/bad.pin'; chmod 600 '$work/bad.pin'; \
	$ceremony inventory --module '$module' --token '$tok' --pin 'file:$work/bad.pin'"
check_fails "a missing token fails" $ceremony inventory --module "$module" \
	--token pkcs11:token=absent --pin "$pin"

old=$(grep -A3 '^  agentvault-kek ' "$work/inventory" | grep kcv)
check "init --force regenerates" $ceremony init --module "$module" \
	--token "$tok" --pin "$pin" --out "$work" --force
$ceremony inventory --module "$module" --token "$tok" --pin "$pin" \
	>"$work/inventory2" 2>&1
new=$(grep -A3 '^  agentvault-kek ' "$work/inventory2" | grep kcv)
[ -n "$new" ] && [ "$old" != "$new" ] && ok "the regenerated KEK is a new key" ||
	notok "the regenerated KEK is a new key"

# Independent view: pkcs11-tool reads the attributes from the token.
userpin=$(cat "$work/tok/user.pin")
p11() { pkcs11-tool --module "$module" --token-label ceremony-test --login \
	--pin "$userpin" "$@"; }
p11 --list-objects --type secrkey >"$work/p11-kek" 2>&1
grep -A4 'label: *agentvault-kek' "$work/p11-kek" | grep -q 'Access: *sensitive, always sensitive, never extractable, local' &&
	ok "pkcs11-tool: the KEK is sensitive and never extractable" ||
	notok "pkcs11-tool: the KEK is sensitive and never extractable"
grep -A4 'label: *agentvault-kek' "$work/p11-kek" | grep -q 'Usage: *wrap, unwrap$' &&
	ok "pkcs11-tool: the KEK may only wrap and unwrap" ||
	notok "pkcs11-tool: the KEK may only wrap and unwrap"
check_fails "pkcs11-tool cannot read the KEK's value" p11 --read-object \
	--type secrkey --label agentvault-kek
p11 --list-objects --type privkey >"$work/p11-priv" 2>&1
[ "$(grep -c 'Access: *sensitive, always sensitive, never extractable, local' "$work/p11-priv")" -eq 4 ] &&
	ok "pkcs11-tool: all four private keys are never extractable" ||
	notok "pkcs11-tool: all four private keys are never extractable"

# A new token-signing key for a rotation: made in the token, never
# extractable, its kid the start of its fingerprint, the current key kept.
check "rotate-token-key generates a new key" sh -c "$ceremony rotate-token-key \
	--module '$module' --token '$tok' --pin '$pin' --label tsk-2 >'$work/rotate'"
grep -q '^    uri: pkcs11:token=ceremony-test;object=tsk-2;id=%.*;type=private$' \
	"$work/rotate" && ok "it prints the new key's URI" ||
	notok "it prints the new key's URI"
fp=$(sed -n 's/^    public key SHA-256: //p' "$work/rotate" | tr -d ':' | cut -c1-16)
kid=$(sed -n 's/^    kid: //p' "$work/rotate")
[ -n "$kid" ] && [ "$kid" = "$fp" ] &&
	ok "its kid is the first 8 bytes of its public key's SHA-256" ||
	notok "its kid is the first 8 bytes of its public key's SHA-256 ($kid)"
grep -q "token_signing_key: \"pkcs11:token=ceremony-test;object=tsk-2;" \
	"$work/rotate" && ok "it says how to configure it" ||
	notok "it says how to configure it"
p11 --list-objects --type privkey >"$work/p11-priv2" 2>&1
grep -A4 'label: *tsk-2' "$work/p11-priv2" | grep -q 'Access: *sensitive, always sensitive, never extractable, local' &&
	ok "pkcs11-tool: the new key is never extractable" ||
	notok "pkcs11-tool: the new key is never extractable"
grep -q 'label: *agentvault-token-signing$' "$work/p11-priv2" &&
	ok "the current token-signing key is kept" ||
	notok "the current token-signing key is kept"
check_fails "rotate-token-key refuses a label in use" $ceremony \
	rotate-token-key --module "$module" --token "$tok" --pin "$pin" \
	--label tsk-2
$ceremony rotate-token-key --module "$module" --token "$tok" --pin "$pin" \
	--label 'a;b' >>"$work/log" 2>&1
[ $? -eq 2 ] && ok "a label that is not [A-Za-z0-9._-] is a usage error" ||
	notok "a label that is not [A-Za-z0-9._-] is a usage error"
$ceremony rotate-token-key --module "$module" --token "$tok" --pin "$pin" \
	>"$work/rotate2" 2>&1
grep -q '^  agentvault-token-signing-[0-9]\{8\}T[0-9]\{6\}Z ' "$work/rotate2" &&
	ok "the default label is agentvault-token-signing-<UTC time>" ||
	notok "the default label is agentvault-token-signing-<UTC time>"
$ceremony --help | grep -q 'rotate-token-key' &&
	ok "--help describes rotate-token-key" ||
	notok "--help describes rotate-token-key"

# A key for private_key_jwt: made in the token, never extractable, its
# public JWK printed with kid = its RFC 7638 thumbprint, and the JWK's
# point the token's own public key (as pkcs11-tool reads it).
oc=agentvault-oauth-client-test
check "new-oauth-client-key generates a key" sh -c "$ceremony \
	new-oauth-client-key --module '$module' --token '$tok' --pin '$pin' \
	--label $oc >'$work/oauthkey'"
grep '^{"kty"' "$work/oauthkey" >"$work/oauthkey.jwk"
if python3 - "$work/oauthkey.jwk" <<'PY'
import base64, hashlib, json, sys
j = json.load(open(sys.argv[1]))
m = json.dumps({k: j[k] for k in ("crv", "kty", "x", "y")},
               separators=(",", ":"), sort_keys=True)
t = base64.urlsafe_b64encode(hashlib.sha256(m.encode()).digest())
assert j["kty"] == "EC" and j["crv"] == "P-256" and j["alg"] == "ES256"
assert j["use"] == "sig" and j["kid"] == t.decode().rstrip("=")
PY
then ok "it prints a P-256 JWK whose kid is its RFC 7638 thumbprint"
else notok "it prints a P-256 JWK whose kid is its RFC 7638 thumbprint"
fi
p11 --read-object --type pubkey --label "$oc" -o "$work/oauthkey.der" \
	>>"$work/log" 2>&1
if python3 - "$work/oauthkey.jwk" "$work/oauthkey.der" <<'PY'
import base64, json, sys
j = json.load(open(sys.argv[1]))
d = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
assert open(sys.argv[2], "rb").read()[-65:] == b"\x04" + d(j["x"]) + d(j["y"])
PY
then ok "the JWK is the token's public key (pkcs11-tool)"
else notok "the JWK is the token's public key (pkcs11-tool)"
fi
p11 --list-objects --type privkey >"$work/p11-priv3" 2>&1
grep -A4 "label: *$oc" "$work/p11-priv3" | grep -q 'Access: *sensitive, always sensitive, never extractable, local' &&
	ok "pkcs11-tool: the OAuth client key is never extractable" ||
	notok "pkcs11-tool: the OAuth client key is never extractable"
grep -q "\"keyLabel\": \"$oc\"" "$work/oauthkey" &&
	ok "it says how a provider uses it" || notok "it says how a provider uses it"
$ceremony show-oauth-client-key --module "$module" --token "$tok" \
	--pin "$pin" --label "$oc" 2>>"$work/log" | grep '^{"kty"' |
	cmp -s - "$work/oauthkey.jwk" &&
	ok "show-oauth-client-key prints the same JWK again" ||
	notok "show-oauth-client-key prints the same JWK again"
check_fails "new-oauth-client-key refuses a label in use" $ceremony \
	new-oauth-client-key --module "$module" --token "$tok" --pin "$pin" \
	--label "$oc"
check_fails "show-oauth-client-key fails for a missing key" $ceremony \
	show-oauth-client-key --module "$module" --token "$tok" --pin "$pin" \
	--label agentvault-oauth-client-absent
$ceremony new-oauth-client-key --module "$module" --token "$tok" \
	--pin "$pin" --label tsk-3 >>"$work/log" 2>&1
[ $? -eq 2 ] && ok "an OAuth client key's label needs the prefix" ||
	notok "an OAuth client key's label needs the prefix"
$ceremony --help | grep -q 'new-oauth-client-key' &&
	ok "--help describes new-oauth-client-key" ||
	notok "--help describes new-oauth-client-key"

echo "1..$n"
