/*
 * ui_server.h - the HTTP side of `field ui` (libmicrohttpd): the embedded
 * web app, sessions, CSRF, pairing, the Host check and the security
 * headers; what an API request means is ui_api.h's business.
 *
 * Security model (docs/UI.md):
 *   - Loopback (the default, 127.0.0.1): loading the page gives a session
 *     cookie (HttpOnly, SameSite=Strict, 256 random bits).
 *   - Any other address, or loopback with --pair (a computer shared with
 *     other users, who could reach 127.0.0.1 too): the page is served, but
 *     nothing else until the
 *     browser pairs: POST /api/pair with the one-time code `field ui`
 *     printed gives the session. A wrong code is refused (403); after
 *     FLD_UI_PAIR_FREE wrong codes each further try waits twice as long as
 *     the previous one (429 with the wait).
 *   - Every POST needs the session and its CSRF token in X-CSRF-Token
 *     (GET /api/session gives it to the page), compared in constant time.
 *   - The Host header must name the address served (DNS rebinding), and an
 *     Origin, when sent, must be the same.
 *   - Every response: a strict Content-Security-Policy (no inline script
 *     or style, no frames), nosniff, no referrer, no caching.
 *   - The signing key stays in the process (sodium_malloc'd by key.c); the
 *     browser never sees it or the passphrase.
 *
 * The pure parts (session table, pairing, Host) are exported for the unit
 * test. The server runs one thread: requests are handled one at a time.
 */
#ifndef FLD_UI_SERVER_H
#define FLD_UI_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "embedded.h"
#include "err.h"

/* The web app's files (field/ui/), compiled in by the build. */
extern const struct fld_embedded fld_ui_files[];

#define FLD_UI_TOKEN_LEN 32 /* bytes of a session id or CSRF token */
#define FLD_UI_SESSIONS_MAX 32
#define FLD_UI_COOKIE "field_ui"
#define FLD_UI_PAIR_DIGITS 8
/* Wrong codes allowed before the wait starts, and the longest wait. */
#define FLD_UI_PAIR_FREE 5
#define FLD_UI_PAIR_MAX_WAIT_MS (3600 * 1000LL)

struct fld_ui_session {
    bool is_used;
    uint8_t id[FLD_UI_TOKEN_LEN];
    uint8_t csrf[FLD_UI_TOKEN_LEN];
    int64_t created_ms;
};

struct fld_ui_sessions {
    struct fld_ui_session s[FLD_UI_SESSIONS_MAX];
};

/* A new session (random id and token) in ss, replacing the oldest when
 * full; borrowed from ss. */
struct fld_ui_session *fld_ui_session_new(struct fld_ui_sessions *ss,
                                          int64_t now_ms);
/* The session whose id the Cookie header (may be NULL) carries, or NULL. */
struct fld_ui_session *fld_ui_session_find(struct fld_ui_sessions *ss,
                                           const char *cookie_header);
/* Whether the X-CSRF-Token header (may be NULL) is s's token. */
bool fld_ui_csrf_ok(const struct fld_ui_session *s, const char *header);

struct fld_ui_pairing {
    char code[FLD_UI_PAIR_DIGITS + 1];
    bool is_spent;      /* the code was used: no more pairing */
    unsigned failures;  /* wrong codes so far */
    int64_t not_before; /* no try is looked at before this time (ms) */
};

/* A new random code. */
void fld_ui_pairing_new(struct fld_ui_pairing *p);
/*
 * A try with code at now_ms. FLD_OK: right, and the code is spent;
 * FLD_EPASS: wrong (counted); FLD_EBUSY: too early, not looked at,
 * *wait_ms is how long to wait; FLD_EXISTS: the code was used already.
 */
int fld_ui_pair(struct fld_ui_pairing *p, const char *code, int64_t now_ms,
                int64_t *wait_ms);

/* Whether listen (a numeric address) is a loopback address. */
bool fld_ui_is_loopback(const char *listen);
/*
 * Whether a Host header names the server listening on listen:port: the
 * address itself (or "localhost" on loopback); on a wildcard address
 * (0.0.0.0, ::), any IP literal. Always with the port. A name that would
 * need DNS is refused, which is what defeats DNS rebinding.
 */
bool fld_ui_host_ok(const char *host, const char *listen, int port);

struct fld_ui_server;

/*
 * Listen on listen:port (0: a free port) and serve from a thread of its
 * own, asking for pairing off loopback or when pair is set; ctx (store open,
 * key loaded) is used from that thread only until fld_ui_server_stop().
 * FLD_EUSAGE for an address that is not numeric, FLD_EIO when it cannot listen.
 */
int fld_ui_server_start(struct cmd_ctx *ctx, const char *listen, int port,
                        bool pair, struct fld_ui_server **out,
                        struct fld_err *err);
int fld_ui_server_port(const struct fld_ui_server *s);
/* The pairing code, or NULL when no pairing is asked for. */
const char *fld_ui_server_pairing_code(const struct fld_ui_server *s);
void fld_ui_server_stop(struct fld_ui_server *s);

#endif
