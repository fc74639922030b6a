#include "handler.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http.h"

struct response {
	int status;
	const char *content_type;
	const char *digest_hex; /* sets Docker-Content-Digest when not NULL */
	const unsigned char *body;
	size_t body_len;
};

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	default: return "Error";
	}
}

/* send_all writes everything or gives up; SO_SNDTIMEO turns a stall into EAGAIN. */
static int send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* log_request writes one line with a single write(2), so that lines from
 * concurrent children never interleave. */
static void log_request(const struct request *rq, int status, size_t sent)
{
	char line[HTTP_METHOD_MAX + HTTP_TARGET_MAX + 64];
	int n;

	if (rq != NULL)
		n = snprintf(line, sizeof(line), "%.*s %.*s %d %zu\n", (int)rq->method_len,
			     rq->method, (int)rq->path_len, rq->path, status, sent);
	else
		n = snprintf(line, sizeof(line), "- - %d %zu\n", status, sent);
	if (n > 0)
		(void)!write(STDOUT_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static int is_head(const struct request *rq)
{
	return rq != NULL && rq->method_len == 4 && memcmp(rq->method, "HEAD", 4) == 0;
}

static void respond(int fd, const struct request *rq, const struct response *rs)
{
	char head[1024]; /* the longest head (255-byte media type, digest) is under 512 */
	int n;
	size_t sent = 0;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %zu\r\n"
		     "%s%s%s"
		     "%s"
		     "Docker-Distribution-API-Version: registry/2.0\r\n"
		     "Connection: close\r\n"
		     "\r\n",
		     rs->status, reason(rs->status), rs->content_type, rs->body_len,
		     rs->digest_hex ? "Docker-Content-Digest: sha256:" : "",
		     rs->digest_hex ? rs->digest_hex : "", rs->digest_hex ? "\r\n" : "",
		     rs->status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return; /* cannot happen: every field above is bounded */
	if (send_all(fd, head, (size_t)n) == 0 && !is_head(rq) && rs->body_len > 0 &&
	    send_all(fd, rs->body, rs->body_len) == 0)
		sent = rs->body_len;
	log_request(rq, rs->status, sent);
}

static void respond_error(int fd, const struct request *rq, int status, const char *code,
			  const char *message)
{
	char body[256];
	struct response rs = {status, "application/json", NULL, (const unsigned char *)body, 0};
	int n = snprintf(body, sizeof(body),
			 "{\"errors\":[{\"code\":\"%s\",\"message\":\"%s\"}]}\n", code, message);

	rs.body_len = (n > 0 && (size_t)n < sizeof(body)) ? (size_t)n : 0;
	respond(fd, rq, &rs);
}

static void serve_manifest(int fd, const struct request *rq, const struct route *rt,
			   const struct payload *p)
{
	const struct manifest *m = NULL;
	const struct tag *t;

	if (rt->ref_is_digest) {
		m = payload_manifest(p, rt->ref + DIGEST_PREFIX_LEN);
	} else if (rt->ref_len > 0) {
		t = payload_tag(p, rt->name, rt->name_len, rt->ref, rt->ref_len);
		m = t ? t->manifest : NULL;
	}
	if (m == NULL) {
		respond_error(fd, rq, 404, "MANIFEST_UNKNOWN", "manifest unknown");
		return;
	}
	struct response rs = {200, m->media_type, m->hex, m->blob->data, m->blob->size};
	respond(fd, rq, &rs);
}

static void serve_blob(int fd, const struct request *rq, const struct route *rt,
		       const struct payload *p)
{
	const struct blob *b = NULL;

	if (rt->ref_is_digest)
		b = payload_blob(p, rt->ref + DIGEST_PREFIX_LEN);
	if (b == NULL) {
		respond_error(fd, rq, 404, "BLOB_UNKNOWN", "blob unknown");
		return;
	}
	struct response rs = {200, "application/octet-stream", b->hex, b->data, b->size};
	respond(fd, rq, &rs);
}

static void dispatch(int fd, const struct request *rq, const struct payload *p)
{
	static const unsigned char empty_json[] = "{}";
	struct route rt;

	if (!(rq->method_len == 3 && memcmp(rq->method, "GET", 3) == 0) && !is_head(rq)) {
		respond_error(fd, rq, 405, "UNSUPPORTED", "this registry is pull-only");
		return;
	}
	route_parse(rq->path, rq->path_len, &rt);
	if (rt.kind == ROUTE_BASE) {
		struct response rs = {200, "application/json", NULL, empty_json, 2};
		respond(fd, rq, &rs);
		return;
	}
	if (rt.kind == ROUTE_NONE || !payload_has_repo(p, rt.name, rt.name_len)) {
		respond_error(fd, rq, 404, "NAME_UNKNOWN", "repository name not known to registry");
		return;
	}
	if (rt.kind == ROUTE_MANIFEST)
		serve_manifest(fd, rq, &rt, p);
	else
		serve_blob(fd, rq, &rt, p);
}

/* read_head reads until a complete request head, an error, or the buffer is full. */
static enum http_result read_head(int fd, char *buf, size_t cap, struct request *rq)
{
	size_t len = 0;

	for (;;) {
		enum http_result res;
		ssize_t r = recv(fd, buf + len, cap - len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return HTTP_NEED_MORE; /* closed or failed before a full head */
		len += (size_t)r;
		res = http_parse_head(buf, len, rq);
		if (res != HTTP_NEED_MORE || len == cap)
			return res == HTTP_NEED_MORE ? HTTP_TOO_LARGE : res;
	}
}

/* The line logged if a deadline strikes; set before each alarm() below. */
static char timeout_line[HTTP_METHOD_MAX + HTTP_TARGET_MAX + 64];
static size_t timeout_len;

static void on_deadline(int sig)
{
	(void)sig;
	(void)!write(STDOUT_FILENO, timeout_line, timeout_len); /* async-signal-safe */
	_exit(1);
}

static void set_deadline(unsigned seconds, const struct request *rq)
{
	int n;

	if (rq != NULL)
		n = snprintf(timeout_line, sizeof(timeout_line), "%.*s %.*s timeout after %us\n",
			     (int)rq->method_len, rq->method, (int)rq->path_len, rq->path, seconds);
	else
		n = snprintf(timeout_line, sizeof(timeout_line), "- - timeout after %us\n", seconds);
	timeout_len = (n > 0 && (size_t)n < sizeof(timeout_line)) ? (size_t)n : 0;
	alarm(seconds);
}

void handle_connection(int fd, const struct payload *p)
{
	char buf[HTTP_HEAD_MAX];
	struct timeval stall = {SEND_STALL_S, 0};
	struct request rq;

	signal(SIGALRM, on_deadline);
	set_deadline(HEAD_TIMEOUT_S, NULL);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &stall, sizeof(stall));
	switch (read_head(fd, buf, sizeof(buf), &rq)) {
	case HTTP_OK:
		break;
	case HTTP_BAD:
		respond_error(fd, NULL, 400, "UNSUPPORTED", "malformed request");
		return;
	case HTTP_TOO_LARGE:
		respond_error(fd, NULL, 431, "UNSUPPORTED", "request head too large");
		return;
	case HTTP_NEED_MORE:
		return; /* the client went away */
	}
	set_deadline(CONN_DEADLINE_S, &rq);
	dispatch(fd, &rq, p);
}
