/* Error messages carried back to main, which alone decides to print and exit. */
#ifndef INJECTOR_ERR_H
#define INJECTOR_ERR_H

#include <stddef.h>

struct err {
	char msg[512];
};

/* err_set formats a message into e (truncating, always NUL-terminated). */
void err_set(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * printable copies at most n bytes of untrusted src into dst as printable
 * ASCII ('?' for anything else), so that names taken from the payload or the
 * network can be put into messages and logs without control characters.
 */
const char *printable(char *dst, size_t dstlen, const void *src, size_t n);

#endif
