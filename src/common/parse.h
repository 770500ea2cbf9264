/* Whole-number parsing for flags, environment variables and files: the one
 * place that turns text into a bounded integer, so every caller rejects
 * signs, spaces, trailing junk and overflow the same way. */
#ifndef WR_PARSE_H
#define WR_PARSE_H

/* Parse all of @s as a base-10 integer in [lo, hi] into *out. Returns 0,
 * or -1 (and *out untouched) if @s is empty, has anything after the digits,
 * overflows or is out of range. */
int wr_parse_long(const char *s, long lo, long hi, long *out);

/* The same, for int-sized results. */
int wr_parse_int(const char *s, int lo, int hi, int *out);

#endif
