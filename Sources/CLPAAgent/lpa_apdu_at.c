/*
 * The AT-command APDU driver (3GPP TS 27.007) for modems on a serial port.
 *
 *   CSIM mode: every APDU is AT+CSIM=<hex length>,"<hex>"; channels are opened by the agent with
 *              MANAGE CHANNEL through AT+CSIM like any other APDU.
 *   CCHO mode: ChannelOpen is AT+CCHO="<aid>" (the modem opens the channel and selects the AID),
 *              APDUs on a logical channel go through AT+CGLA=<session>,…, ChannelClose is AT+CCHC.
 *              A session id of 1-19 is used as the channel number (what most modems hand out);
 *              otherwise the lowest free number stands for it.
 *
 * Every command waits up to `timeout_ms` (60 s by default) for OK or ERROR: an eUICC loading a profile
 * segment answers in seconds, not milliseconds.
 */
#define _DEFAULT_SOURCE
#include "lpa_drivers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const char HEX[] = "0123456789ABCDEF";

int lpa_apdu_at_init(lpa_apdu_at *at, const char *device, uint32_t baud, lpa_at_mode mode, uint32_t timeout_ms) {
    memset(at, 0, sizeof *at);
    if (!device || strlen(device) >= sizeof at->device) return LPA_ERR_ARG;
    strcpy(at->device, device);
    at->baud = baud ? baud : 115200;
    at->mode = mode;
    at->timeout_ms = timeout_ms ? timeout_ms : 60000;
    at->fd = -1;
    return LPA_OK;
}

void lpa_apdu_at_close(lpa_apdu_at *at) {
    if (at->fd >= 0) close(at->fd);
    at->fd = -1;
    memset(at->sessions, 0, sizeof at->sessions);
}

static speed_t baud_constant(uint32_t baud) {
    switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    default: return B115200;
    }
}

static int at_open(lpa_apdu_at *at) {
    struct termios tio;
    int fd = open(at->device, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return LPA_ERR_IO;
    if (tcgetattr(fd, &tio) == 0) { /* a pty or a real UART; a plain file or socket has no attributes */
        cfmakeraw(&tio);
        cfsetispeed(&tio, baud_constant(at->baud));
        cfsetospeed(&tio, baud_constant(at->baud));
        tio.c_cflag |= CLOCAL | CREAD;
        tcsetattr(fd, TCSANOW, &tio);
        tcflush(fd, TCIOFLUSH);
    }
    at->fd = fd;
    return LPA_OK;
}

/* Reads one line (without CR LF) into at->line within `deadline_ms` of polling. */
static int read_line(lpa_apdu_at *at, uint32_t timeout_ms) {
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(at->fd, &c, 1);
        if (r == 1) {
            if (c == '\r' || c == '\n') {
                if (n == 0) continue; /* blank line between results */
                at->line[n] = 0;
                return LPA_OK;
            }
            if (n + 1 >= sizeof at->line) return LPA_ERR_NOMEM;
            at->line[n++] = c;
            continue;
        }
        if (r == 0) return LPA_ERR_CLOSED;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pfd = {at->fd, POLLIN, 0};
            int p = poll(&pfd, 1, (int)timeout_ms);
            if (p == 0) return LPA_ERR_TIMEOUT;
            if (p < 0 && errno != EINTR) return LPA_ERR_IO;
            continue;
        }
        return LPA_ERR_IO;
    }
}

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            poll(&pfd, 1, 1000);
            continue;
        }
        if (w <= 0) return LPA_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return LPA_OK;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

long lpa_at_parse_apdu_response(const char *line, const char *prefix, uint8_t *out, size_t cap) {
    size_t plen = strlen(prefix), i, bytes;
    unsigned long declared;
    char *end;
    const char *p;
    if (strncmp(line, prefix, plen) != 0) return LPA_ERR_CARD;
    p = line + plen;
    while (*p == ' ') p++;
    declared = strtoul(p, &end, 10);
    if (end == p || *end != ',') return LPA_ERR_CARD;
    p = end + 1;
    if (*p == '"') p++;
    for (i = 0; hexval(p[i]) >= 0; i++) {
    }
    if (i != declared || i % 2 || i < 4) return LPA_ERR_CARD;
    bytes = i / 2;
    if (bytes > cap) return LPA_ERR_NOMEM;
    for (i = 0; i < bytes; i++) out[i] = (uint8_t)(hexval(p[2 * i]) << 4 | hexval(p[2 * i + 1]));
    return (long)bytes;
}

/*
 * Sends the command in at->line and waits for the final result. A line starting with `prefix` is
 * handed to `on_line`, which parses it before the buffer is reused and returns 1 (taken), 0 (not an
 * answer: an unsolicited result code) or LPA_ERR_*. Returns LPA_OK on OK after an answer was taken.
 */
typedef int (*line_fn)(lpa_apdu_at *at, void *arg);

static int at_command(lpa_apdu_at *at, const char *prefix, line_fn on_line, void *arg) {
    int rc, seen = 0;
    size_t n = strlen(at->line);
    if (at->fd < 0 && (rc = at_open(at)) != LPA_OK) return rc;
    if (at->log) at->log(at->log_ctx, LPA_LOG_DEBUG, at->line);
    at->line[n] = '\r';
    rc = write_all(at->fd, at->line, n + 1);
    if (rc != LPA_OK) goto fail;
    for (;;) {
        if ((rc = read_line(at, at->timeout_ms)) != LPA_OK) goto fail;
        if (strcmp(at->line, "OK") == 0) return (prefix && !seen) ? LPA_ERR_CARD : LPA_OK;
        if (strcmp(at->line, "ERROR") == 0 || strncmp(at->line, "+CME ERROR", 10) == 0) {
            if (at->log) at->log(at->log_ctx, LPA_LOG_WARNING, at->line);
            return LPA_ERR_CARD;
        }
        if (strncmp(at->line, "AT", 2) == 0) continue; /* the modem echoing our command */
        if (prefix && strncmp(at->line, prefix, strlen(prefix)) == 0) {
            if ((rc = on_line(at, arg)) < 0) return rc;
            seen |= rc;
        }
        /* anything else: the echo of our command or an unsolicited result code */
    }
fail:
    lpa_apdu_at_close(at); /* out of step with the modem: start afresh on the next command */
    return rc;
}

