/* Growable arrays without size_t overflow. */
#ifndef INJECTOR_VEC_H
#define INJECTOR_VEC_H

#include <stdint.h>
#include <stdlib.h>

/*
 * vec_reserve makes room for one more element of elem bytes in *arr, which
 * holds n elements in *cap slots. Returns 0, or -1 (leaving *arr untouched)
 * if memory runs out or the new size would overflow.
 */
static inline int vec_reserve(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	if (ncap > SIZE_MAX / 2 / elem)
		return -1;
	ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (p == NULL)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

#endif
