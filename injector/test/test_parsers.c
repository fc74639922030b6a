/*
 * Table tests for the parsers that see untrusted bytes: names, the request
 * head, the route, tar octal fields, and whole payloads built here in memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "names.h"
#include "payload.h"
#include "tar.h"

static int failures;

#define EXPECT(cond, ...)                                     \
	do {                                                  \
		if (!(cond)) {                                \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                  \
			printf("\n");                         \
			failures++;                           \
		}                                             \
	} while (0)

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void test_names(void)
{
	static const struct {
		const char *s;
		int repo, tag;
	} cases[] = {
		{"airgap/registry", 1, 0}, {"a", 1, 1}, {"a.b_c__d---e/f", 1, 0},
		{"A", 0, 1}, {"a//b", 0, 0}, {"/a", 0, 0}, {"a/", 0, 0}, {"a._b", 0, 1},
		{"a___b", 0, 1}, {"-a", 0, 0}, {"a-", 0, 1}, {"..", 0, 0}, {"v1.2.3-rc_1", 1, 1},
		{".tag", 0, 0}, {"a:b", 0, 0}, {"", 0, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].s;

		EXPECT(valid_repo_name(s, strlen(s)) == cases[i].repo, "repo %s", s);
		EXPECT(valid_tag(s, strlen(s)) == cases[i].tag, "tag %s", s);
	}
	EXPECT(valid_digest("sha256:" HEX_A, 71), "digest");
	EXPECT(!valid_digest("sha256:" HEX_A "a", 72), "long digest");
	EXPECT(!valid_digest("sha512:" HEX_A, 71), "algorithm");
	EXPECT(valid_media_type("application/vnd.oci.image.index.v1+json", 39), "media type");
	EXPECT(!valid_media_type("application/json; charset=utf-8", 31), "parameters");
	EXPECT(!valid_media_type("text/plain\r\nX: y", 16), "header injection");
	EXPECT(!valid_media_type("a/b\0c", 5), "NUL");
}

static void test_http(void)
{
	static const struct {
		const char *req;
		enum http_result want;
		const char *path;
	} cases[] = {
		{"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_OK, "/v2/"},
		{"HEAD /v2/a/blobs/x?y=1 HTTP/1.0\r\n\r\n", HTTP_OK, "/v2/a/blobs/x"},
		{"GET /v2/ HTTP/1.1\r\nHost: x\r\n", HTTP_NEED_MORE, NULL},
		{"GET /v2/ HTTP/2.0\r\n\r\n", HTTP_BAD, NULL},
		{"GET v2/ HTTP/1.1\r\n\r\n", HTTP_BAD, NULL},
		{"GET  /v2/ HTTP/1.1\r\n\r\n", HTTP_BAD, NULL},
		{"GET /v2/ HTTP/1.1\r\n folded\r\n\r\n", HTTP_BAD, NULL},
		{"GET /v2/ HTTP/1.1\r\nNo-Colon\r\n\r\n", HTTP_BAD, NULL},
		{"GET /v2/ HTTP/1.1\r\nX: a\nb\r\n\r\n", HTTP_BAD, NULL},
		{"GET /v2/\x01 HTTP/1.1\r\n\r\n", HTTP_BAD, NULL},
		{"\x16\x03\x01", HTTP_BAD, NULL}, /* TLS ClientHello: rejected at once */
		{"get /v2/ HTTP/1.1\r\n\r\n", HTTP_BAD, NULL},
	};
	struct request r;
	char *big;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum http_result got = http_parse_head(cases[i].req, strlen(cases[i].req), &r);

		EXPECT(got == cases[i].want, "request %zu: got %d want %d", i, got, cases[i].want);
		if (got == HTTP_OK && cases[i].path)
			EXPECT(r.path_len == strlen(cases[i].path) &&
				       memcmp(r.path, cases[i].path, r.path_len) == 0,
			       "request %zu: path", i);
	}
	big = malloc(HTTP_HEAD_MAX + 10);
	memcpy(big, "GET /v2/ HTTP/1.1\r\n", 19);
	memset(big + 19, 'a', HTTP_HEAD_MAX + 10 - 19);
	EXPECT(http_parse_head(big, HTTP_HEAD_MAX + 10, &r) == HTTP_TOO_LARGE, "too large");
	EXPECT(http_parse_head(big, HTTP_HEAD_MAX - 1, &r) == HTTP_NEED_MORE, "long, unfinished");
	free(big);
}

