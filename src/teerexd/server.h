/* The libmicrohttpd glue (server.c): the public, admin and ops daemons,
 * connection tracking for the request-head and request-body deadlines (slow
 * clients), lingering closes for answers given before a body was read
 * (lingering.h), and the dispatch of every request through the route table
 * (routes.h). The server and request types are request.h's. */
#ifndef TEEREXD_SERVER_H
#define TEEREXD_SERVER_H

#include "request.h"

/* Starts the public and (when configured) admin and ops daemons (no listen
 * sockets: listeners.c hands connections over) and the deadline watchdog. */
TR_RESULT server_start(struct server *s);
void server_stop(struct server *s);

#endif
