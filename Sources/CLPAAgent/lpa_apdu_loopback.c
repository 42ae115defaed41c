/* The loopback APDU driver: a TCP card server behind a u32-length-prefixed protocol (see lpa_drivers.h). */
#define _POSIX_C_SOURCE 200809L
#include "lpa_drivers.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int lpa_apdu_loopback_init(lpa_apdu_loopback *card, const char *host, uint16_t port, uint32_t timeout_ms) {
    memset(card, 0, sizeof *card);
    if (!host || strlen(host) >= sizeof card->host || !port) return LPA_ERR_ARG;
    strcpy(card->host, host);
    card->port = port;
    card->timeout_ms = timeout_ms ? timeout_ms : 10000;
    card->fd = -1;
    return LPA_OK;
}

void lpa_apdu_loopback_close(lpa_apdu_loopback *card) {
    if (card->fd >= 0) close(card->fd);
    card->fd = -1;
}

static int loopback_connect(lpa_apdu_loopback *card) {
    struct addrinfo hints, *res = NULL, *ai;
    char port[8];
    int one = 1;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%u", (unsigned)card->port);
    if (getaddrinfo(card->host, port, &hints, &res) != 0) return LPA_ERR_IO;
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            card->fd = fd;
            break;
        }
        close(fd);
    }
    freeaddrinfo(res);
    return card->fd >= 0 ? LPA_OK : LPA_ERR_IO;
}

static int send_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return LPA_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return LPA_OK;
}

static int recv_all(int fd, uint8_t *p, size_t n, uint32_t timeout_ms) {
    while (n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t r;
        int pr = poll(&pfd, 1, (int)timeout_ms);
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) return LPA_ERR_TIMEOUT;
        if (pr < 0) return LPA_ERR_IO;
        r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) return LPA_ERR_CLOSED;
        if (r < 0) return LPA_ERR_IO;
        p += r;
        n -= (size_t)r;
    }
    return LPA_OK;
}

static int loopback_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t cap,
                             size_t *resp_len) {
    lpa_apdu_loopback *card = ctx;
    uint8_t head[4];
    uint32_t n;
    int rc;
    if (cmd_len < 4 || cmd_len > 65544u) return LPA_ERR_ARG;
    if (card->fd < 0 && (rc = loopback_connect(card)) != LPA_OK) return rc;
    head[0] = (uint8_t)(cmd_len >> 24);
    head[1] = (uint8_t)(cmd_len >> 16);
    head[2] = (uint8_t)(cmd_len >> 8);
    head[3] = (uint8_t)cmd_len;
    if ((rc = send_all(card->fd, head, 4)) != LPA_OK || (rc = send_all(card->fd, cmd, cmd_len)) != LPA_OK ||
        (rc = recv_all(card->fd, head, 4, card->timeout_ms)) != LPA_OK)
        goto fail;
    n = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
    if (n < 2 || n > 65538u) {
        rc = LPA_ERR_CARD;
        goto fail;
    }
    if (n > cap) {
        rc = LPA_ERR_NOMEM; /* the stream is out of step now: drop it */
        goto fail;
    }
    if ((rc = recv_all(card->fd, resp, n, card->timeout_ms)) != LPA_OK) goto fail;
    *resp_len = n;
    return LPA_OK;
fail:
    lpa_apdu_loopback_close(card);
    return rc;
}

lpa_apdu_ops lpa_apdu_loopback_ops(lpa_apdu_loopback *card) {
    lpa_apdu_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.transmit = loopback_transmit;
    ops.ctx = card;
    return ops;
}
