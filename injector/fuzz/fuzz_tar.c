/* libFuzzer: the whole payload indexer (tar walk, entry names, index.txt). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct payload p;
	struct err e;
	size_t i;

	if (payload_index(&p, data, size, &e) != 0)
		return 0;
	/* Touch every indexed byte range so that ASan checks the bounds. */
	for (i = 0; i < p.nblobs; i++) {
		volatile unsigned char sink = 0;

		if (p.blobs[i].size > 0)
			sink ^= p.blobs[i].data[0] ^ p.blobs[i].data[p.blobs[i].size - 1];
		(void)sink;
		if (payload_blob(&p, p.blobs[i].hex) != &p.blobs[i])
			__builtin_trap();
	}
	for (i = 0; i < p.ntags; i++) {
		const struct tag *t = &p.tags[i];

		if (payload_tag(&p, t->name, strlen(t->name), t->tag, strlen(t->tag)) != t ||
		    t->manifest->blob == NULL)
			__builtin_trap();
	}
	payload_free(&p);
	return 0;
}
