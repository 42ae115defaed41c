/* The lpa-agent configuration file: `key = value` lines, `#` comments. */
#ifndef LPA_CONFIG_H
#define LPA_CONFIG_H
#include <stddef.h>
#include <stdint.h>

typedef struct lpa_program_config {
    char server_host[128];
    uint16_t server_port;
    char server_name[128];  /* checked in the server certificate; default: server_host */
    char ca_file[256];
    char cert_file[256];
    char key_file[256];
    char eid[40], imei[24], iccid[24], model[64], firmware[64];
    char driver[16];        /* at | pcsc | loopback */
    char at_port[128];
    uint32_t at_baud;
    char at_mode[8];        /* csim | ccho */
    uint32_t at_timeout_ms;
    char pcsc_reader[128];
    char loopback_host[64];
    uint16_t loopback_port;
    char log[16];           /* stderr | syslog */
    char log_level[16];     /* error | warning | info | debug */
    uint32_t max_frame;     /* receive buffer: the largest frame body accepted */
    uint32_t backoff_initial_ms, backoff_max_ms;
} lpa_program_config;

/* Fills defaults, then applies `text`. 0, or -1 with a message naming the line in `err`. */
int lpa_config_parse(lpa_program_config *c, const char *text, char *err, size_t err_cap);
/* Reads and parses a file; the checks of lpa_config_validate included. */
int lpa_config_load(lpa_program_config *c, const char *path, char *err, size_t err_cap);
/* Required keys present, values consistent. */
int lpa_config_validate(const lpa_program_config *c, char *err, size_t err_cap);
#endif
