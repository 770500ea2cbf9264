# Warren: one Makefile for the server, its tests and its benchmarks.
#
#   make                 build build/warren
#   make SANITIZE=1      build with ASan+UBSan into build-san/
#   make test            install what is missing, build, run every test
#   make run             install, build, start a local cluster behind nginx
#   make web-vendor      copy xterm.js from node_modules/ into web/vendor/
#   make bench           benchmarks (see bench/README.md)
#   make fuzz            libFuzzer drivers (fuzz/), FUZZ_SECONDS each (clang)
#   make nemesis         a cluster under seeded faults, then the checker
#                        (SEED=1 DURATION=120 NODES=3; tests/nemesis/)
#   WERROR=1             turn warnings into errors (CI sets it)

CC      ?= cc
PKGS    := libuv raft libsodium jansson libcrypto libtelnet zlib yaml-0.1
# http-parser ships no pkg-config file (shared/notes/debian-deps.md).
EXTRA_LIBS := -lhttp_parser

ifeq ($(SANITIZE),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT     := -O1 -g
else
BUILD   := build
SANFLAGS :=
OPT     := -O2 -g
endif

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wformat=2 \
        -Wold-style-definition -Wimplicit-fallthrough=5 -Wmissing-prototypes \
        -Werror=implicit-function-declaration -Werror=return-type -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN += -Werror
endif
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) $(SANFLAGS) -Isrc -MMD -MP $(PKG_CFLAGS)
LDFLAGS += $(SANFLAGS) -Wl,-z,relro,-z,now
LDLIBS  += $(PKG_LIBS) $(EXTRA_LIBS) -lm

SRCS     := $(shell find src -name '*.c' | sort)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
MAIN_OBJ := $(BUILD)/obj/main.o

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

