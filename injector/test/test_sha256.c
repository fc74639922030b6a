/* SHA-256 against the FIPS 180-2 appendix B vectors, whole and in odd pieces. */
#include <stdio.h>
#include <string.h>

#include "sha256.h"

static int failures;

static void hex(const unsigned char sum[32], char out[65])
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", sum[i]);
}

/* check hashes msg repeated times, fed in pieces of step bytes. */
static void check(const char *label, const char *msg, size_t repeat, size_t step,
		  const char *want)
{
	struct sha256 s;
	unsigned char sum[32];
	char got[65];
	size_t len = strlen(msg), r, off;

	sha256_init(&s);
	for (r = 0; r < repeat; r++)
		for (off = 0; off < len; off += step)
			sha256_update(&s, msg + off, len - off < step ? len - off : step);
	sha256_final(&s, sum);
	hex(sum, got);
	if (strcmp(got, want) != 0) {
		printf("FAIL %s (step %zu): got %s want %s\n", label, step, got, want);
		failures++;
	}
}

int main(void)
{
	static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	static const char two_blocks[] =
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
	static const char million_a[] =
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	static const char empty[] =
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	static const char msg2[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char got[65];
	size_t step;

	for (step = 1; step <= 64; step++) {
		check("abc", "abc", 1, step, abc);
		check("448-bit message", msg2, 1, step, two_blocks);
	}
	check("one million 'a'", "aaaaaaaaaa", 100000, 10, million_a);
	check("one million 'a'", "aaaaaaaaaa", 100000, 3, million_a);
	check("empty", "", 1, 1, empty);
	sha256_hex("abc", 3, got);
	if (strcmp(got, abc) != 0) {
		printf("FAIL sha256_hex: got %s\n", got);
		failures++;
	}
	if (failures == 0)
		printf("ok   sha256: FIPS 180-2 vectors\n");
	return failures != 0;
}
