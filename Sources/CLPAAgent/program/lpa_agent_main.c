/*
 * lpa-agent: the reference device agent for Linux gateways. Reads one configuration file, connects
 * to lpa-edge over mutual TLS, and relays APDU batches to the eUICC through the configured driver.
 * SIGTERM/SIGINT end the session with Goodbye DEVICE_RESTART.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "lpa_config.h"
#include "lpa_drivers.h"

static const char usage[] =
    "usage: lpa-agent [--once] <config-file>\n"
    "\n"
    "Connects to lpa-edge as the device described in <config-file> and relays APDUs to its eUICC.\n"
    "  --once   exit after the first session ends (tests)\n"
    "\n"
    "Configuration (key = value, # comments):\n"
    "  server_host, server_port (8443), server_name (default: server_host)\n"
    "  ca_file, cert_file, key_file            PEM files: server CA, device certificate and key\n"
    "  eid, imei, iccid, model, firmware       identity sent in Hello (must match the certificate)\n"
    "  driver = at | pcsc | loopback           how the eUICC is reached\n"
    "  at_port, at_baud (115200), at_mode = csim | ccho, at_timeout_ms (60000)\n"
    "  pcsc_reader (default: the first reader)\n"
    "  loopback_address = host:port            a test card server (see lpa_drivers.h)\n"
    "  log = stderr | syslog, log_level = error | warning | info | debug\n"
    "  max_frame (65536), backoff_initial_ms (1000), backoff_max_ms (300000)\n"
    "\n"
    "Example:\n"
    "  server_host = edge.example.net\n"
    "  ca_file = /etc/lpa/fleet-ca.pem\n"
    "  cert_file = /etc/lpa/device.pem\n"
    "  key_file = /etc/lpa/device.key\n"
    "  eid = 89049032123451234512345678901235\n"
    "  imei = 356938035643809\n"
    "  driver = at\n"
    "  at_port = /dev/ttyUSB2\n";

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
    stop_signal = sig;
}

static const char *level_names[] = {"error", "warning", "info", "debug"};

static void log_stderr(void *ctx, lpa_log_level level, const char *line) {
    (void)ctx;
    fprintf(stderr, "lpa-agent %s: %s\n", level_names[level], line);
}

static void log_syslog(void *ctx, lpa_log_level level, const char *line) {
    static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    (void)ctx;
    syslog(priorities[level], "%s", line);
}

static lpa_log_level parse_level(const char *s) {
    lpa_log_level l;
    for (l = LPA_LOG_ERROR; l <= LPA_LOG_DEBUG; l++)
        if (strcmp(s, level_names[l]) == 0) return l;
    return LPA_LOG_INFO;
}

/* Everything lives in static storage: the agent allocates nothing once running. */
static lpa_program_config conf;
static lpa_agent agent;
static lpa_tls_openssl tls;
static lpa_apdu_at at;
static lpa_apdu_pcsc pcsc;
static lpa_apdu_loopback loopback;
static uint8_t tx_buf[65536 + 512];
static uint8_t rx_buf[2097151 + 3];
static uint8_t arena_buf[2097151 + 65536];

