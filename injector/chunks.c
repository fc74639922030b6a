#include "chunks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vec.h"

#define CHUNK_NAME_LEN (sizeof(CHUNK_PREFIX) - 1 + CHUNK_DIGITS)

/* chunk_number parses "chunk-NNNNN"; -1 means the name is not exactly that. */
static long chunk_number(const char *name)
{
	long v = 0;
	size_t i;

	if (strlen(name) != CHUNK_NAME_LEN)
		return -1;
	for (i = sizeof(CHUNK_PREFIX) - 1; i < CHUNK_NAME_LEN; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* list_chunks returns the sorted chunk numbers found in dir, checking for gaps. */
static int list_chunks(const char *dir, long **nums, size_t *n, struct err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0, i;

	*nums = NULL;
	*n = 0;
	if (d == NULL) {
		err_set(e, "cannot open chunk directory %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		long num;

		if (strncmp(de->d_name, CHUNK_PREFIX, sizeof(CHUNK_PREFIX) - 1) != 0)
			continue; /* ConfigMap volumes also hold ..data and timestamped dirs */
		num = chunk_number(de->d_name);
		if (num < 0) {
			char shown[64];

			err_set(e, "unexpected file %s in %s: chunk names are chunk-NNNNN",
				printable(shown, sizeof(shown), de->d_name, strlen(de->d_name)), dir);
			goto fail;
		}
		if (vec_reserve((void **)nums, &cap, *n, sizeof(**nums)) != 0) {
			err_set(e, "out of memory listing chunks");
			goto fail;
		}
		(*nums)[(*n)++] = num;
	}
	closedir(d);
	d = NULL;
	if (*n == 0) {
		err_set(e, "no chunk-NNNNN files in %s", dir);
		goto fail;
	}
	qsort(*nums, *n, sizeof(**nums), cmp_long);
	for (i = 0; i < *n; i++) {
		if ((*nums)[i] != (long)i) {
			err_set(e, "chunk-%05zu is missing from %s (found %zu chunks, highest chunk-%05ld)",
				i, dir, *n, (*nums)[*n - 1]);
			goto fail;
		}
	}
	return 0;
fail:
	if (d != NULL)
		closedir(d);
	free(*nums);
	*nums = NULL;
	return -1;
}

/* append_file appends the whole regular file at path to out, within PAYLOAD_MAX. */
static int append_file(const char *path, struct chunks *out, size_t *cap, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t before = out->size;

	if (fd < 0) {
		err_set(e, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_set(e, "%s is not a regular file", path);
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (out->size == *cap) {
			size_t ncap = *cap ? *cap * 2 : (size_t)1 << 20;

			if (ncap > PAYLOAD_MAX)
				ncap = PAYLOAD_MAX;
			if (ncap == *cap) {
				err_set(e, "payload exceeds the %zu byte limit at %s", PAYLOAD_MAX, path);
				goto fail;
			}
			unsigned char *p = realloc(out->data, ncap);
			if (p == NULL) {
				err_set(e, "out of memory reading %s", path);
				goto fail;
			}
			out->data = p;
			*cap = ncap;
		}
		r = read(fd, out->data + out->size, *cap - out->size);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set(e, "cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		out->size += (size_t)r;
	}
	close(fd);
	if (out->size == before) {
		err_set(e, "%s is empty", path);
		return -1;
	}
	return 0;
fail:
	close(fd);
	return -1;
}

int chunks_load(const char *dir, struct chunks *out, struct err *e)
{
	long *nums;
	size_t n, i, cap = 0;
	char path[PATH_MAX];

	memset(out, 0, sizeof(*out));
	if (list_chunks(dir, &nums, &n, e) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		int w = snprintf(path, sizeof(path), "%s/" CHUNK_PREFIX "%05zu", dir, i);

		if (w < 0 || (size_t)w >= sizeof(path)) {
			err_set(e, "chunk directory path is too long");
			goto fail;
		}
		if (append_file(path, out, &cap, e) != 0)
			goto fail;
		out->count++;
	}
	free(nums);
	return 0;
fail:
	free(nums);
	chunks_free(out);
	return -1;
}

void chunks_free(struct chunks *c)
{
	free(c->data);
	memset(c, 0, sizeof(*c));
}
