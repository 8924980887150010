# Agent Vault - one front door for building, testing and running.
#
#   make            build everything (warnings are errors, hardened)
#   make deps       install missing Debian packages (as root)
#   make check      all tests on a fresh SoftHSM2 token; ends "N passed, N failed"
#   make check SAN=1       the same under AddressSanitizer + UBSan
#   make check VALGRIND=1  the same under valgrind
#   make check TESTS='uri hsm'   only the named tests
#   make run        the appliance on its embedded defaults (var/)
#   make bench      throughput next to the machine's raw HSM ceiling
#   make fuzz       run every fuzz target for FUZZ_SECONDS each

SAN      ?= 0
VALGRIND ?= 0
ifeq ($(SAN),1)
BUILD    ?= build-san
else
BUILD    ?= build
endif

CC       ?= cc
# Debian 12 packages that building, testing and running need (nodejs, npm
# and chromium: the OAuth test harness in tests/oauth).
DEB_PACKAGES := build-essential pkg-config clang libclang-rt-14-dev \
	libssl-dev openssl libp11-dev libp11-kit-dev softhsm2 opensc \
	libmbedtls-dev libcmocka-dev libyaml-dev libseccomp-dev \
	libsqlite3-dev libjansson-dev libevent-dev libcurl4-openssl-dev \
	valgrind python3 procps curl nodejs npm chromium

PKGS     := libcrypto libssl libp11 p11-kit-1 cmocka jansson yaml-0.1 libevent libseccomp sqlite3 \
	libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs libcrypto libssl 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wpointer-arith
HARDEN   := -fstack-protector-strong -fstack-clash-protection \
	-fcf-protection -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(HARDEN) $(PKG_CFLAGS) \
	-I. -Ihsm -Idaemon -Ifirmware
LDFLAGS  += -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack -pthread
ifeq ($(SAN),1)
# FORTIFY and ASan get in each other's way; ASan checks more.
HARDEN   := $(filter-out -D_FORTIFY_SOURCE=2,$(HARDEN))
CFLAGS   += -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -U_FORTIFY_SOURCE
LDFLAGS  += -fsanitize=address,undefined
endif

HSM_SRCS := hsm/rv.c hsm/module.c hsm/token.c hsm/session.c hsm/login.c \
	hsm/keys.c hsm/kek.c hsm/pubkey.c hsm/sign.c hsm/uri.c \
	hsm/provider/provider.c hsm/provider/keymgmt.c \
	hsm/provider/signature.c hsm/provider/store.c
HSM_OBJS := $(HSM_SRCS:%.c=$(BUILD)/%.o)
LIBHSM   := $(BUILD)/libavhsm.a

# The policy language and evaluator (policy/policy.h): libyaml and jansson.
POLICY_SRCS := policy/arena.c policy/match.c policy/vars.c policy/cond.c \
	policy/builtin.c \
	policy/eval.c policy/parse.c daemon/error.c
POLICY_OBJS := $(POLICY_SRCS:%.c=$(BUILD)/%.o)
LIBPOLICY := $(BUILD)/libavpolicy.a
POLICY_LIBS := -lyaml -ljansson -lm

DAEMON_LIB_SRCS := daemon/error.c daemon/secmem.c daemon/vault.c daemon/store.c \
	daemon/http_parse.c daemon/ipc.c daemon/config.c daemon/audit.c \
	daemon/audit_verify.c daemon/log.c daemon/sandbox.c daemon/httpd.c \
	daemon/listen.c daemon/api.c daemon/op_vault.c daemon/op_directory.c \
	daemon/op_common.c daemon/op_apikey.c daemon/op_oauth2.c \
	daemon/op_tokens.c daemon/wat.c daemon/agent_token.c daemon/op_sts.c \
	daemon/wat_cache.c daemon/es256.c daemon/op_tags.c \
	daemon/store_directory.c daemon/store_provider.c daemon/store_tags.c \
	daemon/store_policy.c daemon/store_session.c daemon/op_policy.c \
	daemon/op_principal.c \
	daemon/authz.c daemon/outbound.c daemon/oauth_vendor.c \
	daemon/oauth_client.c daemon/store_oauth.c daemon/oauth_token.c \
	daemon/op_oauth2_token.c daemon/oauth_authorize.c daemon/oauth3lo.c \
	daemon/oauth_obo.c daemon/jwt.c daemon/jwk.c \
	daemon/store_user_jwt.c daemon/authorizer.c daemon/jwks_cache.c \
	daemon/user_jwt.c daemon/op_inbound.c daemon/client_assertion.c \
	firmware/selftest.c $(filter policy/%,$(POLICY_SRCS))