int main(int argc, char **argv) {
    lpa_agent_config cfg;
    lpa_openssl_config tls_cfg;
    lpa_log_fn log;
    lpa_log_level level;
    char err[300];
    const char *path = NULL;
    int once = 0, i, rc = 0;
    struct sigaction sa;
    sigset_t unblock;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) once = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (!path && argv[i][0] != '-') path = argv[i];
        else {
            fputs(usage, stderr);
            return 64;
        }
    }
    if (!path) {
        fputs(usage, stderr);
        return 64;
    }
    if (lpa_config_load(&conf, path, err, sizeof err)) {
        fprintf(stderr, "lpa-agent: %s\n", err);
        return 78; /* EX_CONFIG */
    }
    level = parse_level(conf.log_level);
    if (strcmp(conf.log, "syslog") == 0) {
        openlog("lpa-agent", LOG_PID, LOG_DAEMON);
        log = log_syslog;
    } else {
        log = log_stderr;
    }

    memset(&tls_cfg, 0, sizeof tls_cfg);
    tls_cfg.ca_file = conf.ca_file;
    tls_cfg.cert_file = conf.cert_file;
    tls_cfg.key_file = conf.key_file;
    tls_cfg.server_name = conf.server_name[0] ? conf.server_name : NULL;
    tls_cfg.log = log;
    if (lpa_tls_openssl_init(&tls, &tls_cfg) != LPA_OK) return 78;

    memset(&cfg, 0, sizeof cfg);
    if (strcmp(conf.driver, "loopback") == 0) {
        lpa_apdu_loopback_init(&loopback, conf.loopback_host, conf.loopback_port, 0);
        cfg.apdu = lpa_apdu_loopback_ops(&loopback);
    } else if (strcmp(conf.driver, "pcsc") == 0) {
        if (lpa_apdu_pcsc_init(&pcsc, conf.pcsc_reader) != LPA_OK) {
            fprintf(stderr, "lpa-agent: %s: driver pcsc: this build has no PC/SC support (install libpcsclite-dev and rebuild)\n", path);
            return 78;
        }
        cfg.apdu = lpa_apdu_pcsc_ops(&pcsc);
    } else {
        if (lpa_apdu_at_init(&at, conf.at_port, conf.at_baud, strcmp(conf.at_mode, "ccho") == 0 ? LPA_AT_CCHO : LPA_AT_CSIM,
                             conf.at_timeout_ms) != LPA_OK) {
            fprintf(stderr, "lpa-agent: %s: at_port is too long\n", path);
            return 78;
        }
        at.log = log;
        cfg.apdu = lpa_apdu_at_ops(&at);
    }

    cfg.host = conf.server_host;
    cfg.port = conf.server_port;
    cfg.identity.eid = conf.eid;
    cfg.identity.imei = conf.imei;
    cfg.identity.iccid = conf.iccid;
    cfg.identity.model = conf.model;
    cfg.identity.firmware = conf.firmware;
    cfg.agent_name = "lpa-agent/1";
    cfg.tls = lpa_tls_openssl_ops(&tls);
    cfg.backoff.initial_ms = conf.backoff_initial_ms;
    cfg.backoff.max_ms = conf.backoff_max_ms;
    cfg.log = log;
    cfg.log_level = level;
    cfg.rx_buf = rx_buf;
    cfg.rx_size = conf.max_frame + LPA_FRAME_PREFIX_MAX;
    cfg.tx_buf = tx_buf;
    cfg.tx_size = sizeof tx_buf;
    cfg.arena_buf = arena_buf;
    cfg.arena_size = conf.max_frame + conf.max_frame / 4 + 4096;
    if (lpa_agent_init(&agent, &cfg) != LPA_OK) return 78;

    /* A parent may hand down blocked signals (thread pools often block them): take SIGTERM back. */
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGTERM);
    sigaddset(&unblock, SIGINT);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lpa_agent_start(&agent);
    while (!stop_signal) {
        lpa_agent_state before = lpa_agent_get_state(&agent);
        lpa_agent_poll(&agent, 500); /* wakes at least twice a second to notice signals */
        if (once && before != LPA_STATE_BACKOFF && lpa_agent_get_state(&agent) == LPA_STATE_BACKOFF &&
            agent.stats.connects > 0) {
            rc = 1;
            break;
        }
    }
    if (stop_signal) log(NULL, LPA_LOG_INFO, "stopping on signal");
    lpa_agent_stop(&agent, 14 /* DEVICE_RESTART */, "agent stopping");
    lpa_tls_openssl_free(&tls);
    lpa_apdu_loopback_close(&loopback);
    lpa_apdu_at_close(&at);
    lpa_apdu_pcsc_close(&pcsc);
    return rc;
}
