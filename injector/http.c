#include "http.h"

#include <string.h>

#include "names.h"

/* RFC 9110 token characters, used for methods and header field names. */
static int is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Visible ASCII without spaces: all a registry request target ever needs. */
static int is_target_char(char c)
{
	return c > 0x20 && c < 0x7f;
}

static const char *find_crlf(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n')
			return p + i;
	return NULL;
}

/* parse_request_line: METHOD SP origin-form-target SP HTTP/1.x */
static int parse_request_line(const char *l, size_t n, struct request *r)
{
	size_t i = 0, t;

	while (i < n && is_tchar(l[i]))
		i++;
	if (i == 0 || i > HTTP_METHOD_MAX || i >= n || l[i] != ' ')
		return -1;
	r->method = l;
	r->method_len = i;
	t = ++i;
	while (i < n && is_target_char(l[i]))
		i++;
	if (i == t || i - t > HTTP_TARGET_MAX || l[t] != '/' || i >= n || l[i] != ' ')
		return -1;
	r->path = l + t;
	r->path_len = i - t;
	i++;
	if (n - i != 8 || (memcmp(l + i, "HTTP/1.1", 8) != 0 && memcmp(l + i, "HTTP/1.0", 8) != 0))
		return -1;
	{
		const char *q = memchr(r->path, '?', r->path_len);

		if (q != NULL)
			r->path_len = (size_t)(q - r->path);
	}
	return 0;
}

/* parse_header_line: name ":" value, no obsolete line folding, no control bytes. */
static int parse_header_line(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar(l[i]))
		i++;
	if (i == 0 || i >= n || l[i] != ':')
		return -1;
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
	}
	return 0;
}

enum http_result http_parse_head(const char *buf, size_t len, struct request *r)
{
	size_t off = 0, headers = 0;
	const char *eol;

	/*
	 * Every method starts with an uppercase letter. Rejecting anything else
	 * at once answers a TLS ClientHello (0x16) right away, so that clients
	 * which try HTTPS first (containerd for localhost, go-containerregistry)
	 * fall back to plain HTTP instead of waiting for the head timeout.
	 */
	if (len > 0 && !(buf[0] >= 'A' && buf[0] <= 'Z'))
		return HTTP_BAD;
	if (len > HTTP_HEAD_MAX)
		len = HTTP_HEAD_MAX; /* anything after this cannot belong to a valid head */
	eol = find_crlf(buf, len);
	if (eol == NULL)
		return len == HTTP_HEAD_MAX ? HTTP_TOO_LARGE : HTTP_NEED_MORE;
	if (parse_request_line(buf, (size_t)(eol - buf), r) != 0)
		return HTTP_BAD;
	off = (size_t)(eol - buf) + 2;
	for (;;) {
		eol = find_crlf(buf + off, len - off);
		if (eol == NULL)
			return len == HTTP_HEAD_MAX ? HTTP_TOO_LARGE : HTTP_NEED_MORE;
		if (eol == buf + off) {
			r->head_len = off + 2;
			return HTTP_OK;
		}
		if (++headers > HTTP_HEADERS_MAX ||
		    parse_header_line(buf + off, (size_t)(eol - (buf + off))) != 0)
			return HTTP_BAD;
		off = (size_t)(eol - buf) + 2;
	}
}

static int has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(s, prefix, k) == 0;
}

/* last_slash returns the index of the last '/' in s[0..n), or n if none. */
static size_t last_slash(const char *s, size_t n)
{
	size_t i = n;

	while (i > 0)
		if (s[--i] == '/')
			return i;
	return n;
}

void route_parse(const char *path, size_t len, struct route *r)
{
	const char *rest, *kind, *ref;
	size_t rest_len, slash, kslash, kind_len, ref_len;

	memset(r, 0, sizeof(*r));
	if ((len == 3 && memcmp(path, "/v2", 3) == 0) || (len == 4 && memcmp(path, "/v2/", 4) == 0)) {
		r->kind = ROUTE_BASE;
		return;
	}
	/* Percent-encoding is never needed for our names, so it is not decoded. */
	if (!has_prefix(path, len, "/v2/") || memchr(path, '%', len) != NULL)
		return;
	rest = path + 4;
	rest_len = len - 4;
	slash = last_slash(rest, rest_len);
	if (slash == rest_len)
		return;
	ref = rest + slash + 1;
	ref_len = rest_len - slash - 1;
	kslash = last_slash(rest, slash);
	if (kslash == slash)
		return;
	kind = rest + kslash + 1;
	kind_len = slash - kslash - 1;
	if (kind_len == 9 && memcmp(kind, "manifests", 9) == 0)
		r->kind = ROUTE_MANIFEST;
	else if (kind_len == 5 && memcmp(kind, "blobs", 5) == 0)
		r->kind = ROUTE_BLOB;
	else
		return;
	if (!valid_repo_name(rest, kslash)) {
		r->kind = ROUTE_NONE;
		return;
	}
	r->name = rest;
	r->name_len = kslash;
	r->ref_is_digest = valid_digest(ref, ref_len);
	if (r->ref_is_digest || (r->kind == ROUTE_MANIFEST && valid_tag(ref, ref_len))) {
		r->ref = ref;
		r->ref_len = ref_len;
	}
}