struct apdu_out {
    const char *prefix;
    uint8_t *resp;
    size_t cap;
    size_t len;
};

static int take_apdu(lpa_apdu_at *at, void *arg) {
    struct apdu_out *o = arg;
    long n = lpa_at_parse_apdu_response(at->line, o->prefix, o->resp, o->cap);
    if (n < 0) return (int)n;
    o->len = (size_t)n;
    return 1;
}

static size_t put_hex(char *p, const uint8_t *b, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        p[2 * i] = HEX[b[i] >> 4];
        p[2 * i + 1] = HEX[b[i] & 15];
    }
    return 2 * n;
}

static uint8_t cla_channel(uint8_t cla) {
    return (cla & 0x40u) ? (uint8_t)(4u + (cla & 0x0Fu)) : (uint8_t)(cla & 0x03u);
}

static int at_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t cap, size_t *resp_len) {
    lpa_apdu_at *at = ctx;
    struct apdu_out out;
    uint8_t channel = cla_channel(cmd[0]);
    size_t n;
    int rc;
    if (cmd_len < 4 || cmd_len > LPA_AT_APDU_MAX) return LPA_ERR_ARG;
    if (at->mode == LPA_AT_CCHO && channel != 0) {
        if (!at->sessions[channel]) return LPA_ERR_CARD;
        n = (size_t)snprintf(at->line, sizeof at->line, "AT+CGLA=%lu,%lu,\"", (unsigned long)at->sessions[channel],
                             (unsigned long)(2 * cmd_len));
        out.prefix = "+CGLA:";
    } else {
        n = (size_t)snprintf(at->line, sizeof at->line, "AT+CSIM=%lu,\"", (unsigned long)(2 * cmd_len));
        out.prefix = "+CSIM:";
    }
    n += put_hex(at->line + n, cmd, cmd_len);
    at->line[n++] = '"';
    at->line[n] = 0;
    out.resp = resp;
    out.cap = cap;
    out.len = 0;
    rc = at_command(at, out.prefix, take_apdu, &out);
    if (rc != LPA_OK) return rc;
    *resp_len = out.len;
    return LPA_OK;
}

static int take_session(lpa_apdu_at *at, void *arg) {
    const char *p = at->line;
    char *end;
    unsigned long id;
    if (strncmp(p, "+CCHO:", 6) == 0) p += 6;
    while (*p == ' ') p++;
    if (*p < '0' || *p > '9') return 0; /* an unsolicited result code */
    id = strtoul(p, &end, 10);
    if (*end || id == 0 || id > 0xFFFFFFFFul) return LPA_ERR_CARD;
    *(uint32_t *)arg = (uint32_t)id;
    return 1;
}

static int at_close_channel(void *ctx, uint8_t channel, uint16_t *sw) {
    lpa_apdu_at *at = ctx;
    int rc;
    if (channel == 0 || channel > LPA_MAX_CHANNEL || !at->sessions[channel]) {
        *sw = 0x6881; /* logical channel not supported / not open */
        return LPA_OK;
    }
    snprintf(at->line, sizeof at->line, "AT+CCHC=%lu", (unsigned long)at->sessions[channel]);
    at->sessions[channel] = 0;
    rc = at_command(at, NULL, NULL, NULL);
    *sw = rc == LPA_OK ? 0x9000 : 0x6F00;
    return LPA_OK;
}

static int at_open_channel(void *ctx, const uint8_t *aid, size_t aid_len, uint8_t *channel, uint16_t *sw,
                           uint8_t *resp, size_t cap, size_t *resp_len) {
    lpa_apdu_at *at = ctx;
    uint32_t session = 0;
    size_t n;
    uint8_t c;
    int rc;
    (void)resp, (void)cap;
    n = (size_t)snprintf(at->line, sizeof at->line, "AT+CCHO=\"");
    n += put_hex(at->line + n, aid, aid_len);
    at->line[n++] = '"';
    at->line[n] = 0;
    /* The session id comes as a bare number (27.007) or as "+CCHO: n" on some modems. */
    rc = at_command(at, "", take_session, &session);
    *resp_len = 0;
    *channel = 0;
    if (rc != LPA_OK || !session) {
        *sw = 0x6A82; /* the application could not be selected */
        return LPA_OK;
    }
    c = (session <= LPA_MAX_CHANNEL && !at->sessions[session]) ? (uint8_t)session : 0;
    for (n = 1; !c && n <= LPA_MAX_CHANNEL; n++)
        if (!at->sessions[n]) c = (uint8_t)n;
    if (!c) {
        snprintf(at->line, sizeof at->line, "AT+CCHC=%lu", (unsigned long)session);
        (void)at_command(at, NULL, NULL, NULL);
        *sw = 0x6A81;
        return LPA_OK;
    }
    at->sessions[c] = session;
    *channel = c;
    *sw = 0x9000;
    return LPA_OK;
}

lpa_apdu_ops lpa_apdu_at_ops(lpa_apdu_at *at) {
    lpa_apdu_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.transmit = at_transmit;
    if (at->mode == LPA_AT_CCHO) {
        ops.open_channel = at_open_channel;
        ops.close_channel = at_close_channel;
    }
    ops.ctx = at;
    return ops;
}
