/* Answers one HTTP request on a connected socket from the in-memory payload. */
#ifndef INJECTOR_HANDLER_H
#define INJECTOR_HANDLER_H

#include "payload.h"

/* Seconds a client has to send its whole request head (slow-loris bound). */
#define HEAD_TIMEOUT_S 10
/* Seconds a single send may block without progress before the client is dropped. */
#define SEND_STALL_S 30
/* Hard bound on one connection's lifetime, however slowly it drains. */
#define CONN_DEADLINE_S 900

/*
 * handle_connection reads one request from fd, answers it, logs one line
 * to stdout, and returns; the caller closes fd. Its deadlines use alarm()
 * and a SIGALRM handler that logs and exits, so it must run in a process of
 * its own: the server forks one per connection.
 */
void handle_connection(int fd, const struct payload *p);

#endif
