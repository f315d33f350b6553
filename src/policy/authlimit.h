/* authlimit.h - slowing down password guessing, per client address.
 * Owns: the count of recent failed AUTH attempts per address and what they
 * cost the client: a reply delay that doubles with each failure, then a lock
 * during which AUTH is refused with 421 4.7.0. Time comes in as `now`.
 * Memory is bounded: at most AUTHLIMIT_MAX_ENTRIES addresses are tracked;
 * past that the stalest entry is forgotten. */
#ifndef POSTINO_POLICY_AUTHLIMIT_H
#define POSTINO_POLICY_AUTHLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define AUTHLIMIT_WINDOW 900        /* seconds a failure is remembered */
#define AUTHLIMIT_LOCK_AFTER 10     /* failures in the window that lock the address */
#define AUTHLIMIT_LOCK_TIME 900     /* seconds the lock lasts */
#define AUTHLIMIT_MAX_DELAY 16      /* seconds, the cap of the doubling delay */
#define AUTHLIMIT_MAX_ENTRIES 4096

struct authlimit;

struct authlimit *authlimit_new(void);
void authlimit_free(struct authlimit *a);
/* True while the address (16 bytes, IPv4 mapped) is locked out. */
bool authlimit_locked(struct authlimit *a, const uint8_t addr[16], int64_t now);
/* Record a failure; returns the seconds to wait before answering it (1, 2,
 * 4, ... up to AUTHLIMIT_MAX_DELAY), or -1 when this failure locks the address. */
int authlimit_failed(struct authlimit *a, const uint8_t addr[16], int64_t now);
/* A success forgets the address's failures. */
void authlimit_succeeded(struct authlimit *a, const uint8_t addr[16]);

#endif
