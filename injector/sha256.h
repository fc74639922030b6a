/* SHA-256 (FIPS 180-4), small and portable: the payload check needs nothing more. */
#ifndef INJECTOR_SHA256_H
#define INJECTOR_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_HEX_LEN 64

struct sha256 {
	uint32_t h[8];
	uint64_t len;     /* bytes hashed so far */
	uint8_t buf[64];  /* pending partial block */
	size_t fill;      /* bytes used in buf */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[32]);

/* sha256_hex hashes data and writes 64 lowercase hex digits plus a NUL. */
void sha256_hex(const void *data, size_t n, char out[SHA256_HEX_LEN + 1]);

#endif
