/*
 * libFuzzer: the index.txt parser alone, against a fixed table of blobs whose
 * digests are in the seed corpus (so the fuzzer reaches the resolution code).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const hexes[] = {
	"1111111111111111111111111111111111111111111111111111111111111111",
	"2222222222222222222222222222222222222222222222222222222222222222",
	"3333333333333333333333333333333333333333333333333333333333333333",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char body[] = "{}";
	struct blob blobs[3];
	struct payload p;
	struct err e;
	char *txt;
	size_t i;

	memset(&p, 0, sizeof(p));
	for (i = 0; i < 3; i++) {
		memcpy(blobs[i].hex, hexes[i], 65);
		blobs[i].data = body;
		blobs[i].size = 2;
	}
	/* A private copy, exactly size bytes, so that ASan catches any over-read. */
	txt = malloc(size ? size : 1);
	if (txt == NULL)
		return 0;
	memcpy(txt, data, size);
	p.blobs = malloc(sizeof(blobs));
	if (p.blobs == NULL) {
		free(txt);
		return 0;
	}
	memcpy(p.blobs, blobs, sizeof(blobs));
	p.nblobs = p.blobs_cap = 3;
	if (index_parse(&p, txt, size, &e) == 0) {
		for (i = 0; i < p.ntags; i++)
			if (p.tags[i].manifest == NULL || p.tags[i].manifest->blob == NULL)
				__builtin_trap();
	}
	payload_free(&p);
	free(txt);
	return 0;
}