# The OAuth2 vendor presets are data (daemon/oauth_vendors.json), compiled
# in as a byte array.
DAEMON_LIB_OBJS := $(DAEMON_LIB_SRCS:%.c=$(BUILD)/%.o) \
	$(BUILD)/gen/oauth_vendors_json.o
LIBDAEMON := $(BUILD)/libavdaemon.a
DAEMON_LIBS := -lsqlite3 -ljansson -lyaml -levent -levent_openssl \
	-levent_pthreads -lseccomp -lcurl -lm
AGENTVAULTD := $(BUILD)/agentvaultd
AUDIT_VERIFY := $(BUILD)/agentvault-audit-verify


# libagentvault (client/agentvault.h) and the agentvault CLI: mbedTLS and
# jansson only (the CLI also libavpolicy, for policy simulate: libyaml).
# The library's objects are position-independent and hide everything but
# the header's av_* functions, for libagentvault.so.
CLIENT_SRCS := client/lib/err.c client/lib/conn.c client/lib/http.c \
	client/lib/secret.c client/lib/api.c client/lib/decorate.c
CLIENT_OBJS := $(CLIENT_SRCS:%.c=$(BUILD)/%.o)
LIBCLIENT := $(BUILD)/libagentvault.a
LIBCLIENT_SO := $(BUILD)/libagentvault.so
CLIENT_LIBS := -lmbedtls -lmbedx509 -lmbedcrypto -ljansson
CLI_SRCS := client/cli/main.c client/cli/commands.c client/cli/simulate.c
AGENTVAULT := $(BUILD)/agentvault

CEREMONY_SRCS := hsm/ceremony/main.c hsm/ceremony/devtoken.c \
	hsm/ceremony/init.c hsm/ceremony/inventory.c hsm/ceremony/certs.c \
	hsm/ceremony/oauthkey.c
CEREMONY := $(BUILD)/agentvault-ceremony

UNIT_TESTS := uri hsm provider tls vault http_parse config audit wat policy \
	vendors oauth_client authorize jwt
TEST_BINS  := $(UNIT_TESTS:%=$(BUILD)/tests/test_%)
TEST_BINS  += $(BUILD)/tests/test_libagentvault
BENCH      := $(BUILD)/tests/bench_hsm $(BUILD)/tests/bench_daemon \
	$(BUILD)/tests/bench_client $(BUILD)/tests/bench_policy
FUZZERS    := $(BUILD)/fuzz/fuzz_uri $(BUILD)/fuzz/fuzz_http \
	$(BUILD)/fuzz/fuzz_config $(BUILD)/fuzz/fuzz_audit_verify \
	$(BUILD)/fuzz/fuzz_wat $(BUILD)/fuzz/fuzz_policy $(BUILD)/fuzz/fuzz_client \
	$(BUILD)/fuzz/fuzz_oauth_token $(BUILD)/fuzz/fuzz_jwt

PROGRAMS := $(CEREMONY) $(AGENTVAULTD) $(AUDIT_VERIFY) $(AGENTVAULT)

.PHONY: all deps deps-check check run bench fuzz clean

all: $(PROGRAMS) $(LIBCLIENT_SO) $(TEST_BINS) $(BENCH)

$(BUILD)/tests/%.o: CFLAGS += -Itests/unit -Itests/tls
$(BUILD)/client/%.o $(BUILD)/tests/client/%.o \
	$(BUILD)/tests/bench/bench_client.o: CFLAGS += -Iclient
$(BUILD)/client/lib/%.o: CFLAGS += -fPIC -fvisibility=hidden

