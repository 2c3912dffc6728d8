/*
 * config.c - field-server's settings: defaults, the configuration file
 * (server-stub/field-server.conf.example shows every key) and the command
 * line, which share one table of names so that a file and an option can
 * never disagree on what a setting is called.
 */
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"

#define MAX_CONFIG_BYTES (64 * 1024)

void srv_config_defaults(struct srv_config *c)
{
    memset(c, 0, sizeof *c);
    c->db = fld_xstrdup("field-server.db");
    c->listen = fld_xstrdup("127.0.0.1");
    c->port = 8080;
    c->max_body = 16u * 1024 * 1024;
    c->max_inflated = 64u * 1024 * 1024;
    c->skew_ms = 300 * 1000;
    c->request_timeout_s = 60;
    c->idle_timeout_s = 30;
    c->max_connections = 1000;
    c->per_ip_connections = 64;
    c->shutdown_grace_s = 30;
    c->header_timeout_s = 10;
    c->max_buffered = 256u * 1024 * 1024;
    c->enroll_per_ip = 60;
    c->partial_days = 7;
}

void srv_config_free(struct srv_config *c)
{
    free(c->db);
    free(c->listen);
    free(c->port_file);
    free(c->tls_cert);
    free(c->tls_key);
    memset(c, 0, sizeof *c);
}

/* A non-negative decimal integer no larger than max, with an optional
 * K/M/G suffix (powers of 1024) when sized. */
static int parse_uint(const char *s, unsigned long long max, bool sized,
                      unsigned long long *out)
{
    char *end;
    unsigned long long v, mul = 1;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    if (sized && *end != '\0' && end[1] == '\0') {
        if (*end == 'K' || *end == 'k')
            mul = 1024;
        else if (*end == 'M' || *end == 'm')
            mul = 1024 * 1024;
        else if (*end == 'G' || *end == 'g')
            mul = 1024ULL * 1024 * 1024;
        else
            return -1;
        end++;
    }
    if (*end != '\0' || v > max / mul)
        return -1;
    *out = v * mul;
    return 0;
}

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = value[0] ? fld_xstrdup(value) : NULL;
}

/* The numeric settings: a number within the setting's bounds. */
static int set_number(struct srv_config *c, const char *name, const char *value,
                      struct fld_err *err)
{
    static const struct {
        const char *name;
        unsigned long long min, max;
        bool sized;
    } nums[] = {
        {"port", 0, 65535, false},
        {"threads", 0, 256, false},
        {"max-body", 1024, 1ULL << 32, true},
        {"max-inflated", 1024, 1ULL << 32, true},
        {"skew", 1, 7 * 24 * 3600, false},
        {"request-timeout", 1, 3600, false},
        {"idle-timeout", 1, 3600, false},
        {"max-connections", 1, 100000, false},
        {"per-ip-connections", 0, 100000, false},
        {"shutdown-grace", 0, 3600, false},
        {"header-timeout", 1, 3600, false},
        {"max-buffered", 1024 * 1024, 1ULL << 40, true},
        {"enroll-per-ip", 0, 100000, false},
        {"partial-days", 1, 3650, false},
    };
    unsigned long long v = 0;
    size_t i;

