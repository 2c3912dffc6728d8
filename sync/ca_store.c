/*
 * ca_store.c - the system's CA store, looked for where distributions put
 * it (see ca_store.h). Called by the libcurl transport when it is made
 * without --cacert; what it returns becomes CURLOPT_CAINFO.
 */
#include "ca_store.h"

#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const places[] = {
    SYN_CA_STORE_DEBIAN,
    SYN_CA_STORE_FEDORA,
    SYN_CA_STORE_BSD,
};

const char *syn_ca_store_find(void)
{
    const char *env = getenv("SSL_CERT_FILE");
    size_t i;

    if (env != NULL && env[0] != '\0')
        return access(env, R_OK) == 0 ? env : NULL;
    for (i = 0; i < sizeof places / sizeof places[0]; i++)
        if (access(places[i], R_OK) == 0)
            return places[i];
    return NULL;
}
