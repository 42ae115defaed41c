/*
 * Mutual TLS over OpenSSL for Linux gateways: the device certificate and key, verification of the
 * server against the configured CA, and a hostname (or IP address) check of its certificate.
 * The socket is non-blocking after the handshake, so `read` never stalls the agent's poll loop.
 * The session of the last ticket the server issued is kept and offered on the next connect, so a
 * reconnect (after a lost link or an edge restart: the edges of a deployment share their ticket
 * keys) resumes without the certificate exchange and its signatures.
 */
#define _POSIX_C_SOURCE 200809L
#include "lpa_drivers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static void tls_log(lpa_tls_openssl *t, const char *what) {
    char line[256];
    unsigned long e = ERR_get_error();
    if (!t->cfg.log) {
        ERR_clear_error();
        return;
    }
    if (e) {
        char reason[160];
        ERR_error_string_n(e, reason, sizeof reason);
        snprintf(line, sizeof line, "tls: %s: %s", what, reason);
    } else {
        snprintf(line, sizeof line, "tls: %s", what);
    }
    ERR_clear_error();
    t->cfg.log(t->cfg.log_ctx, LPA_LOG_WARNING, line);
}

/* The `SSL` ex-data slot pointing at the driver that owns a connection (for the new-session callback). */
static int owner_index(void) {
    static int index = -1;
    if (index < 0) index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return index;
}

/*
 * OpenSSL hands over each session the server issues a ticket for; a copy of the newest replaces
 * the kept one. A copy, because a connection that later ends in an error marks its own session
 * object not resumable, while the ticket inside stays perfectly good.
 */
static int keep_session(SSL *ssl, SSL_SESSION *session) {
    lpa_tls_openssl *t = SSL_get_ex_data(ssl, owner_index());
    SSL_SESSION *copy;
    if (!t) return 0;
    copy = SSL_SESSION_dup(session);
    if (!copy) {
        ERR_clear_error();
        return 0;
    }
    if (t->session) SSL_SESSION_free(t->session);
    t->session = copy;
    return 0; /* OpenSSL keeps its reference to the original */
}

int lpa_tls_openssl_init(lpa_tls_openssl *t, const lpa_openssl_config *config) {
    SSL_CTX *ctx;
    memset(t, 0, sizeof *t);
    t->cfg = *config;
    t->fd = -1;
    if (!t->cfg.timeout_ms) t->cfg.timeout_ms = 30000;
    if (!config->ca_file || !config->cert_file || !config->key_file) {
        tls_log(t, "CA, certificate and key files are all required");
        return LPA_ERR_ARG;
    }
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        tls_log(t, "creating the context");
        return LPA_ERR_ARG;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(ctx, config->ca_file, NULL) != 1) {
        tls_log(t, "loading the CA file");
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, config->cert_file) != 1) {
        tls_log(t, "loading the device certificate");
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, config->key_file, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        tls_log(t, "loading the device key (or it does not match the certificate)");
        goto fail;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Sessions go to keep_session only; OpenSSL's own client cache stays empty. */
    if (owner_index() < 0) {
        tls_log(t, "reserving the session slot");
        goto fail;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, keep_session);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* A server that closes without close_notify has still closed: report it as such, not as an error. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    t->ssl_ctx = ctx;
    return LPA_OK;
fail:
    SSL_CTX_free(ctx);
    return LPA_ERR_ARG;
}

static void tls_close(void *ctx) {
    lpa_tls_openssl *t = ctx;
    if (t->ssl) {
        SSL_free(t->ssl); /* no close_notify: the agent sends Goodbye when it means to leave */
        t->ssl = NULL;
    }
    if (t->fd >= 0) close(t->fd);
    t->fd = -1;
}

void lpa_tls_openssl_free(lpa_tls_openssl *t) {
    tls_close(t);
    if (t->session) SSL_SESSION_free(t->session);
    t->session = NULL;
    if (t->ssl_ctx) SSL_CTX_free(t->ssl_ctx);
    t->ssl_ctx = NULL;
}

static int wait_fd(int fd, short events, uint32_t timeout_ms) {
    for (;;) {
        struct pollfd pfd = {fd, events, 0};
        int r = poll(&pfd, 1, (int)(timeout_ms > 0x7FFFFFFFu ? 0x7FFFFFFFu : timeout_ms));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return LPA_ERR_IO;
        if (r == 0) return LPA_ERR_TIMEOUT;
        return 1;
    }
}

