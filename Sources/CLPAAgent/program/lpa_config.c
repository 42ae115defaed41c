/* Parses the lpa-agent configuration file. */
#include "lpa_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void defaults(lpa_program_config *c) {
    memset(c, 0, sizeof *c);
    c->server_port = 8443;
    strcpy(c->driver, "at");
    c->at_baud = 115200;
    strcpy(c->at_mode, "csim");
    c->at_timeout_ms = 60000;
    strcpy(c->log, "stderr");
    strcpy(c->log_level, "info");
    c->max_frame = 65536;
    c->backoff_initial_ms = 1000;
    c->backoff_max_ms = 300000;
}

static int set_string(char *dst, size_t cap, const char *value) {
    if (strlen(value) >= cap) return -1;
    strcpy(dst, value);
    return 0;
}

static int set_number(uint32_t *dst, const char *value, uint32_t min, uint32_t max) {
    char *end;
    unsigned long v;
    if (!isdigit((unsigned char)value[0])) return -1;
    v = strtoul(value, &end, 10);
    if (*end || v < min || v > max) return -1;
    *dst = (uint32_t)v;
    return 0;
}

#define STR(field) {#field, 0, offsetof(lpa_program_config, field), sizeof(((lpa_program_config *)0)->field), 0, 0}
#define NUM(field, lo, hi) {#field, 1, offsetof(lpa_program_config, field), 0, lo, hi}
static const struct key {
    const char *name;
    int numeric;
    size_t offset, size;
    uint32_t min, max;
} keys[] = {
    STR(server_host), STR(server_name), STR(ca_file), STR(cert_file), STR(key_file),
    STR(eid), STR(imei), STR(iccid), STR(model), STR(firmware), STR(driver),
    STR(at_port), STR(at_mode), STR(pcsc_reader), STR(log), STR(log_level),
    NUM(at_baud, 1200, 4000000), NUM(at_timeout_ms, 1000, 600000), NUM(max_frame, 256, 2097151),
    NUM(backoff_initial_ms, 10, 3600000), NUM(backoff_max_ms, 10, 86400000),
};

static int set_port(uint16_t *dst, const char *value) {
    uint32_t v;
    if (set_number(&v, value, 1, 65535)) return -1;
    *dst = (uint16_t)v;
    return 0;
}

static int apply(lpa_program_config *c, const char *key, const char *value) {
    size_t i;
    if (strcmp(key, "server_port") == 0) return set_port(&c->server_port, value);
    if (strcmp(key, "loopback_address") == 0) { /* host:port */
        const char *colon = strrchr(value, ':');
        char host[sizeof c->loopback_host];
        if (!colon || (size_t)(colon - value) >= sizeof host || colon == value) return -1;
        memcpy(host, value, (size_t)(colon - value));
        host[colon - value] = 0;
        strcpy(c->loopback_host, host);
        return set_port(&c->loopback_port, colon + 1);
    }
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(key, keys[i].name) != 0) continue;
        if (keys[i].numeric) return set_number((uint32_t *)((char *)c + keys[i].offset), value, keys[i].min, keys[i].max);
        return set_string((char *)c + keys[i].offset, keys[i].size, value);
    }
    return -2;
}

static char *trim(char *s) {
    char *e;
    while (isspace((unsigned char)*s)) s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

int lpa_config_parse(lpa_program_config *c, const char *text, char *err, size_t err_cap) {
    char line[512];
    int number = 0;
    defaults(c);
    while (*text) {
        size_t n = strcspn(text, "\n");
        char *key, *value, *eq;
        int rc;
        number++;
        if (n >= sizeof line) {
            snprintf(err, err_cap, "line %d: longer than %u characters", number, (unsigned)sizeof line - 1);
            return -1;
        }
        memcpy(line, text, n);
        line[n] = 0;
        text += n + (text[n] == '\n');
        key = trim(line);
        if (!*key || *key == '#') continue;
        eq = strchr(key, '=');
        if (!eq) {
            snprintf(err, err_cap, "line %d: expected `key = value`", number);
            return -1;
        }
        *eq = 0;
        value = trim(eq + 1);
        key = trim(key);
        rc = apply(c, key, value);
        if (rc == -2) {
            snprintf(err, err_cap, "line %d: unknown key `%s`", number, key);
            return -1;
        }
        if (rc) {
            snprintf(err, err_cap, "line %d: bad value for `%s`", number, key);
            return -1;
        }
    }
    return 0;
}

int lpa_config_validate(const lpa_program_config *c, char *err, size_t err_cap) {
    const char *missing = !c->server_host[0] ? "server_host"
                          : !c->ca_file[0]   ? "ca_file"
                          : !c->cert_file[0] ? "cert_file"
                          : !c->key_file[0]  ? "key_file"
                          : !c->eid[0]       ? "eid"
                                             : NULL;
    if (missing) {
        snprintf(err, err_cap, "`%s` is required", missing);
        return -1;
    }
    if (strcmp(c->driver, "at") && strcmp(c->driver, "pcsc") && strcmp(c->driver, "loopback")) {
        snprintf(err, err_cap, "`driver` must be at, pcsc or loopback");
        return -1;
    }
    if (!strcmp(c->driver, "at") && !c->at_port[0]) {
        snprintf(err, err_cap, "driver at needs `at_port` (e.g. /dev/ttyUSB2)");
        return -1;
    }
    if (strcmp(c->at_mode, "csim") && strcmp(c->at_mode, "ccho")) {
        snprintf(err, err_cap, "`at_mode` must be csim or ccho");
        return -1;
    }
    if (!strcmp(c->driver, "loopback") && !c->loopback_port) {
        snprintf(err, err_cap, "driver loopback needs `loopback_address` (host:port)");
        return -1;
    }
    if (strcmp(c->log, "stderr") && strcmp(c->log, "syslog")) {
        snprintf(err, err_cap, "`log` must be stderr or syslog");
        return -1;
    }
    if (strcmp(c->log_level, "error") && strcmp(c->log_level, "warning") && strcmp(c->log_level, "info") &&
        strcmp(c->log_level, "debug")) {
        snprintf(err, err_cap, "`log_level` must be error, warning, info or debug");
        return -1;
    }
    if (c->backoff_max_ms < c->backoff_initial_ms) {
        snprintf(err, err_cap, "`backoff_max_ms` is below `backoff_initial_ms`");
        return -1;
    }
    return 0;
}

int lpa_config_load(lpa_program_config *c, const char *path, char *err, size_t err_cap) {
    static char text[16384];
    FILE *f = fopen(path, "r");
    size_t n;
    char inner[200];
    if (!f) {
        snprintf(err, err_cap, "%s: cannot open", path);
        return -1;
    }
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    if (n == sizeof text - 1) {
        snprintf(err, err_cap, "%s: larger than %u bytes", path, (unsigned)sizeof text - 1);
        return -1;
    }
    text[n] = 0;
    if (lpa_config_parse(c, text, inner, sizeof inner) || lpa_config_validate(c, inner, sizeof inner)) {
        snprintf(err, err_cap, "%s: %s", path, inner);
        return -1;
    }
    return 0;
}
