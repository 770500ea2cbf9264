/* Helpers shared by the libFuzzer drivers in fuzz/: an invariant check that
 * stays on whatever NDEBUG says, log silencing, and a byte digest. Header
 * only; each driver is one translation unit. */
#ifndef WR_FUZZ_COMMON_H
#define WR_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* A broken invariant: print where and abort, so libFuzzer saves the input.
 * Unlike assert() this is never compiled out. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Drop every log line (the parsers log each malformed input), unless
 * WARREN_FUZZ_LOG is set, to see them while reproducing a crash. */
static inline void fuzz_quiet_logs(void)
{
    if (getenv("WARREN_FUZZ_LOG") == NULL)
        wr_log_set_level((enum wr_log_level)(WR_LOG_ERROR + 1));
    else
        wr_log_set_level(WR_LOG_DEBUG);
}

/* ASan's defaults, read before main. The quarantine (freed blocks held
 * back so a use after free is caught) defaults to 256 MiB: every driver
 * frees a few KiB to a few MiB per input, so memory cycled through the
 * whole 256 MiB, and page faults and cache misses on it took most of the
 * time (fuzz_world ran 3x faster with 64 MiB). 64 MiB still holds back
 * everything of the current input and of many before it, so a use after
 * free is caught as before. ASAN_OPTIONS still overrides this. */
#ifdef FUZZ_ASAN
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=64";
}
#endif

/* Let a parser see only the first @len of the @cap bytes at @buf (a heap
 * block of exactly @cap bytes): the rest is poisoned, so ASan reports a read
 * past @len exactly as past a block of @len bytes, without a malloc and a
 * copy per call (drivers that feed every prefix or every chunk made
 * thousands of them per input). fuzz_unlimit() before reusing or freeing
 * @buf. Only the parser's reads are checked: it must keep no pointer into
 * @buf past the call, which these pure parsers cannot. */
static inline void fuzz_limit(const uint8_t *buf, size_t len, size_t cap)
{
#ifdef FUZZ_ASAN
    ASAN_POISON_MEMORY_REGION(buf + len, cap - len);
#else
    (void)buf;
    (void)len;
    (void)cap;
#endif
}

static inline void fuzz_unlimit(const uint8_t *buf, size_t cap)
{
#ifdef FUZZ_ASAN
    ASAN_UNPOISON_MEMORY_REGION(buf, cap);
#else
    (void)buf;
    (void)cap;
#endif
}

/* FNV-1a style running digest, to compare what two runs produced. */
static inline uint64_t fuzz_digest(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    if (h == 0)
        h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static inline uint64_t fuzz_digest_u64(uint64_t h, uint64_t v)
{
    return fuzz_digest(h, &v, sizeof v);
}

#endif
