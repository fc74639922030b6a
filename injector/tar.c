#include "tar.h"

#include <string.h>

/* Offsets and lengths of the ustar header fields we look at. */
#define F_NAME 0
#define F_MODE 100
#define F_UID 108
#define F_GID 116
#define F_SIZE 124
#define F_MTIME 136
#define F_CHKSUM 148
#define F_TYPE 156
#define F_LINKNAME 157
#define F_MAGIC 257
#define F_VERSION 263
#define F_PREFIX 345

#define OCTAL_8 07777777ULL        /* largest value of an 8-byte field */
#define OCTAL_12 077777777777ULL   /* largest value of a 12-byte field: 8 GiB - 1 */
#define CHKSUM_MAX 0777777ULL

/*
 * Fuzz builds accept any well-formed checksum: a mutated header almost never
 * has a matching one, and the fuzzer should reach the fields behind it.
 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define FUZZING 1
#else
#define FUZZING 0
#endif

static int all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

int tar_parse_octal(const unsigned char *f, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0, digits = 0;

	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
		/* Checking before the shift keeps v below 2^63, so nothing wraps. */
		if (v > (max >> 3))
			return -1;
		v = (v << 3) | (uint64_t)(f[i] - '0');
		if (v > max)
			return -1;
	}
	if (digits == 0)
		return -1;
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

static uint64_t header_checksum(const unsigned char *h)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < TAR_BLOCK; i++)
		sum += (i >= F_CHKSUM && i < F_CHKSUM + 8) ? ' ' : h[i];
	return sum;
}

/* check_name finds the name's length and rejects bytes after its terminator. */
static int check_name(const unsigned char *h, size_t *len)
{
	const unsigned char *end = memchr(h + F_NAME, '\0', TAR_NAME_LEN);
	size_t n = end ? (size_t)(end - (h + F_NAME)) : TAR_NAME_LEN;

	if (n == 0 || !all_zero(h + F_NAME + n, TAR_NAME_LEN - n))
		return -1;
	*len = n;
	return 0;
}

/*
 * parse_header validates one non-zero header block at offset off and fills
 * ent->name and ent->size; ent->data is left to the caller.
 */
static int parse_header(const unsigned char *h, size_t off, struct tar_entry *ent,
			struct err *e)
{
	uint64_t sum, v, size;

	if (memcmp(h + F_MAGIC, "ustar\0" "00", 8) != 0) {
		err_set(e, "tar header at offset %zu: not a POSIX ustar header", off);
		return -1;
	}
	if (tar_parse_octal(h + F_CHKSUM, 8, CHKSUM_MAX, &sum) != 0 ||
	    (sum != header_checksum(h) && !FUZZING)) {
		err_set(e, "tar header at offset %zu: bad checksum", off);
		return -1;
	}
	if (h[F_TYPE] != '0' && h[F_TYPE] != '\0') {
		err_set(e, "tar header at offset %zu: type '%c' is not a regular file", off,
			(h[F_TYPE] >= 0x20 && h[F_TYPE] < 0x7f) ? h[F_TYPE] : '?');
		return -1;
	}
	if (tar_parse_octal(h + F_MODE, 8, OCTAL_8, &v) != 0 ||
	    tar_parse_octal(h + F_UID, 8, OCTAL_8, &v) != 0 ||
	    tar_parse_octal(h + F_GID, 8, OCTAL_8, &v) != 0 ||
	    tar_parse_octal(h + F_MTIME, 12, OCTAL_12, &v) != 0 ||
	    tar_parse_octal(h + F_SIZE, 12, OCTAL_12, &size) != 0) {
		err_set(e, "tar header at offset %zu: malformed numeric field", off);
		return -1;
	}
	if (!all_zero(h + F_LINKNAME, 100) || !all_zero(h + F_PREFIX, 155)) {
		err_set(e, "tar header at offset %zu: link name or name prefix set", off);
		return -1;
	}
	if (check_name(h, &ent->name_len) != 0) {
		err_set(e, "tar header at offset %zu: empty or malformed name", off);
		return -1;
	}
#if SIZE_MAX < OCTAL_12
	if (size > SIZE_MAX) {
		err_set(e, "tar header at offset %zu: size does not fit in memory", off);
		return -1;
	}
#endif
	ent->name = (const char *)h + F_NAME;
	ent->size = (size_t)size;
	return 0;
}

/* end_of_archive accepts two or more zero blocks and nothing else after them. */
static int end_of_archive(const unsigned char *p, size_t left, struct err *e)
{
	if (left < 2 * TAR_BLOCK || !all_zero(p, left)) {
		err_set(e, "tar: end-of-archive marker is short or followed by data");
		return -1;
	}
	return 0;
}

int tar_walk(const unsigned char *buf, size_t len, tar_visit_fn visit, void *ctx,
	     struct err *e)
{
	size_t off = 0;

	if (len % TAR_BLOCK != 0) {
		err_set(e, "tar: size %zu is not a multiple of %d", len, TAR_BLOCK);
		return -1;
	}
	for (;;) {
		struct tar_entry ent;
		size_t left, padded;

		if (len - off < TAR_BLOCK) {
			err_set(e, "tar: truncated, no end-of-archive marker");
			return -1;
		}
		if (all_zero(buf + off, TAR_BLOCK))
			return end_of_archive(buf + off, len - off, e);
		if (parse_header(buf + off, off, &ent, e) != 0)
			return -1;
		off += TAR_BLOCK;
		left = len - off; /* a multiple of TAR_BLOCK */
		/* Compare before rounding up so that a huge size cannot wrap. */
		if (ent.size > left) {
			err_set(e, "tar entry at offset %zu: size %zu exceeds the %zu bytes left",
				off - TAR_BLOCK, ent.size, left);
			return -1;
		}
		padded = ent.size + (TAR_BLOCK - ent.size % TAR_BLOCK) % TAR_BLOCK;
		ent.data = buf + off;
		if (visit(ctx, &ent, e) != 0)
			return -1;
		off += padded; /* padded <= left because left is block-aligned */
	}
}