static int tcp_connect(lpa_tls_openssl *t, const char *host, uint16_t port) {
    struct addrinfo hints, *res = NULL, *ai;
    char service[8];
    int rc = LPA_ERR_IO;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%u", (unsigned)port);
    if (getaddrinfo(host, service, &hints, &res) != 0) {
        tls_log(t, "cannot resolve the server address");
        return LPA_ERR_IO;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol), err = 0, one = 1;
        socklen_t len = sizeof err;
        if (fd < 0) continue;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, t->cfg.timeout_ms) != 1 ||
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
                close(fd);
                rc = LPA_ERR_IO;
                continue;
            }
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        t->fd = fd;
        rc = LPA_OK;
        break;
    }
    freeaddrinfo(res);
    if (rc != LPA_OK) tls_log(t, "TCP connection failed");
    return rc;
}

static int tls_connect(void *ctx, const char *host, uint16_t port) {
    lpa_tls_openssl *t = ctx;
    const char *name = t->cfg.server_name && *t->cfg.server_name ? t->cfg.server_name : host;
    unsigned char addr[16];
    int is_ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
    tls_close(t);
    if (!t->ssl_ctx) return LPA_ERR_ARG;
    if (tcp_connect(t, host, port) != LPA_OK) return LPA_ERR_IO;
    t->ssl = SSL_new(t->ssl_ctx);
    t->resumed = 0;
    if (!t->ssl || SSL_set_fd(t->ssl, t->fd) != 1 || SSL_set_ex_data(t->ssl, owner_index(), t) != 1) goto fail;
    /* A session the server no longer accepts costs nothing: the handshake becomes a full one. */
    if (t->session && SSL_set_session(t->ssl, t->session) != 1) ERR_clear_error();
    if (is_ip) {
        /* Without the IP check only the chain would be verified: refuse to connect instead. */
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name) != 1) goto fail;
    } else {
        SSL_set_tlsext_host_name(t->ssl, name);
        if (SSL_set1_host(t->ssl, name) != 1) goto fail;
    }
    for (;;) {
        int r = SSL_connect(t->ssl), err;
        if (r == 1) {
            t->resumed = SSL_session_reused(t->ssl) == 1;
            return LPA_OK;
        }
        err = SSL_get_error(t->ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(t->fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, t->cfg.timeout_ms) == 1) continue;
            tls_log(t, "handshake timed out");
        } else {
            long v = SSL_get_verify_result(t->ssl);
            if (v != X509_V_OK) {
                char line[160];
                snprintf(line, sizeof line, "server certificate rejected: %s", X509_verify_cert_error_string(v));
                tls_log(t, line);
            } else {
                tls_log(t, "handshake failed");
            }
        }
        break;
    }
fail:
    tls_close(t);
    return LPA_ERR_IO;
}

static long tls_read(void *ctx, uint8_t *buf, size_t cap) {
    lpa_tls_openssl *t = ctx;
    int r, err;
    if (!t->ssl) return LPA_ERR_IO;
    r = SSL_read(t->ssl, buf, cap > 0x7FFFFFFF ? 0x7FFFFFFF : (int)cap);
    if (r > 0) return r;
    err = SSL_get_error(t->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 0;
    if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && r == 0) || err == SSL_ERROR_SSL) {
        ERR_clear_error();
        return err == SSL_ERROR_SSL ? LPA_ERR_IO : LPA_ERR_CLOSED;
    }
    ERR_clear_error();
    return LPA_ERR_IO;
}

static long tls_write(void *ctx, const uint8_t *buf, size_t len) {
    lpa_tls_openssl *t = ctx;
    if (!t->ssl) return LPA_ERR_IO;
    for (;;) {
        int r = SSL_write(t->ssl, buf, len > 0x7FFFFFFF ? 0x7FFFFFFF : (int)len), err;
        if (r > 0) return r;
        err = SSL_get_error(t->ssl, r);
        ERR_clear_error();
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return LPA_ERR_IO;
        if (wait_fd(t->fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, t->cfg.timeout_ms) != 1) return LPA_ERR_TIMEOUT;
    }
}

static int tls_pending(void *ctx, uint32_t timeout_ms) {
    lpa_tls_openssl *t = ctx;
    int r;
    if (!t->ssl) return LPA_ERR_IO;
    if (SSL_pending(t->ssl) > 0) return 1;
    r = wait_fd(t->fd, POLLIN, timeout_ms);
    return r == LPA_ERR_TIMEOUT ? 0 : r;
}

lpa_tls_ops lpa_tls_openssl_ops(lpa_tls_openssl *t) {
    lpa_tls_ops ops;
    ops.connect = tls_connect;
    ops.read = tls_read;
    ops.write = tls_write;
    ops.close = tls_close;
    ops.pending = tls_pending;
    ops.ctx = t;
    return ops;
}
