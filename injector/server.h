/* The listening socket and the accept loop. */
#ifndef INJECTOR_SERVER_H
#define INJECTOR_SERVER_H

#include <sys/socket.h>

#include "err.h"
#include "payload.h"

#define DEFAULT_PORT 5000
/* Connections served at once; further ones wait in the listen backlog. */
#define MAX_CHILDREN 128

struct listen_spec {
	int any; /* all addresses: IPv6 dual-stack, or IPv4 if the pod has no IPv6 */
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

/*
 * listen_parse reads "PORT", "IPv4:PORT" or "[IPv6]:PORT". Port 0 asks the
 * kernel for a free port; the chosen one is printed once listening.
 */
int listen_parse(const char *arg, struct listen_spec *ls, struct err *e);

/* listen_open binds and listens, and describes the bound address in where. */
int listen_open(const struct listen_spec *ls, char *where, size_t where_len, struct err *e);

/* serve_forever accepts connections and answers each in a child process. */
void serve_forever(int listen_fd, const struct payload *p) __attribute__((noreturn));

#endif