static void test_routes(void)
{
	static const struct {
		const char *path;
		enum route_kind kind;
		const char *name, *ref;
	} cases[] = {
		{"/v2/", ROUTE_BASE, NULL, NULL},
		{"/v2", ROUTE_BASE, NULL, NULL},
		{"/v2/airgap/registry/manifests/3.0", ROUTE_MANIFEST, "airgap/registry", "3.0"},
		{"/v2/a/manifests/b/manifests/c", ROUTE_MANIFEST, "a/manifests/b", "c"},
		{"/v2/a/blobs/sha256:" HEX_A, ROUTE_BLOB, "a", "sha256:" HEX_A},
		{"/v2/a/blobs/latest", ROUTE_BLOB, "a", ""},
		{"/v2/a/manifests/..", ROUTE_MANIFEST, "a", ""},
		{"/v2/../manifests/x", ROUTE_NONE, NULL, NULL},
		{"/v2/a%2fb/manifests/x", ROUTE_NONE, NULL, NULL},
		{"/v2/_catalog", ROUTE_NONE, NULL, NULL},
		{"/v2/a/tags/list", ROUTE_NONE, NULL, NULL},
		{"/v2//manifests/x", ROUTE_NONE, NULL, NULL},
		{"/", ROUTE_NONE, NULL, NULL},
	};
	struct route rt;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		route_parse(cases[i].path, strlen(cases[i].path), &rt);
		EXPECT(rt.kind == cases[i].kind, "route %s: kind %d", cases[i].path, rt.kind);
		if (cases[i].name)
			EXPECT(rt.name_len == strlen(cases[i].name) &&
				       memcmp(rt.name, cases[i].name, rt.name_len) == 0,
			       "route %s: name", cases[i].path);
		if (cases[i].ref)
			EXPECT(rt.ref_len == strlen(cases[i].ref) &&
				       (rt.ref_len == 0 || memcmp(rt.ref, cases[i].ref, rt.ref_len) == 0),
			       "route %s: ref", cases[i].path);
	}
}

static void test_octal(void)
{
	uint64_t v = 0;

	EXPECT(tar_parse_octal((const unsigned char *)"0000644\0", 8, 07777777, &v) == 0 &&
		       v == 0644, "mode");
	EXPECT(tar_parse_octal((const unsigned char *)"  17 \0\0\0", 8, 07777777, &v) == 0 &&
		       v == 017, "spaces");
	EXPECT(tar_parse_octal((const unsigned char *)"77777777777\0", 12, 077777777777ULL, &v) == 0,
	       "max size");
	EXPECT(tar_parse_octal((const unsigned char *)"777777777777", 12, 077777777777ULL, &v) != 0,
	       "overflow");
	EXPECT(tar_parse_octal((const unsigned char *)"0000008\0", 8, 07777777, &v) != 0, "digit 8");
	EXPECT(tar_parse_octal((const unsigned char *)"\0\0\0\0\0\0\0\0", 8, 07777777, &v) != 0,
	       "empty");
	EXPECT(tar_parse_octal((const unsigned char *)"12 3\0\0\0\0", 8, 07777777, &v) != 0,
	       "digits after space");
	EXPECT(tar_parse_octal((const unsigned char *)"\x80\0\0\0\0\0\0\x01", 8, 07777777, &v) != 0,
	       "base-256");
}

/* A tiny ustar writer, laid out like Go's archive/tar in FormatUSTAR. */
struct tarbuf {
	unsigned char *p;
	size_t len;
};

static void tar_add(struct tarbuf *t, const char *name, const void *data, size_t n, char type)
{
	unsigned char *h;
	unsigned sum = 0;
	size_t i, padded = (n + 511) / 512 * 512;

	t->p = realloc(t->p, t->len + 512 + padded);
	h = t->p + t->len;
	memset(h, 0, 512 + padded);
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011zo", n);
	memcpy(h + 136, "00000000000", 11);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	memcpy(h + 512, data, n);
	t->len += 512 + padded;
}

static void tar_end(struct tarbuf *t)
{
	t->p = realloc(t->p, t->len + 1024);
	memset(t->p + t->len, 0, 1024);
	t->len += 1024;
}

#define INDEX_OK                                                             \
	"manifest sha256:" HEX_A " application/vnd.oci.image.index.v1+json\n" \
	"manifest sha256:" HEX_B " application/vnd.oci.image.manifest.v1+json\n" \
	"tag airgap/registry:3 sha256:" HEX_A "\n"

/* build returns a payload of index.txt plus blobs A, B and C (C = a layer). */
static struct tarbuf build(const char *index, const char *first_name, char type)
{
	struct tarbuf t = {NULL, 0};

