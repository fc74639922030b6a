#include "payload.h"

#include <stdlib.h>
#include <string.h>

#include "tar.h"
#include "vec.h"

#define BLOB_PREFIX_LEN (sizeof(BLOB_PREFIX) - 1)

/* Entry names are fixed by the format, so anything else is rejected. */
static int is_blob_name(const char *name, size_t n)
{
	return n == BLOB_PREFIX_LEN + 64 && memcmp(name, BLOB_PREFIX, BLOB_PREFIX_LEN) == 0 &&
	       valid_hex64(name + BLOB_PREFIX_LEN, 64);
}

static int is_index_name(const char *name, size_t n)
{
	return n == sizeof(INDEX_TXT) - 1 && memcmp(name, INDEX_TXT, n) == 0;
}

/* visit_entry enforces the entry order: index.txt first, then blobs only. */
static int visit_entry(void *ctx, const struct tar_entry *ent, struct err *e)
{
	struct payload *p = ctx;
	char shown[TAR_NAME_LEN + 1];
	struct blob *b;

	if (p->index_txt == NULL) {
		if (!is_index_name(ent->name, ent->name_len)) {
			err_set(e, "payload: first entry is \"%s\", want \"" INDEX_TXT "\"",
				printable(shown, sizeof(shown), ent->name, ent->name_len));
			return -1;
		}
		if (ent->size > INDEX_TXT_MAX) {
			err_set(e, "payload: " INDEX_TXT " is %zu bytes, limit %u", ent->size,
				INDEX_TXT_MAX);
			return -1;
		}
		p->index_txt = (const char *)ent->data;
		p->index_len = ent->size;
		return 0;
	}
	if (!is_blob_name(ent->name, ent->name_len)) {
		err_set(e, "payload: unexpected entry \"%s\"",
			printable(shown, sizeof(shown), ent->name, ent->name_len));
		return -1;
	}
	if (vec_reserve((void **)&p->blobs, &p->blobs_cap, p->nblobs, sizeof(*p->blobs)) != 0) {
		err_set(e, "payload: out of memory indexing blobs");
		return -1;
	}
	b = &p->blobs[p->nblobs++];
	memcpy(b->hex, ent->name + BLOB_PREFIX_LEN, 64);
	b->hex[64] = '\0';
	b->data = ent->data;
	b->size = ent->size;
	return 0;
}

static int cmp_blob(const void *a, const void *b)
{
	return memcmp(((const struct blob *)a)->hex, ((const struct blob *)b)->hex, 64);
}

static int sort_blobs(struct payload *p, struct err *e)
{
	size_t i;

	if (p->nblobs > 1)
		qsort(p->blobs, p->nblobs, sizeof(*p->blobs), cmp_blob);
	for (i = 1; i < p->nblobs; i++) {
		if (memcmp(p->blobs[i - 1].hex, p->blobs[i].hex, 64) == 0) {
			err_set(e, "payload: blob sha256:%s appears twice", p->blobs[i].hex);
			return -1;
		}
	}
	return 0;
}

int payload_index(struct payload *p, const unsigned char *buf, size_t len, struct err *e)
{
	memset(p, 0, sizeof(*p));
	if (tar_walk(buf, len, visit_entry, p, e) != 0)
		goto fail;
	if (p->index_txt == NULL) {
		err_set(e, "payload: empty archive, no " INDEX_TXT);
		goto fail;
	}
	if (sort_blobs(p, e) != 0 || index_parse(p, p->index_txt, p->index_len, e) != 0)
		goto fail;
	return 0;
fail:
	payload_free(p);
	return -1;
}

void payload_free(struct payload *p)
{
	free(p->blobs);
	free(p->manifests);
	free(p->tags);
	memset(p, 0, sizeof(*p));
}

static int cmp_hex_blob(const void *key, const void *elem)
{
	return memcmp(key, ((const struct blob *)elem)->hex, 64);
}

static int cmp_hex_manifest(const void *key, const void *elem)
{
	return memcmp(key, ((const struct manifest *)elem)->hex, 64);
}

const struct blob *payload_blob(const struct payload *p, const char *hex)
{
	if (p->nblobs == 0)
		return NULL;
	return bsearch(hex, p->blobs, p->nblobs, sizeof(*p->blobs), cmp_hex_blob);
}

const struct manifest *payload_manifest(const struct payload *p, const char *hex)
{
	if (p->nmanifests == 0)
		return NULL;
	return bsearch(hex, p->manifests, p->nmanifests, sizeof(*p->manifests),
		       cmp_hex_manifest);
}

/* Comparing bounded strings with a length keeps lookups free of NUL assumptions. */
static int cmp_str(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

const struct tag *payload_tag(const struct payload *p, const char *name, size_t name_len,
			      const char *tag, size_t tag_len)
{
	size_t lo = 0, hi = p->ntags;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tag *t = &p->tags[mid];
		int c = cmp_str(name, name_len, t->name);

		if (c == 0)
			c = cmp_str(tag, tag_len, t->tag);
		if (c == 0)
			return t;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int payload_has_repo(const struct payload *p, const char *name, size_t name_len)
{
	size_t i;

	for (i = 0; i < p->ntags; i++)
		if (cmp_str(name, name_len, p->tags[i].name) == 0)
			return 1;
	return 0;
}
