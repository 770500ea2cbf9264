/* World files: the YAML under world/ (zones, rooms, items, NPCs, channels)
 * turned into a struct wr_mud_model (model.h). Uses libyaml: it is the
 * plain event parser Debian ships as libyaml-dev (0.2.5), it reports the
 * line and column of every event (marks), and it does nothing clever on
 * its own (no type guessing beyond what we ask for). The schema is in
 * docs/world-format.md.
 *
 * Two steps, so that the state machine never reads files:
 *   1. wr_mud_bundle_read_dir (node side, does I/O, so it lives in
 *      src/mud_node/world_dir.c, outside the pure src/mud/): reads every *.yaml
 *      file under a directory into a *bundle*: the canonical concatenation
 *        "WRWORLD1" | u32 nfiles | (u32 name_len | name | u32 len | bytes)*
 *      with files sorted by their path relative to the directory (bytes()
 *      little endian). The same files give the same bundle on every node.
 *   2. wr_mud_model_parse (pure: no I/O, no clock, no random): parses and
 *      validates a bundle into a model. Run by the leader before it
 *      proposes a world, and by every node's state machine when it applies
 *      one; the same bundle gives the same model or the same error.
 *
 * Errors are one line, "FILE:LINE:COLUMN: what is wrong" (LINE and COLUMN
 * 1-based), e.g. "zones/town.yaml:12:9: exit north leads to unknown room
 * town.gat". */
#ifndef WR_MUD_WORLDFILE_H
#define WR_MUD_WORLDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "mud/model.h"

#define WR_MUD_BUNDLE_MAX (4u << 20) /* 4 MiB: the largest world accepted */
#define WR_MUD_BUNDLE_MAGIC "WRWORLD1"
#define WR_MUD_BUNDLE_MAX_FILES 256
#define WR_MUD_BUNDLE_MAX_NAME 255 /* bytes of a file's relative path */

/* Read DIR/ **.yaml (recursively, sorted) into @out (appended). Returns 0,
 * or -1 with a message in @err (missing dir, unreadable file, no files,
 * too large). */
int wr_mud_bundle_read_dir(const char *dir, struct wr_writer *out, char *err, size_t errlen);

/* Write the files of @bundle (the format above) under DIR, the other way
 * round from wr_mud_bundle_read_dir (node side, does I/O; lives in
 * world_dir.c too): DIR is created if missing (its parent must exist), and
 * so are the subdirectories the paths name ("zones/"). Every path must be
 * relative, of plain names ([A-Za-z0-9_.-], none starting with '.') and end
 * in ".yaml", so a bundle cannot write outside DIR. Unless @force, DIR must
 * be empty or missing; with @force, files of the same name are replaced and
 * every other file is left alone. Returns 0, or -1 with a message in @err
 * (files written before the error stay). */
int wr_mud_bundle_write_dir(const char *dir, const void *bundle, size_t len, bool force, char *err,
                            size_t errlen);

/* Parse and validate @bundle. Returns 0 and a new model in *@out (free it
 * with wr_mud_model_free), or -1 and "FILE:LINE:COLUMN: ..." in @err. The
 * model's hash is BLAKE2b-128 of the bundle bytes. */
int wr_mud_model_parse(const void *bundle, size_t len, struct wr_mud_model **out, char *err,
                       size_t errlen);

/* The canonical export of @m: a bundle (the format above) of YAML files,
 * world.yaml and zones/KEY.yaml per zone, that parses back to a model
 * equal to @m (same keys, same content; indexes grouped as the parser
 * groups them). Canonical: every field in a fixed order, defaults written
 * out, so export(parse(export(m))) == export(m) byte for byte, and two
 * models export equal iff they are the same world. Pure. Returns 0, or -1
 * with a message in @err. */
int wr_mud_model_export(const struct wr_mud_model *m, struct wr_writer *out, char *err,
                        size_t errlen);

#endif
