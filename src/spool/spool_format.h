/* spool_format.h - the bytes of a spool file (internal to src/spool/).
 * A spool file is, in this order:
 *   header    64 bytes of text, see spool_format.c: magic, lengths, checksums
 *   content   the message as stored (LF line ends), content_len bytes
 *   envelope  "key=value\n" lines, env_len bytes
 *   records   zero or more per-recipient updates, one checksummed line each
 * spool.c writes and renames files; this module only turns structs into bytes
 * and bytes back into structs, strictly: any deviation is an error. */
#ifndef POSTINO_SPOOL_SPOOL_FORMAT_H
#define POSTINO_SPOOL_SPOOL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool/spool.h"
#include "util/buf.h"

#define SPOOL_FORMAT_HDR_LEN 64
#define SPOOL_FORMAT_ENV_MAX (16u << 20)   /* envelope text bound (16 MiB) */
#define SPOOL_FORMAT_REC_MAX 65536u        /* one update record */
#define SPOOL_FORMAT_RECS_MAX (64u << 20)  /* all records of one file */

struct spool_format_hdr {
	uint64_t content_len;
	uint64_t env_len;
	uint32_t content_crc;  /* CRC-32C of the content */
	uint32_t env_crc;      /* CRC-32C of the envelope text */
};

/* Header to its 64 bytes and back. get returns -1 when the bytes are not
 * exactly a header this version writes (magic, layout, header checksum). */
void spool_format_hdr_put(const struct spool_format_hdr *h, char out[SPOOL_FORMAT_HDR_LEN]);
int spool_format_hdr_get(const char in[SPOOL_FORMAT_HDR_LEN], struct spool_format_hdr *h);

/* Append the envelope text of env to out (env->size is not written: the
 * header's content length is authoritative). -1 when out's max is hit. */
int spool_format_env_put(const struct spool_envelope *env, struct buf *out);
/* Parse envelope text; *out is a new envelope (size left 0). -1 with *why
 * (a static string) on any error. */
int spool_format_env_get(const char *p, size_t n, struct spool_envelope **out,
    const char **why);

/* Append the update record for recipient idx of env to out. -1 when out's
 * max is hit. */
int spool_format_rec_put(const struct spool_envelope *env, size_t idx, struct buf *out);
/* Apply the records in p (n bytes) to env in order. A last record that is
 * incomplete or fails its checksum is a write torn by a crash: it is
 * ignored, and *valid is set to the length of the good prefix (else n).
 * -1 with *why when a bad record is followed by more bytes (corruption). */
int spool_format_recs_apply(struct spool_envelope *env, const char *p, size_t n, size_t *valid,
    const char **why);

#endif
