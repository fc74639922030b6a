/*
 * A strict reader for the POSIX ustar archives written by internal/inject.
 * It walks an in-memory buffer and never copies entry data.
 */
#ifndef INJECTOR_TAR_H
#define INJECTOR_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TAR_BLOCK 512
#define TAR_NAME_LEN 100

struct tar_entry {
	const char *name;          /* not NUL-terminated */
	size_t name_len;           /* 1..TAR_NAME_LEN */
	const unsigned char *data; /* points into the walked buffer */
	size_t size;
};

/* A visitor returns 0 to continue, or sets e and returns -1 to stop the walk. */
typedef int (*tar_visit_fn)(void *ctx, const struct tar_entry *entry, struct err *e);

/*
 * tar_walk calls visit for every entry of the archive in buf, in order.
 * It accepts only what our writer produces: ustar magic "ustar\0" "00",
 * regular files, names in the 100-byte name field (no prefix, no PAX or GNU
 * extensions), valid checksums and octal fields, sizes that fit in the buffer,
 * and an end marker of at least two zero blocks followed by nothing but zeros.
 */
int tar_walk(const unsigned char *buf, size_t len, tar_visit_fn visit, void *ctx,
	     struct err *e);

/*
 * tar_parse_octal parses a NUL- or space-terminated octal field (leading
 * spaces allowed) whose value must not exceed max (max < 2^63).
 * Exposed for the unit tests.
 */
int tar_parse_octal(const unsigned char *field, size_t n, uint64_t max, uint64_t *out);

#endif
