/*
 * injector: a pull-only OCI registry for bootstrapping an air-gapped cluster.
 *
 *   injector --sha256 <64-hex> --chunks <dir> [--listen [addr:]port]
 *
 * It reassembles the payload from the chunk-NNNNN files in <dir>, refuses to
 * go on unless the whole payload has the expected sha256, indexes it (see
 * payload.h for the format), and then serves it from memory. It opens no
 * file after start-up. Exit status: 0 never (it serves until killed),
 * 1 for a bad payload or a socket error, 2 for a bad command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"
#include "err.h"
#include "names.h"
#include "payload.h"
#include "server.h"
#include "sha256.h"

struct options {
	char sha256[SHA256_HEX_LEN + 1];
	const char *chunks;
	const char *listen;
};

static void usage(const char *why)
{
	fprintf(stderr, "injector: %s\n"
			"usage: injector --sha256 <64-hex> --chunks <dir> [--listen [addr:]port]\n",
		why);
	exit(2);
}

/* parse_sha256 accepts 64 hex digits in either case, optionally "sha256:"-prefixed. */
static int parse_sha256(const char *s, char out[SHA256_HEX_LEN + 1])
{
	size_t i;

	if (strncmp(s, DIGEST_PREFIX, DIGEST_PREFIX_LEN) == 0)
		s += DIGEST_PREFIX_LEN;
	if (strlen(s) != SHA256_HEX_LEN)
		return -1;
	for (i = 0; i < SHA256_HEX_LEN; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		out[i] = c;
	}
	out[SHA256_HEX_LEN] = '\0';
	return 0;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	int i, have_sha = 0;

	memset(o, 0, sizeof(*o));
	o->listen = "5000";
	for (i = 1; i < argc; i++) {
		const char *flag = argv[i];

		if (i + 1 >= argc)
			usage(strcmp(flag, "--help") == 0 ? "help" : "every flag takes a value");
		if (strcmp(flag, "--sha256") == 0) {
			if (parse_sha256(argv[++i], o->sha256) != 0)
				usage("--sha256 wants 64 hex digits");
			have_sha = 1;
		} else if (strcmp(flag, "--chunks") == 0) {
			o->chunks = argv[++i];
		} else if (strcmp(flag, "--listen") == 0) {
			o->listen = argv[++i];
		} else {
			usage("unknown flag");
		}
	}
	if (!have_sha || o->chunks == NULL)
		usage("--sha256 and --chunks are required");
}

static void die(const struct err *e)
{
	fprintf(stderr, "injector: %s\n", e->msg);
	exit(1);
}

int main(int argc, char **argv)
{
	struct options o;
	struct listen_spec ls;
	struct chunks c;
	struct payload p;
	struct err e;
	char actual[SHA256_HEX_LEN + 1], where[80];
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv, &o);
	if (listen_parse(o.listen, &ls, &e) != 0)
		usage(e.msg);
	if (chunks_load(o.chunks, &c, &e) != 0)
		die(&e);
	sha256_hex(c.data, c.size, actual);
	if (strcmp(actual, o.sha256) != 0) {
		fprintf(stderr,
			"injector: payload sha256 mismatch: expected sha256:%s, actual sha256:%s "
			"(%zu chunks, %zu bytes read from %s); refusing to serve\n",
			o.sha256, actual, c.count, c.size, o.chunks);
		return 1;
	}
	printf("injector: payload sha256:%s verified (%zu chunks, %zu bytes)\n", actual, c.count,
	       c.size);
	if (payload_index(&p, c.data, c.size, &e) != 0) {
		fprintf(stderr, "injector: invalid payload: %s\n", e.msg);
		return 1;
	}
	fd = listen_open(&ls, where, sizeof(where), &e);
	if (fd < 0)
		die(&e);
	printf("injector: serving %zu manifests, %zu tags, %zu blobs; listening on %s\n",
	       p.nmanifests, p.ntags, p.nblobs, where);
	fflush(stdout);
	serve_forever(fd, &p);
}
