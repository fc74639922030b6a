#include "err.h"

#include <stdarg.h>
#include <stdio.h>

void err_set(struct err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

const char *printable(char *dst, size_t dstlen, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t i;

	if (dstlen == 0)
		return dst;
	if (n > dstlen - 1)
		n = dstlen - 1;
	for (i = 0; i < n; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	dst[n] = '\0';
	return dst;
}
