/*
 * http.h - field-server's HTTP front end on libmicrohttpd: a pool of
 * worker threads on epoll, request headers under a deadline, request
 * bodies admitted from the headers and read incrementally under a cap, a
 * deadline and a ceiling for the whole server, gzip responses for clients
 * that accept them, optional TLS, and a graceful stop that lets requests in
 * flight finish.
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include "err.h"
#include "server.h"

struct srv_http;

/*
 * Start serving s on s->cfg.listen and s->cfg.port (0: any free port),
 * with TLS when s->cfg.tls_cert and tls_key are set. Once listening, the
 * bound port is written to s->cfg.port_file when set. FLD_EIO when the
 * address cannot be bound or the TLS files read; FLD_EUSAGE for a bad
 * address.
 */
int srv_http_start(struct srv *s, struct srv_http **out, struct fld_err *err);

/* The port actually bound. */
int srv_http_port(const struct srv_http *h);

/*
 * Stop: refuse new connections at once, wait up to grace_s seconds for
 * the requests in flight to finish, then close everything. Returns the
 * number of requests that were still unfinished (0 when all completed).
 */
int srv_http_stop(struct srv_http *h, unsigned grace_s);

#endif
