/*
 * index.txt: ASCII lines, each "manifest <digest> <mediaType>" or
 * "tag <name>:<tag> <digest>", every line ending in "\n".
 */
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "vec.h"

#define LINE_MAX_LEN 1024 /* longer than any valid line */

struct fields {
	const char *f[3];
	size_t n[3];
};

/* split3 splits a line into exactly three non-empty fields on single spaces. */
static int split3(const char *line, size_t len, struct fields *out)
{
	size_t i, start = 0, k = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (k == 3 || i == start)
			return -1;
		out->f[k] = line + start;
		out->n[k] = i - start;
		k++;
		start = i + 1;
	}
	return k == 3 ? 0 : -1;
}

static int add_manifest(struct payload *p, const struct fields *fl, size_t lineno,
			struct err *e)
{
	struct manifest *m;

	if (!valid_digest(fl->f[1], fl->n[1]) || !valid_media_type(fl->f[2], fl->n[2])) {
		err_set(e, "index.txt line %zu: want \"manifest sha256:<hex> <mediaType>\"", lineno);
		return -1;
	}
	if (vec_reserve((void **)&p->manifests, &p->manifests_cap, p->nmanifests,
			sizeof(*p->manifests)) != 0) {
		err_set(e, "index.txt: out of memory");
		return -1;
	}
	m = &p->manifests[p->nmanifests++];
	memcpy(m->hex, fl->f[1] + DIGEST_PREFIX_LEN, 64);
	m->hex[64] = '\0';
	memcpy(m->media_type, fl->f[2], fl->n[2]);
	m->media_type[fl->n[2]] = '\0';
	m->blob = NULL;
	return 0;
}

static int add_tag(struct payload *p, const struct fields *fl, size_t lineno, struct err *e)
{
	const char *ref = fl->f[1];
	const char *colon = NULL;
	size_t i, name_len, tag_len;
	struct tag *t;

	/* Names cannot contain ':' (no registry host here), so the last one splits. */
	for (i = 0; i < fl->n[1]; i++)
		if (ref[i] == ':')
			colon = ref + i;
	name_len = colon ? (size_t)(colon - ref) : 0;
	tag_len = colon ? fl->n[1] - name_len - 1 : 0;
	if (colon == NULL || !valid_repo_name(ref, name_len) || !valid_tag(colon + 1, tag_len) ||
	    !valid_digest(fl->f[2], fl->n[2])) {
		err_set(e, "index.txt line %zu: want \"tag <name>:<tag> sha256:<hex>\"", lineno);
		return -1;
	}
	if (vec_reserve((void **)&p->tags, &p->tags_cap, p->ntags, sizeof(*p->tags)) != 0) {
		err_set(e, "index.txt: out of memory");
		return -1;
	}
	t = &p->tags[p->ntags++];
	memcpy(t->name, ref, name_len);
	t->name[name_len] = '\0';
	memcpy(t->tag, colon + 1, tag_len);
	t->tag[tag_len] = '\0';
	memcpy(t->hex, fl->f[2] + DIGEST_PREFIX_LEN, 64);
	t->hex[64] = '\0';
	t->manifest = NULL;
	return 0;
}

static int parse_line(struct payload *p, const char *line, size_t len, size_t lineno,
		      struct err *e)
{
	struct fields fl;
	size_t i;

	if (len == 0 || len > LINE_MAX_LEN) {
		err_set(e, "index.txt line %zu: empty or longer than %d bytes", lineno, LINE_MAX_LEN);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (line[i] < 0x20 || line[i] > 0x7e) {
			err_set(e, "index.txt line %zu: byte 0x%02x is not printable ASCII", lineno,
				(unsigned char)line[i]);
			return -1;
		}
	}
	if (split3(line, len, &fl) != 0) {
		err_set(e, "index.txt line %zu: want three fields separated by single spaces",
			lineno);
		return -1;
	}
	if (fl.n[0] == 8 && memcmp(fl.f[0], "manifest", 8) == 0)
		return add_manifest(p, &fl, lineno, e);
	if (fl.n[0] == 3 && memcmp(fl.f[0], "tag", 3) == 0)
		return add_tag(p, &fl, lineno, e);
	err_set(e, "index.txt line %zu: unknown keyword", lineno);
	return -1;
}

static int cmp_manifest(const void *a, const void *b)
{
	return memcmp(((const struct manifest *)a)->hex, ((const struct manifest *)b)->hex, 64);
}

static int cmp_tag(const void *a, const void *b)
{
	const struct tag *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->tag, y->tag);
}

/* resolve_manifests sorts manifests and links each one to its blob. */
static int resolve_manifests(struct payload *p, struct err *e)
{
	size_t i;

	if (p->nmanifests > 1)
		qsort(p->manifests, p->nmanifests, sizeof(*p->manifests), cmp_manifest);
	for (i = 0; i < p->nmanifests; i++) {
		struct manifest *m = &p->manifests[i];

		if (i > 0 && strcmp(m->hex, p->manifests[i - 1].hex) == 0) {
			err_set(e, "index.txt: manifest sha256:%s listed twice", m->hex);
			return -1;
		}
		m->blob = payload_blob(p, m->hex);
		if (m->blob == NULL) {
			err_set(e, "index.txt: manifest sha256:%s has no blob entry", m->hex);
			return -1;
		}
	}
	return 0;
}

/* resolve_tags sorts tags and links each one to a listed manifest. */
static int resolve_tags(struct payload *p, struct err *e)
{
	size_t i;

	if (p->ntags > 1)
		qsort(p->tags, p->ntags, sizeof(*p->tags), cmp_tag);
	for (i = 0; i < p->ntags; i++) {
		struct tag *t = &p->tags[i];

		if (i > 0 && cmp_tag(t, &p->tags[i - 1]) == 0) {
			err_set(e, "index.txt: tag %s:%s listed twice", t->name, t->tag);
			return -1;
		}
		t->manifest = payload_manifest(p, t->hex);
		if (t->manifest == NULL) {
			err_set(e, "index.txt: tag %s:%s names sha256:%s, which is not a listed manifest",
				t->name, t->tag, t->hex);
			return -1;
		}
	}
	return 0;
}

int index_parse(struct payload *p, const char *txt, size_t len, struct err *e)
{
	size_t off = 0, lineno = 0;

	while (off < len) {
		const char *nl = memchr(txt + off, '\n', len - off);

		lineno++;
		if (nl == NULL) {
			err_set(e, "index.txt line %zu: missing final newline", lineno);
			return -1;
		}
		if (parse_line(p, txt + off, (size_t)(nl - (txt + off)), lineno, e) != 0)
			return -1;
		off = (size_t)(nl - txt) + 1;
	}
	if (p->nmanifests == 0 || p->ntags == 0) {
		err_set(e, "index.txt: needs at least one manifest and one tag");
		return -1;
	}
	if (resolve_manifests(p, e) != 0 || resolve_tags(p, e) != 0)
		return -1;
	return 0;
}
