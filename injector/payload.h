/*
 * The payload: a ustar archive holding index.txt and the blobs it names.
 * payload_index builds lookup tables that point into the archive buffer,
 * which must outlive the payload.
 */
#ifndef INJECTOR_PAYLOAD_H
#define INJECTOR_PAYLOAD_H

#include <stddef.h>

#include "err.h"
#include "names.h"

#define INDEX_TXT "index.txt"
#define INDEX_TXT_MAX (1u << 20) /* far above any real index; bounds the parse */
#define BLOB_PREFIX "blobs/sha256/"

struct blob {
	char hex[65]; /* 64 lowercase hex digits of its sha256 */
	const unsigned char *data;
	size_t size;
};

struct manifest {
	char hex[65];
	char media_type[MEDIA_TYPE_MAX_LEN + 1];
	const struct blob *blob;
};

struct tag {
	char name[NAME_MAX_LEN + 1];
	char tag[TAG_MAX_LEN + 1];
	char hex[65];
	const struct manifest *manifest;
};

struct payload {
	const char *index_txt;
	size_t index_len;
	struct blob *blobs; /* sorted by hex */
	size_t nblobs, blobs_cap;
	struct manifest *manifests; /* sorted by hex */
	size_t nmanifests, manifests_cap;
	struct tag *tags; /* sorted by name, then tag */
	size_t ntags, tags_cap;
};

/* payload_index indexes the archive in buf; on error p holds nothing to free. */
int payload_index(struct payload *p, const unsigned char *buf, size_t len, struct err *e);

/*
 * index_parse reads index.txt into p->manifests and p->tags and resolves
 * every digest against p->blobs, which must already be sorted.
 */
int index_parse(struct payload *p, const char *txt, size_t len, struct err *e);

void payload_free(struct payload *p);

/* Lookups take a 64-digit hex (not NUL-terminated) and return NULL if absent. */
const struct blob *payload_blob(const struct payload *p, const char *hex);
const struct manifest *payload_manifest(const struct payload *p, const char *hex);
const struct tag *payload_tag(const struct payload *p, const char *name, size_t name_len,
			      const char *tag, size_t tag_len);
int payload_has_repo(const struct payload *p, const char *name, size_t name_len);

#endif