# A bench program is bench/NAME.c, plus bench/NAME_*.c when it is split
# over several files (mudbots_proto.c is part of mudbots).
BENCH_PARTS := $(sort $(wildcard bench/*_*.c))
BENCH_SRCS  := $(filter-out $(BENCH_PARTS),$(sort $(wildcard bench/*.c)))
BENCH_BINS  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.PHONY: all deps test unit cluster-test run bench clean format web-vendor vendor-copy nemesis
# web/vendor/ (the MUD terminal's xterm.js) is copied from node_modules/, so
# `all` refreshes it only when node_modules/ is there: a plain `make` on a
# machine without npm still builds the server. run and test install
# node_modules/ first and always vendor.
all: deps $(BUILD)/warren $(if $(wildcard node_modules/.package-lock.json),vendor-copy)

# Install missing Debian packages only when something is actually missing,
# so an up-to-date machine never calls apt. nginx's stream module (the
# telnet proxy of `warren cluster up`) is a separate Debian package, and so
# is the openssl tool (`cluster up --tls` makes its certificate with it).
deps:
	@if ! pkg-config --exists $(PKGS) cmocka 2>/dev/null \
	    || [ ! -f /usr/include/http_parser.h ] \
	    || ! command -v nginx >/dev/null || [ ! -f /usr/lib/nginx/modules/ngx_stream_module.so ] \
	    || ! command -v openssl >/dev/null \
	    || ! command -v chromium >/dev/null \
	    || ! command -v node >/dev/null || [ ! -x /usr/sbin/nft ] \
	    || [ ! -x /usr/bin/promtool ] || ! command -v strace >/dev/null; then \
	    sh scripts/install-deps.sh; \
	fi

$(BUILD)/warren: $(LIB_OBJS) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(shell pkg-config --cflags cmocka) -o $@ $< $(LIB_OBJS) \
	    $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/bench/%: bench/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(LIB_OBJS) $(LDFLAGS) $(LDLIBS)

$(foreach b,$(BENCH_BINS),$(eval $(b): $(filter bench/$(notdir $(b))_%.c,$(BENCH_PARTS))))

# A stock libraft node (no authentication) for the cluster tests: the
# positive control of security.test.mjs's forged RequestVote.
$(BUILD)/tests/stock_raft: tests/cluster/lib/stock_raft.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

# mudbots too: tests/cluster/mud-bots.test.mjs runs the bench's MUD client.
unit: deps $(UNIT_BINS) $(BUILD)/tests/stock_raft $(BUILD)/bench/mudbots

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The browser terminal's files, served by every node from web/vendor/ (not
# in git). A file is copied only when it differs, so its mtime (and the
# browser's cache validation) changes only with a new xterm version. The
# .mjs files are the ES modules play.js imports; xterm.js (UMD) is its
# fallback for a server that does not send .mjs as JavaScript.
VENDOR_FILES := node_modules/@xterm/xterm/lib/xterm.js node_modules/@xterm/xterm/lib/xterm.mjs \
                node_modules/@xterm/xterm/css/xterm.css \
                node_modules/@xterm/addon-fit/lib/addon-fit.js node_modules/@xterm/addon-fit/lib/addon-fit.mjs
define vendor_copy
	@mkdir -p web/vendor
	@for f in $(VENDOR_FILES); do \
	    d=web/vendor/$$(basename $$f); \
	    cmp -s $$f $$d || { cp $$f $$d.tmp && mv $$d.tmp $$d && echo "vendored $$d"; } || exit 1; \
	done
endef

web-vendor: node_modules/.package-lock.json
	$(vendor_copy)

# `all` without installing anything (see above).
vendor-copy:
	$(vendor_copy)

# Unit tests run twice, plain and under ASan+UBSan; then the cluster and
# browser tests drive real processes. tests/run.sh prints the summary line.
test: deps node_modules/.package-lock.json web-vendor
	$(MAKE) all unit
	$(MAKE) SANITIZE=1 all unit
	sh tests/run.sh

run: deps all node_modules/.package-lock.json web-vendor
	./$(BUILD)/warren cluster up --foreground

bench: deps all $(BENCH_BINS)
	sh bench/run.sh

# The nemesis runner (tests/nemesis/nemesis.mjs --help): DURATION seconds of
# faults on a NODES-node cluster in network namespaces (root), the schedule
# drawn from SEED; the run directory is then judged by tests/nemesis/check.mjs.
# A failed run prints the command that repeats it. SANITIZE=1 runs build-san/.
SEED     ?= 1
DURATION ?= 120
NODES    ?= 3
RUN_DIR  ?= build/nemesis/run-$(SEED)-$(NODES)
nemesis: deps all node_modules/.package-lock.json
	node tests/nemesis/nemesis.mjs --seed $(SEED) --duration $(DURATION) --nodes $(NODES) \
	    --out $(RUN_DIR) --bin $(BUILD)/warren

format:
	clang-format -i $(SRCS) $(shell find src tests bench -name '*.h') $(UNIT_SRCS) $(BENCH_SRCS) $(BENCH_PARTS)

clean:
	rm -rf build build-san web/vendor

# ---- fuzzing (see fuzz/README.md) -------------------------------------
# Separate from build/ and build-san/: clang, libFuzzer, ASan+UBSan, asserts
# on. The project's objects get coverage instrumentation (fuzzer-no-link);
# only the drivers link libFuzzer's main. Not part of all/test.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Same warnings as above, minus GCC's -Wimplicit-fallthrough=N syntax.
FUZZ_WARN    := $(filter-out -Wimplicit-fallthrough=5,$(WARN)) -Wimplicit-fallthrough
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 $(FUZZ_WARN) $(FUZZ_SAN) -Isrc -MMD -MP
FUZZ_OBJS    := $(patsubst src/%.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRCS))
FUZZ_NAMES   := world transport_hello forward ws http telnet worldfile mud_parser
FUZZ_BINS    := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_NAMES))

.PHONY: fuzz fuzz-build fuzz-deps fuzz-seeds
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) sh fuzz/run.sh $(FUZZ_NAMES)

fuzz-build: fuzz-deps $(FUZZ_BINS)

# clang and libFuzzer's runtime are optional: installed only for fuzzing.
fuzz-deps:
	@if ! printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' \
	    | $(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1 \
	    || ! pkg-config --exists $(PKGS) 2>/dev/null || [ ! -f /usr/include/http_parser.h ]; then \
	    sh scripts/install-deps.sh --fuzz; \
	fi

$(FUZZ_BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -c -o $@ $<

# fuzz_http includes net/http.c itself (to reach its static parser
# callbacks), so it links every object but http.o.
$(FUZZ_BUILD)/fuzz_http: fuzz/fuzz_http.c fuzz/fuzz_common.h $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -Ifuzz -o $@ $< \
	    $(filter-out $(FUZZ_BUILD)/obj/net/http.o,$(FUZZ_OBJS)) -Wl,-z,relro,-z,now $(LDLIBS)

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -Ifuzz -o $@ $< $(FUZZ_OBJS) \
	    -Wl,-z,relro,-z,now $(LDLIBS)

# Regenerate the seed corpora in fuzz/corpus/ (checked in).
$(FUZZ_BUILD)/make_seeds: fuzz/make_seeds.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

fuzz-seeds: fuzz-deps $(FUZZ_BUILD)/make_seeds
	./$(FUZZ_BUILD)/make_seeds fuzz/corpus

-include $(shell find build build-san $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
