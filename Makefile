# Warren: one Makefile for the server, its tests and its benchmarks.
#
#   make                 build build/warren
#   make SANITIZE=1      build with ASan+UBSan into build-san/
#   make test            install what is missing, build, run every test
#   make run             install, build, start a local cluster behind nginx
#   make bench           benchmarks (see bench/README.md)
#   WERROR=1             turn warnings into errors (CI sets it)

CC      ?= cc
PKGS    := libuv raft libsodium jansson libcrypto
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

BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.PHONY: all deps test unit cluster-test run bench clean format
all: deps $(BUILD)/warren

# Install missing Debian packages only when something is actually missing,
# so an up-to-date machine never calls apt.
deps:
	@if ! pkg-config --exists $(PKGS) cmocka 2>/dev/null \
	    || [ ! -f /usr/include/http_parser.h ] \
	    || ! command -v nginx >/dev/null || ! command -v chromium >/dev/null \
	    || ! command -v node >/dev/null; then \
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
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS)

unit: deps $(UNIT_BINS)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# Unit tests run twice, plain and under ASan+UBSan; then the cluster and
# browser tests drive real processes. tests/run.sh prints the summary line.
test: deps node_modules/.package-lock.json
	$(MAKE) all unit
	$(MAKE) SANITIZE=1 all unit
	sh tests/run.sh

run: deps all node_modules/.package-lock.json
	./$(BUILD)/warren cluster up --foreground

bench: deps all $(BENCH_BINS)
	sh bench/run.sh

format:
	clang-format -i $(SRCS) $(shell find src tests bench -name '*.h') $(UNIT_SRCS) $(BENCH_SRCS)

clean:
	rm -rf build build-san

-include $(shell find build build-san -name '*.d' 2>/dev/null)
