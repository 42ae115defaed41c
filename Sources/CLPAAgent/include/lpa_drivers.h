/*
 * Ready-made edges for the device agent on Linux gateways: an OpenSSL TLS connection, and three
 * eUICC drivers (AT commands on a serial port, PC/SC readers, and a loopback card server for tests).
 *
 * Each driver is a small struct the integrator owns plus a function that fills in the matching
 * `lpa_tls_ops` / `lpa_apdu_ops` table. Set-up (`*_init`) may allocate (OpenSSL contexts, certificate
 * loading); the steady state does not, apart from what OpenSSL itself does per connection.
 */
#ifndef LPA_DRIVERS_H
#define LPA_DRIVERS_H

#include "lpa_agent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- TLS over OpenSSL ---------------------------------------------------------------------- */

/** Mutual TLS: the device's certificate and key, the CA that signs the server, and the name checked in its certificate. */
typedef struct lpa_openssl_config {
    const char *ca_file;      /**< PEM file of the CA(s) that sign lpa-edge's certificate */
    const char *cert_file;    /**< PEM device certificate (its subject carries the identity) */
    const char *key_file;     /**< PEM private key of the device certificate */
    const char *server_name;  /**< name checked against the server certificate and sent as SNI; NULL = the host */
    uint32_t timeout_ms;      /**< connect + handshake, and each blocked write; default 30000 */
    lpa_log_fn log;           /**< why a handshake failed; NULL = silent */
    void *log_ctx;
} lpa_openssl_config;

typedef struct lpa_tls_openssl {
    lpa_openssl_config cfg;
    void *ssl_ctx;  /**< SSL_CTX *, created once by lpa_tls_openssl_init */
    void *ssl;      /**< SSL *, one per connection */
    void *session;  /**< SSL_SESSION * the server last issued a ticket for, offered on the next connect */
    int resumed;    /**< 1 when the current connection resumed that session (no certificate exchange) */
    int fd;
} lpa_tls_openssl;

/** Loads the certificates and prepares the context. LPA_OK, or LPA_ERR_ARG with a log line. */
int lpa_tls_openssl_init(lpa_tls_openssl *tls, const lpa_openssl_config *config);
lpa_tls_ops lpa_tls_openssl_ops(lpa_tls_openssl *tls);
void lpa_tls_openssl_free(lpa_tls_openssl *tls);

/* ---- APDUs over a loopback card server (tests, simulators) --------------------------------- */

/*
 * The loopback card protocol, over plain TCP (test use only, loopback addresses):
 *
 *   agent → card server:  u32 length (big-endian) | command APDU   (4 ≤ length ≤ 65544)
 *   card server → agent:  u32 length (big-endian) | response data | SW1 SW2   (2 ≤ length ≤ 65538)
 *
 * One response per command, in order. Logical channels are opened and closed with ordinary
 * MANAGE CHANNEL APDUs (00 70 00 00 01 → channel | 90 00; 00 70 80 nn → 90 00), so the card server
 * needs no other message. The driver connects on the first APDU and reconnects after a failure.
 */
typedef struct lpa_apdu_loopback {
    char host[64];
    uint16_t port;
    uint32_t timeout_ms;  /**< per response; default 10000 */
    int fd;
} lpa_apdu_loopback;

int lpa_apdu_loopback_init(lpa_apdu_loopback *card, const char *host, uint16_t port, uint32_t timeout_ms);
lpa_apdu_ops lpa_apdu_loopback_ops(lpa_apdu_loopback *card);
void lpa_apdu_loopback_close(lpa_apdu_loopback *card);

/* ---- APDUs over AT commands on a serial port ----------------------------------------------- */

typedef enum lpa_at_mode {
    LPA_AT_CSIM = 0,  /**< every APDU through AT+CSIM, channels with MANAGE CHANNEL */
    LPA_AT_CCHO = 1,  /**< channels through AT+CCHO/AT+CCHC, their APDUs through AT+CGLA; channel 0 through AT+CSIM */
} lpa_at_mode;

/** The largest APDU the AT driver carries: short APDUs (5 + 255 + 1 command, 256 + 2 response). */
#define LPA_AT_APDU_MAX 261u
#define LPA_AT_LINE_MAX (2u * LPA_AT_APDU_MAX + 64u)

typedef struct lpa_apdu_at {
    char device[64];
    uint32_t baud;
    lpa_at_mode mode;
    uint32_t timeout_ms;          /**< per command; default 60000 — loading a profile segment can take seconds */
    int fd;
    uint32_t sessions[LPA_MAX_CHANNEL + 1];  /**< CCHO mode: modem session id per emulated channel, 0 = free */
    char line[LPA_AT_LINE_MAX];   /**< one command or response line */
    lpa_log_fn log;
    void *log_ctx;
} lpa_apdu_at;

/** Prepares the driver; the port is opened (raw, 8N1) on the first command. */
int lpa_apdu_at_init(lpa_apdu_at *at, const char *device, uint32_t baud, lpa_at_mode mode, uint32_t timeout_ms);
lpa_apdu_ops lpa_apdu_at_ops(lpa_apdu_at *at);
void lpa_apdu_at_close(lpa_apdu_at *at);

/** Parses a "+CSIM: <len>,\"<hex>\"" (or +CGLA:) line into `out`; returns the byte count or LPA_ERR_CARD. Exposed for tests. */
long lpa_at_parse_apdu_response(const char *line, const char *prefix, uint8_t *out, size_t cap);

/* ---- APDUs over PC/SC (pcsc-lite) ---------------------------------------------------------- */

typedef struct lpa_apdu_pcsc {
    char reader[128];   /**< reader name, or "" for the first reader */
    long context;       /**< SCARDCONTEXT */
    long card;          /**< SCARDHANDLE */
    unsigned long protocol;
    int connected;
} lpa_apdu_pcsc;

/** LPA_ERR_ARG when the library was built without pcsc-lite. */
int lpa_apdu_pcsc_init(lpa_apdu_pcsc *pcsc, const char *reader);
lpa_apdu_ops lpa_apdu_pcsc_ops(lpa_apdu_pcsc *pcsc);
void lpa_apdu_pcsc_close(lpa_apdu_pcsc *pcsc);

#ifdef __cplusplus
}
#endif
#endif /* LPA_DRIVERS_H */
