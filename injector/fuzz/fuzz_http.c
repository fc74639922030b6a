/* libFuzzer: the request-head parser and the registry route parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../http.h"
#include "../names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_route(const char *path, size_t len)
{
	struct route r;

	route_parse(path, len, &r);
	if ((r.kind == ROUTE_MANIFEST || r.kind == ROUTE_BLOB) &&
	    (!valid_repo_name(r.name, r.name_len) || r.name < path || r.name + r.name_len > path + len))
		__builtin_trap();
	if (r.ref_len > 0 && (r.ref < path || r.ref + r.ref_len > path + len))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct request rq;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (http_parse_head(buf, size, &rq) == HTTP_OK) {
		if (rq.head_len > size || rq.path + rq.path_len > buf + size || rq.path_len == 0 ||
		    rq.path[0] != '/')
			__builtin_trap();
		check_route(rq.path, rq.path_len);
	}
	check_route(buf, size); /* the path parser on raw bytes too */
	free(buf);
	return 0;
}
