/* Private to src/ctl/: what the files of `warren ctl` share beyond ctl.h.
 * ctl_http.c is the HTTP client, ctl_format.c the table printers, ctl.c the
 * argument parsing and the commands. */
#ifndef WR_CTL_INTERNAL_H
#define WR_CTL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* A printable copy of @len bytes at @s: C0 controls, DEL and UTF-8-encoded
 * C1 controls become '?', and so does every non-ASCII byte when
 * @ascii_only (for bytes that nobody validated as UTF-8). Returns a
 * malloc'd NUL-terminated string the caller frees; aborts on OOM (wr_malloc).
 * Pure; any thread may call it. */
char *wr__ctl_clean(const char *s, size_t len, bool ascii_only);

/* add-node ID ADDR, remove-node ID, transfer-leader [ID] (ctl_members.c):
 * @nargs positional arguments @arg, @arg2 after @cmd. Returns a
 * WR_CTL_EXIT_* code. */
int wr__ctl_members(const char *node, const char *cmd, int nargs, const char *arg,
                    const char *arg2, bool as_json);

/* drain ID, undrain ID (ctl_drain.c): @wait is the --wait value or NULL.
 * Returns a WR_CTL_EXIT_* code. */
int wr__ctl_drain(const char *node, const char *cmd, int nargs, const char *arg,
                  const char *wait, bool as_json);

#endif
