/* Reassembly of the payload from the chunk-NNNNN files of a mounted ConfigMap. */
#ifndef INJECTOR_CHUNKS_H
#define INJECTOR_CHUNKS_H

#include <stddef.h>

#include "err.h"

#define CHUNK_PREFIX "chunk-"
#define CHUNK_DIGITS 5
#define CHUNKS_MAX 100000               /* chunk-00000 .. chunk-99999 */
#define PAYLOAD_MAX ((size_t)1 << 31)   /* 2 GiB: far above a registry image */

struct chunks {
	unsigned char *data; /* the concatenated payload, malloc'd */
	size_t size;
	size_t count;
};

/*
 * chunks_load reads every chunk-NNNNN in dir in numeric order into one
 * buffer. A gap in the numbering, a malformed chunk name, a chunk that is
 * not a regular file (after following symlinks, which is how ConfigMap
 * volumes present their keys) or an empty chunk is an error.
 */
int chunks_load(const char *dir, struct chunks *out, struct err *e);

void chunks_free(struct chunks *c);

#endif
