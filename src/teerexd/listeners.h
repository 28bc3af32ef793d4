/* Listening sockets (tcp:, unix:, vsock:, with optional proxy+ prefix) and
 * the acceptor thread that hands connections to the public, admin or ops daemon,
 * after reading the PROXY header on proxy+ listeners. */
#ifndef TEEREXD_LISTENERS_H
#define TEEREXD_LISTENERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "server.h"

#define LISTENERS_MAX 16

struct listener {
    int fd;
    bool proxy;
    enum listen_kind kind;
    int family;
    char unix_path[108];
    char spec[160];
};

struct listeners {
    struct listener l[LISTENERS_MAX];
    size_t n;
    int wake[2];
    pthread_t thread;
    bool started;
    struct server *srv;
    atomic_int handshakes;
};

void listeners_init(struct listeners *ls);
/* Opens every listener of a comma-separated spec list. */
TR_RESULT listeners_open(struct listeners *ls, const char *specs, enum listen_kind kind);
TR_RESULT listeners_start(struct listeners *ls, struct server *srv);
/* Stops accepting and closes the listening sockets (unix paths unlinked). */
void listeners_stop(struct listeners *ls);

#endif
