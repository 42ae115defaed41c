/* The loopback APDU driver against a card server on 127.0.0.1 (a child process). */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lpa_drivers.h"
#include "test.h"

static int read_full(int fd, uint8_t *p, size_t n) {
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* MANAGE CHANNEL → 01 90 00; INS 0xB0 → 300 bytes of data (too big for the test's buffer); else 90 00. */
static void card_server(int listener) {
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        uint8_t head[4], apdu[512], resp[512];
        if (fd < 0) _exit(0);
        while (read_full(fd, head, 4) == 0) {
            uint32_t n = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3], m = 2;
            if (n > sizeof apdu || read_full(fd, apdu, n)) break;
            if (apdu[1] == 0x70) {
                resp[0] = 0x01, resp[1] = 0x90, resp[2] = 0x00, m = 3;
            } else if (apdu[1] == 0xB0) {
                memset(resp, 0x11, 298);
                resp[298] = 0x90, resp[299] = 0x00, m = 300;
            } else {
                resp[0] = 0x90, resp[1] = 0x00;
            }
            head[0] = 0, head[1] = 0, head[2] = (uint8_t)(m >> 8), head[3] = (uint8_t)m;
            if (write(fd, head, 4) != 4 || write(fd, resp, m) != (ssize_t)m) break;
        }
        close(fd);
    }
}

static void loopback_driver_round_trips_and_recovers(void) {
    static lpa_apdu_loopback card;
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int listener = socket(AF_INET, SOCK_STREAM, 0), status = 0;
    const uint8_t manage[] = {0x00, 0x70, 0x00, 0x00, 0x01}, read_binary[] = {0x00, 0xB0, 0x00, 0x00},
                  store[] = {0x81, 0xE2, 0x91, 0x00, 0x00};
    uint8_t resp[64];
    size_t n = 0;
    lpa_apdu_ops ops;
    pid_t child;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(listener, (struct sockaddr *)&addr, sizeof addr) == 0 && listen(listener, 4) == 0);
    getsockname(listener, (struct sockaddr *)&addr, &len);
    child = fork();
    if (child == 0) card_server(listener);
    close(listener);
    CHECK_EQ(lpa_apdu_loopback_init(&card, "127.0.0.1", ntohs(addr.sin_port), 2000), LPA_OK);
    ops = lpa_apdu_loopback_ops(&card);
    CHECK_EQ(lpa_apdu_exchange(&ops, manage, sizeof manage, resp, sizeof resp, &n), LPA_OK);
    CHECK(n == 3 && resp[0] == 0x01 && resp[1] == 0x90);
    CHECK_EQ(ops.transmit(ops.ctx, read_binary, sizeof read_binary, resp, sizeof resp, &n), LPA_ERR_NOMEM);
    CHECK_EQ(card.fd, -1); /* out of step: dropped, reconnects on the next APDU */
    CHECK_EQ(ops.transmit(ops.ctx, store, sizeof store, resp, sizeof resp, &n), LPA_OK);
    CHECK(n == 2 && resp[0] == 0x90);
    CHECK_EQ(ops.transmit(ops.ctx, store, 2, resp, sizeof resp, &n), LPA_ERR_ARG);
    lpa_apdu_loopback_close(&card);
    kill(child, SIGTERM);
    waitpid(child, &status, 0);
}

const test_case loopback_tests[] = {
    {"loopback/driver_round_trips_and_recovers", loopback_driver_round_trips_and_recovers},
    {NULL, NULL},
};
