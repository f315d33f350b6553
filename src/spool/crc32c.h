/* crc32c.h - CRC-32C (Castagnoli), the checksum of spool files.
 * Chosen over CRC-32 for its better error detection on storage blocks (it is
 * what ext4, btrfs and iSCSI use). */
#ifndef POSTINO_SPOOL_CRC32C_H
#define POSTINO_SPOOL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 for a fresh checksum) with n bytes at p and return the new
 * value: crc32c(crc32c(0, a, na), b, nb) == crc32c(0, ab, na + nb).
 * crc32c(0, "123456789", 9) == 0xE3069283. Thread-safe. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

#endif