    for (i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (strcmp(name, nums[i].name) == 0)
            break;
    if (i == sizeof nums / sizeof nums[0])
        return fld_err_set(err, FLD_EUSAGE, "unknown setting \"%s\"", name);
    if (parse_uint(value, nums[i].max, nums[i].sized, &v) != 0 ||
        v < nums[i].min)
        return fld_err_set(err, FLD_EUSAGE,
                           "%s: \"%s\" is not a number from %llu to %llu%s",
                           name, value, nums[i].min, nums[i].max,
                           nums[i].sized ? " (K, M, G allowed)" : "");
    switch (i) { /* in the order of nums[] */
    case 0:
        c->port = (int)v;
        break;
    case 1:
        c->threads = (unsigned)v;
        break;
    case 2:
        c->max_body = (size_t)v;
        break;
    case 3:
        c->max_inflated = (size_t)v;
        break;
    case 4:
        c->skew_ms = (int64_t)v * 1000;
        break;
    case 5:
        c->request_timeout_s = (unsigned)v;
        break;
    case 6:
        c->idle_timeout_s = (unsigned)v;
        break;
    case 7:
        c->max_connections = (unsigned)v;
        break;
    case 8:
        c->per_ip_connections = (unsigned)v;
        break;
    case 9:
        c->shutdown_grace_s = (unsigned)v;
        break;
    case 10:
        c->header_timeout_s = (unsigned)v;
        break;
    case 11:
        c->max_buffered = (size_t)v;
        break;
    case 12:
        c->enroll_per_ip = (unsigned)v;
        break;
    default:
        c->partial_days = (unsigned)v;
        break;
    }
    return FLD_OK;
}

int srv_config_set(struct srv_config *c, const char *name, const char *value,
                   struct fld_err *err)
{
    if (strcmp(name, "db") == 0) {
        if (!value[0])
            return fld_err_set(err, FLD_EUSAGE, "db: empty path");
        set_str(&c->db, value);
    } else if (strcmp(name, "listen") == 0) {
        if (!value[0])
            return fld_err_set(err, FLD_EUSAGE, "listen: empty address");
        set_str(&c->listen, value);
    } else if (strcmp(name, "port-file") == 0) {
        set_str(&c->port_file, value);
    } else if (strcmp(name, "tls-cert") == 0) {
        set_str(&c->tls_cert, value);
    } else if (strcmp(name, "tls-key") == 0) {
        set_str(&c->tls_key, value);
    } else if (strcmp(name, "quiet") == 0) {
        if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
            strcmp(value, "1") == 0)
            c->quiet = true;
        else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 ||
                 strcmp(value, "0") == 0)
            c->quiet = false;
        else
            return fld_err_set(err, FLD_EUSAGE, "quiet: yes or no, not \"%s\"",
                               value);
    } else {
        return set_number(c, name, value, err);
    }
    return FLD_OK;
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
                       end[-1] == '\n'))
        *--end = '\0';
    return s;
}

int srv_config_load(struct srv_config *c, const char *path, struct fld_err *err)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int lineno = 0, rc = FLD_OK;
    size_t total = 0;

    if (f == NULL)
        return fld_err_set(err, errno == ENOENT ? FLD_NOTFOUND : FLD_EIO,
                           "%s: %s", path, strerror(errno));
    while (rc == FLD_OK && fgets(line, sizeof line, f) != NULL) {
        char *s, *eq;

        lineno++;
        total += strlen(line);
        if (total > MAX_CONFIG_BYTES) {
            rc = fld_err_set(err, FLD_ELIMIT, "%s: larger than %d bytes", path,
                             MAX_CONFIG_BYTES);
            break;
        }
        if (strchr(line, '\n') == NULL && !feof(f)) {
            rc = fld_err_set(err, FLD_EUSAGE, "%s:%d: line too long", path,
                             lineno);
            break;
        }
        /* A comment runs from "#" at the start or after white space. */
        for (eq = line; *eq; eq++)
            if (*eq == '#' && (eq == line || eq[-1] == ' ' || eq[-1] == '\t')) {
                *eq = '\0';
                break;
            }
        s = trim(line);
        if (*s == '\0')
            continue;
        if ((eq = strchr(s, '=')) == NULL) {
            rc = fld_err_set(err, FLD_EUSAGE, "%s:%d: expected NAME = VALUE",
                             path, lineno);
            break;
        }
        *eq = '\0';
        if ((rc = srv_config_set(c, trim(s), trim(eq + 1), err)) != FLD_OK)
            fld_err_prefix(err, "%s:%d", path, lineno);
    }
    if (rc == FLD_OK && ferror(f))
        rc = fld_err_set(err, FLD_EIO, "%s: read error", path);
    fclose(f);
    return rc;
}
