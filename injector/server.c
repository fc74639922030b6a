/*
 * Concurrency: one forked child per connection. A slow or stalled client
 * then only holds its own process (bounded by the deadlines in handler.h),
 * never the accept loop or another pull; a crash in a child cannot take the
 * server down; and the payload is shared copy-on-write, never copied, since
 * nothing writes to it after start-up. poll() or threads would save a few
 * processes at the price of a state machine or locking, which a bootstrap
 * registry serving one kubelet does not need. MAX_CHILDREN bounds the fan-out.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handler.h"

static int parse_port(const char *s, unsigned *port)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == 5 || s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (i == 0 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

static void set_any(struct listen_spec *ls, unsigned port)
{
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ls->addr;

	ls->any = 1;
	a->sin6_family = AF_INET6;
	a->sin6_addr = in6addr_any;
	a->sin6_port = htons((uint16_t)port);
	ls->addr_len = sizeof(*a);
}

int listen_parse(const char *arg, struct listen_spec *ls, struct err *e)
{
	char host[64];
	const char *colon = strrchr(arg, ':');
	unsigned port;
	size_t hl;

	memset(ls, 0, sizeof(*ls));
	if (colon == NULL) {
		if (parse_port(arg, &port) != 0)
			goto bad;
		set_any(ls, port);
		return 0;
	}
	hl = (size_t)(colon - arg);
	if (parse_port(colon + 1, &port) != 0 || hl == 0 || hl >= sizeof(host))
		goto bad;
	if (arg[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ls->addr;

		if (hl < 3 || arg[hl - 1] != ']')
			goto bad;
		memcpy(host, arg + 1, hl - 2);
		host[hl - 2] = '\0';
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		ls->addr_len = sizeof(*a);
		return 0;
	}
	{
		struct sockaddr_in *a = (struct sockaddr_in *)&ls->addr;

		memcpy(host, arg, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		ls->addr_len = sizeof(*a);
		return 0;
	}
bad:
	err_set(e, "--listen wants PORT, IPv4:PORT or [IPv6]:PORT, got \"%.64s\"", arg);
	return -1;
}

static int bind_listen(const struct sockaddr *sa, socklen_t len, int any)
{
	int one = 1, zero = 0;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (any && sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, sa, len) != 0 || listen(fd, 128) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static void describe(int fd, char *where, size_t where_len)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		snprintf(where, where_len, "?");
		return;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
		snprintf(where, where_len, "[%s]:%u", host, port);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
		snprintf(where, where_len, "%s:%u", host, port);
	}
}

int listen_open(const struct listen_spec *ls, char *where, size_t where_len, struct err *e)
{
	int fd = bind_listen((const struct sockaddr *)&ls->addr, ls->addr_len, ls->any);

	if (fd < 0 && ls->any && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
		/* A pod without IPv6: fall back to all IPv4 addresses. */
		struct sockaddr_in a;

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_ANY);
		a.sin_port = ((const struct sockaddr_in6 *)&ls->addr)->sin6_port;
		fd = bind_listen((const struct sockaddr *)&a, sizeof(a), 1);
	}
	if (fd < 0) {
		err_set(e, "cannot listen: %s", strerror(errno));
		return -1;
	}
	describe(fd, where, where_len);
	return fd;
}

/* reap collects exited children; with block set it waits for at least one. */
static size_t reap(int block)
{
	size_t n = 0;
	int status;

	for (;;) {
		pid_t pid = waitpid(-1, &status, (block && n == 0) ? 0 : WNOHANG);

		if (pid > 0) {
			n++;
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		return n;
	}
}

/* on_child only interrupts accept() (no SA_RESTART) so exited children are reaped at once. */
static void on_child(int sig)
{
	(void)sig;
}

void serve_forever(int listen_fd, const struct payload *p)
{
	struct sigaction sa;
	size_t active = 0, reaped;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int fd;
		pid_t pid;

		reaped = reap(0);
		active = reaped > active ? 0 : active - reaped;
		while (active >= MAX_CHILDREN) {
			/* A blocking reap finds nothing only when no child is left. */
			reaped = reap(1);
			active = (reaped == 0 || reaped > active) ? 0 : active - reaped;
		}
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
				usleep(100000); /* let children finish rather than spin */
			continue;
		}
		pid = fork();
		if (pid == 0) {
			close(listen_fd);
			handle_connection(fd, p);
			close(fd);
			_exit(0);
		}
		if (pid < 0)
			fprintf(stderr, "injector: fork: %s\n", strerror(errno));
		else
			active++;
		close(fd);
	}
}