# V=1 shows the commands.
Q := $(if $(filter 1,$(V)),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# od and sed (coreutils), no xxd: one 0xNN, per byte, then a NUL.
$(BUILD)/gen/oauth_vendors_json.c: daemon/oauth_vendors.json
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN     $@")
	$(Q){ echo '/* Generated from daemon/oauth_vendors.json; do not edit. */'; \
	  echo '#include "oauth_vendor.h"'; \
	  echo 'const char oauth_vendors_json[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; \
	  echo 'const size_t oauth_vendors_json_len ='; \
	  echo '    sizeof(oauth_vendors_json) - 1;'; } >$@.tmp && mv $@.tmp $@

$(BUILD)/gen/oauth_vendors_json.o: $(BUILD)/gen/oauth_vendors_json.c
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(LIBHSM): $(HSM_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIBDAEMON): $(DAEMON_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIBPOLICY): $(POLICY_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(AGENTVAULTD): $(BUILD)/daemon/agentvaultd.o $(BUILD)/daemon/parent.o \
	$(BUILD)/daemon/worker.o $(LIBDAEMON) $(LIBHSM)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -ldl

$(AUDIT_VERIFY): $(BUILD)/daemon/audit_verify_main.o $(LIBDAEMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS)

$(LIBCLIENT): $(CLIENT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIBCLIENT_SO): $(CLIENT_OBJS)
	$(CC) -shared $(filter-out -pie,$(LDFLAGS)) \
		-Wl,-soname,libagentvault.so.0 -o $@ $^ $(CLIENT_LIBS)

# policy simulate evaluates policy files offline with libavpolicy.
$(AGENTVAULT): $(CLI_SRCS:%.c=$(BUILD)/%.o) $(LIBCLIENT) $(LIBPOLICY)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS) $(POLICY_LIBS)

$(CEREMONY): $(CEREMONY_SRCS:%.c=$(BUILD)/%.o) $(LIBHSM)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lp11 -ldl

$(BUILD)/tests/test_uri: $(BUILD)/tests/unit/test_uri.o $(LIBHSM)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka -ldl

$(BUILD)/tests/test_hsm: $(BUILD)/tests/unit/test_hsm.o $(LIBHSM)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka -ldl

$(BUILD)/tests/test_provider: $(BUILD)/tests/unit/test_provider.o $(LIBHSM)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka -ldl

$(BUILD)/tests/test_vault: $(BUILD)/tests/unit/test_vault.o $(LIBDAEMON) \
	$(LIBHSM)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lcmocka -ldl

$(BUILD)/tests/test_tls: $(BUILD)/tests/tls/test_tls.o \
	$(BUILD)/tests/tls/mbedtls_probe.o $(LIBHSM)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lmbedtls -lmbedx509 \
		-lmbedcrypto -lcmocka -ldl

$(BUILD)/tests/bench_hsm: $(BUILD)/tests/bench/bench_hsm.o $(LIBHSM)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl

$(BUILD)/tests/bench_daemon: $(BUILD)/tests/bench/bench_daemon.o $(LIBHSM)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl

$(BUILD)/tests/bench_client: $(BUILD)/tests/bench/bench_client.o $(LIBCLIENT)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

$(BUILD)/tests/test_libagentvault: $(BUILD)/tests/client/test_libagentvault.o \
	$(LIBCLIENT)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

# libFuzzer needs clang; the targets link the parser sources directly.
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 \
	-D_GNU_SOURCE -I. -Ihsm $(shell pkg-config --cflags p11-kit-1 2>/dev/null)
$(BUILD)/fuzz/fuzz_uri: tests/fuzz/fuzz_uri.c hsm/uri.c hsm/uri.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_uri.c hsm/uri.c

$(BUILD)/fuzz/fuzz_http: tests/fuzz/fuzz_http.c daemon/http_parse.c \
	daemon/http_parse.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_http.c daemon/http_parse.c

$(BUILD)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c daemon/config.c \
	daemon/config.h hsm/uri.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_config.c daemon/config.c \
		hsm/uri.c -lyaml

$(BUILD)/fuzz/fuzz_audit_verify: tests/fuzz/fuzz_audit_verify.c \
	daemon/audit_verify.c daemon/audit.c daemon/audit.h daemon/es256.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_audit_verify.c \
		daemon/audit_verify.c daemon/audit.c daemon/es256.c -ljansson \
		-lcrypto

$(BUILD)/fuzz/fuzz_client: tests/fuzz/fuzz_client.c $(CLIENT_SRCS) \
	client/lib/internal.h client/agentvault.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Iclient -o $@ tests/fuzz/fuzz_client.c \
		$(CLIENT_SRCS) $(CLIENT_LIBS)

$(BUILD)/fuzz/fuzz_wat: tests/fuzz/fuzz_wat.c daemon/wat.c daemon/wat.h \
	daemon/secmem.c daemon/error.c daemon/es256.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_wat.c daemon/wat.c \
		daemon/secmem.c daemon/error.c daemon/es256.c -ljansson -lcrypto

$(BUILD)/fuzz/fuzz_policy: tests/fuzz/fuzz_policy.c $(POLICY_SRCS) \
	policy/policy.h policy/internal.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_policy.c $(POLICY_SRCS) \
		$(POLICY_LIBS)

# The token endpoint answer parser (outbound.c only for its names,
# http_parse.c for its form decoding).
$(BUILD)/fuzz/fuzz_oauth_token: tests/fuzz/fuzz_oauth_token.c \
	daemon/oauth_client.c daemon/oauth_client.h daemon/outbound.c \
	daemon/http_parse.c daemon/error.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Idaemon -o $@ tests/fuzz/fuzz_oauth_token.c \
		daemon/oauth_client.c daemon/outbound.c daemon/http_parse.c \
		daemon/error.c -ljansson -lcurl -levent -lssl -lcrypto

# The JWS/JWT verifier: parser, JWKS, signatures and claims.
$(BUILD)/fuzz/fuzz_jwt: tests/fuzz/fuzz_jwt.c daemon/jwt.c daemon/jwk.c \
	daemon/jwt.h daemon/jwk.h daemon/error.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Idaemon -o $@ tests/fuzz/fuzz_jwt.c \
		daemon/jwt.c daemon/jwk.c daemon/error.c -ljansson -lcrypto -lm

$(BUILD)/tests/test_policy: $(BUILD)/tests/unit/test_policy.o $(LIBPOLICY)
	$(CC) $(LDFLAGS) -o $@ $^ $(POLICY_LIBS) -lcmocka

$(BUILD)/tests/bench_policy: $(BUILD)/tests/bench/bench_policy.o $(LIBDAEMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS)

$(BUILD)/tests/test_wat: $(BUILD)/tests/unit/test_wat.o $(LIBDAEMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lcmocka

$(BUILD)/tests/test_config: $(BUILD)/tests/unit/test_config.o $(LIBDAEMON) \
	$(LIBHSM)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lcmocka -ldl

$(BUILD)/tests/test_vendors: $(BUILD)/tests/unit/test_vendors.o $(LIBDAEMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lcmocka

$(BUILD)/tests/test_oauth_client: $(BUILD)/tests/unit/test_oauth_client.o \
	$(LIBDAEMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lcmocka

$(BUILD)/tests/test_jwt: $(BUILD)/tests/unit/test_jwt.o $(LIBDAEMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lcmocka

$(BUILD)/tests/test_authorize: $(BUILD)/tests/unit/test_authorize.o \
	$(LIBDAEMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lcmocka

$(BUILD)/tests/test_audit: $(BUILD)/tests/unit/test_audit.o $(LIBDAEMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lcmocka

$(BUILD)/tests/test_http_parse: $(BUILD)/tests/unit/test_http_parse.o \
	$(LIBDAEMON)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka

# ---- set-up ---------------------------------------------------------------

deps:
	@firmware/deps.sh install $(DEB_PACKAGES)

deps-check:
	@firmware/deps.sh check $(DEB_PACKAGES) || firmware/deps.sh install $(DEB_PACKAGES)

# ---- tests ----------------------------------------------------------------

FUZZ_RUNS ?= 20000
check: deps-check
	@$(MAKE) --no-print-directory all $(FUZZERS)
	@BUILD=$(BUILD) SAN=$(SAN) VALGRIND=$(VALGRIND) FUZZ_RUNS=$(FUZZ_RUNS) \
		tests/run.sh $(TESTS)

FUZZ_SECONDS ?= 60
fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do n=$${f##*/fuzz_}; mkdir -p $(BUILD)/corpus/$$n; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		$(BUILD)/corpus/$$n tests/fuzz/corpus/$$n || exit 1; done

bench: deps-check
	@$(MAKE) --no-print-directory $(BENCH) $(PROGRAMS)
	@BUILD=$(BUILD) tests/bench/run.sh

run: deps-check
	@$(MAKE) --no-print-directory $(CEREMONY) $(AGENTVAULTD) $(AUDIT_VERIFY) \
		$(AGENTVAULT)
	@BUILD=$(BUILD) firmware/dev-run.sh

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