	tar_add(&t, first_name, index, strlen(index), '0');
	tar_add(&t, BLOB_PREFIX HEX_A, "{\"index\":1}", 11, '0');
	tar_add(&t, BLOB_PREFIX HEX_B, "{}", 2, type);
	tar_add(&t, BLOB_PREFIX HEX_C, "layer", 5, '0');
	tar_end(&t);
	return t;
}

static int index_ok(struct tarbuf t)
{
	struct payload p;
	struct err e;
	int rc = payload_index(&p, t.p, t.len, &e);

	if (rc == 0)
		payload_free(&p);
	free(t.p);
	return rc == 0;
}

static void test_payload(void)
{
	struct tarbuf t = build(INDEX_OK, INDEX_TXT, '0');
	struct payload p;
	struct err e;
	const struct tag *tg;

	EXPECT(payload_index(&p, t.p, t.len, &e) == 0, "valid payload: %s", e.msg);
	tg = payload_tag(&p, "airgap/registry", 15, "3", 1);
	EXPECT(tg && strcmp(tg->manifest->hex, HEX_A) == 0 && tg->manifest->blob->size == 11,
	       "tag lookup");
	EXPECT(payload_tag(&p, "airgap/registry", 15, "4", 1) == NULL, "unknown tag");
	EXPECT(payload_blob(&p, HEX_C) && payload_blob(&p, HEX_C)->size == 5, "blob lookup");
	EXPECT(payload_has_repo(&p, "airgap/registry", 15) && !payload_has_repo(&p, "airgap", 6),
	       "repo lookup");
	payload_free(&p);

	/* Structural damage: every byte of a header counts. */
	t.p[148 + 512] ^= 1; /* checksum of the second header */
	EXPECT(payload_index(&p, t.p, t.len, &e) != 0, "bad checksum accepted");
	t.p[148 + 512] ^= 1;
	EXPECT(payload_index(&p, t.p, t.len - 512, &e) != 0, "single end block accepted");
	t.p[t.len - 1] = 1;
	EXPECT(payload_index(&p, t.p, t.len, &e) != 0, "data after end accepted");
	free(t.p);

	EXPECT(!index_ok(build(INDEX_OK, "../etc/passwd", '0')), "traversal name");
	EXPECT(!index_ok(build(INDEX_OK, BLOB_PREFIX HEX_B, '0')), "index.txt not first");
	EXPECT(!index_ok(build(INDEX_OK, INDEX_TXT, '5')), "directory entry");
	EXPECT(!index_ok(build(INDEX_OK, INDEX_TXT, '2')), "symlink entry");
	EXPECT(!index_ok(build(INDEX_OK, INDEX_TXT, 'x')), "PAX header");
	EXPECT(!index_ok(build("tag a:b sha256:" HEX_C "\n", INDEX_TXT, '0')),
	       "tag to a blob that is not a listed manifest");
	EXPECT(!index_ok(build("manifest sha256:" HEX_A " a/b\ntag a:b sha256:" HEX_A,
			       INDEX_TXT, '0')),
	       "missing final newline");
	EXPECT(!index_ok(build("manifest sha256:" HEX_A " a/b\nmanifest sha256:" HEX_A
			       " a/b\ntag a:b sha256:" HEX_A "\n",
			       INDEX_TXT, '0')),
	       "duplicate manifest");
	EXPECT(!index_ok(build("manifest sha256:dddddddddddddddddddddddddddddddddddddddddddddddddd"
			       "dddddddddddddd a/b\ntag a:b sha256:" HEX_A "\n",
			       INDEX_TXT, '0')),
	       "manifest without blob");
	EXPECT(!index_ok(build("manifest sha256:" HEX_A " a/b\r\ntag a:b sha256:" HEX_A "\n",
			       INDEX_TXT, '0')),
	       "CR in media type");
	EXPECT(!index_ok(build("manifest  sha256:" HEX_A " a/b\ntag a:b sha256:" HEX_A "\n",
			       INDEX_TXT, '0')),
	       "double space");
	EXPECT(index_ok(build("manifest sha256:" HEX_A " a/b\ntag a:b sha256:" HEX_A "\n",
			      INDEX_TXT, '0')),
	       "minimal index");

	/* A size that points past the end of the buffer. */
	t = build(INDEX_OK, INDEX_TXT, '0');
	memcpy(t.p + 124, "77777777777", 11);
	EXPECT(payload_index(&p, t.p, t.len, &e) != 0, "oversized entry accepted");
	free(t.p);
}

int main(void)
{
	test_names();
	test_http();
	test_routes();
	test_octal();
	test_payload();
	if (failures == 0)
		printf("ok   parsers: names, http, routes, tar, payload\n");
	return failures != 0;
}
