/*
 * Parsing of the only input that comes from the network: the request head
 * (request line and header lines) and the registry path inside it.
 * Pure functions on buffers, so that they can be fuzzed in isolation.
 */
#ifndef INJECTOR_HTTP_H
#define INJECTOR_HTTP_H

#include <stddef.h>

#define HTTP_HEAD_MAX 8192   /* request line plus all headers */
#define HTTP_TARGET_MAX 2048 /* request target (path and query) */
#define HTTP_METHOD_MAX 16
#define HTTP_HEADERS_MAX 64

enum http_result {
	HTTP_NEED_MORE, /* no blank line yet, and still under HTTP_HEAD_MAX */
	HTTP_OK,
	HTTP_BAD,       /* malformed: answer 400 */
	HTTP_TOO_LARGE, /* head longer than HTTP_HEAD_MAX: answer 431 */
};

struct request {
	const char *method; /* points into the parsed buffer */
	size_t method_len;
	const char *path; /* target without any query string */
	size_t path_len;
	size_t head_len; /* bytes up to and including the blank line */
};

/* http_parse_head parses the request head at the start of buf. */
enum http_result http_parse_head(const char *buf, size_t len, struct request *r);

enum route_kind {
	ROUTE_NONE,     /* not a registry path we serve */
	ROUTE_BASE,     /* /v2/ */
	ROUTE_MANIFEST, /* /v2/<name>/manifests/<tag or digest> */
	ROUTE_BLOB,     /* /v2/<name>/blobs/<digest> */
};

struct route {
	enum route_kind kind;
	const char *name; /* validated repository name, points into the path */
	size_t name_len;
	const char *ref; /* validated tag or digest, points into the path */
	size_t ref_len;
	int ref_is_digest;
};

/*
 * route_parse maps a request path to a route. Invalid names or references
 * give ROUTE_NONE, ROUTE_MANIFEST or ROUTE_BLOB with ref_len == 0, so that
 * the caller can still answer with the matching OCI error code.
 */
void route_parse(const char *path, size_t len, struct route *r);

#endif
