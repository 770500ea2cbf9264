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
