/* crc32c.c - CRC-32C (reflected polynomial 0x82F63B78), slice-by-8.
 * Owns: the checksum only; spool_format.c decides what it covers.
 * Invariant: the eight 256-entry tables are built once (pthread_once) before
 * any use, so concurrent callers never see them half-filled. Eight bytes per
 * step runs at a few GB/s, far above what the disk delivers. */
#include "spool/crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* table[0] is the classic byte-at-a-time table; table[k][b] is the CRC of
 * byte b followed by k zero bytes, which lets one step consume 8 bytes. */
static void
table_init(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t c = b;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		table[0][b] = c;
	}
	for (uint32_t b = 0; b < 256; b++)
		for (int k = 1; k < 8; k++)
			table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xff];
}

static uint32_t
load_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

uint32_t
crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *q = p;
	uint32_t c = ~crc;

	pthread_once(&table_once, table_init);
	while (n >= 8) {
		uint32_t lo = load_le32(q) ^ c;
		uint32_t hi = load_le32(q + 4);

		c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		    table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		    table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		    table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		q += 8;
		n -= 8;
	}
	while (n-- > 0)
		c = (c >> 8) ^ table[0][(c ^ *q++) & 0xff];
	return ~c;
}
