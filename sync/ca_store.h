/*
 * ca_store.h - where the system keeps the certificates of the authorities
 * it trusts (the "CA store"), for the libcurl transport.
 *
 * A libcurl built by a distribution knows its own system's bundle; the
 * static `field` (scripts/static.sh) runs on systems it was not built
 * for, so it looks for the bundle each time, where the common
 * distributions put it. The search is only file lookups: it never prints
 * and never reads a certificate.
 */
#ifndef SYN_CA_STORE_H
#define SYN_CA_STORE_H

/* The usual places: Debian, Ubuntu, Alpine and Arch; Fedora, RHEL and
 * SUSE's compatibility link; the BSDs and macOS. */
#define SYN_CA_STORE_DEBIAN "/etc/ssl/certs/ca-certificates.crt"
#define SYN_CA_STORE_FEDORA "/etc/pki/tls/certs/ca-bundle.crt"
#define SYN_CA_STORE_BSD "/etc/ssl/cert.pem"

/* The places searched, in order, for messages that must name them. */
#define SYN_CA_STORE_PLACES                                                    \
    "$SSL_CERT_FILE, " SYN_CA_STORE_DEBIAN ", " SYN_CA_STORE_FEDORA            \
    ", " SYN_CA_STORE_BSD

/*
 * The PEM bundle to trust when the user gave none: $SSL_CERT_FILE when it
 * is set and not empty (an explicit choice: when that file does not
 * exist, there is no store, rather than another one), else the first
 * readable file of Debian/Ubuntu/Alpine's, Fedora/RHEL's and the BSDs'
 * usual places. NULL when there is none. The string is borrowed: a
 * constant, or the environment's until it is changed.
 */
const char *syn_ca_store_find(void);

#endif
