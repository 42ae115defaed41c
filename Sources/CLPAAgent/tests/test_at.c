/* The AT driver against a scripted modem on a pseudo-terminal (a child process plays the modem). */
#define _XOPEN_SOURCE 600
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lpa_drivers.h"
#include "test.h"

static void modem_say(int fd, const char *text) {
    size_t n = strlen(text);
    while (n) {
        ssize_t w = write(fd, text, n);
        if (w <= 0) return;
        text += w;
        n -= (size_t)w;
    }
}

/* Answers one command line the way a 27.007 modem would, with echo and an unsolicited code mixed in. */
static void modem_answer(int fd, const char *cmd) {
    modem_say(fd, cmd); /* echo */
    modem_say(fd, "\r\n");
    if (strcmp(cmd, "AT+CSIM=10,\"00A4040000\"") == 0) modem_say(fd, "\r\n+CSIM: 4,\"6105\"\r\n\r\nOK\r\n");
    else if (strcmp(cmd, "AT+CSIM=10,\"00C0000005\"") == 0)
        modem_say(fd, "\r\n+CREG: 1\r\n\r\n+CSIM: 14,\"01020304059000\"\r\n\r\nOK\r\n");
    else if (strncmp(cmd, "AT+CCHO=\"A0000005591010FFFFFFFF8900000100\"", 42) == 0)
        modem_say(fd, "\r\n+CREG: 1\r\n\r\n3\r\n\r\nOK\r\n");
    else if (strcmp(cmd, "AT+CGLA=3,16,\"83E2910003BF2E00\"") == 0)
        modem_say(fd, "\r\n+CGLA: 10,\"BF2E009000\"\r\n\r\nOK\r\n");
    else if (strcmp(cmd, "AT+CCHC=3") == 0) modem_say(fd, "\r\nOK\r\n");
    else if (strncmp(cmd, "AT+CSIM=8,\"00B0", 15) == 0) modem_say(fd, "\r\n+CME ERROR: 4\r\n");
    /* anything else: silence, the driver times out */
}

static void modem(int fd) {
    char line[1024];
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r <= 0) _exit(0);
        if (c == '\r') {
            line[n] = 0;
            modem_answer(fd, line);
            n = 0;
        } else if (n + 1 < sizeof line) {
            line[n++] = c;
        }
    }
}

static void at_driver_speaks_csim_ccho_cgla_cchc(void) {
    static lpa_apdu_at at;
    lpa_apdu_ops ops;
    const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x00};
    const uint8_t store[] = {0x83, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00};
    const uint8_t read_binary[] = {0x00, 0xB0, 0x00, 0x00};
    const uint8_t silent[] = {0x00, 0x12, 0x00, 0x00};
    const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};
    uint8_t resp[300];
    size_t n = 0;
    uint8_t channel = 0;
    uint16_t sw = 0;
    int master = posix_openpt(O_RDWR | O_NOCTTY), status = 0;
    pid_t child;
    CHECK(master >= 0);
    if (master < 0 || grantpt(master) || unlockpt(master)) return;
    CHECK_EQ(lpa_apdu_at_init(&at, ptsname(master), 115200, LPA_AT_CCHO, 2000), LPA_OK);
    child = fork();
    if (child == 0) modem(master);
    ops = lpa_apdu_at_ops(&at);
    CHECK(ops.open_channel != NULL && ops.close_channel != NULL);

    CHECK_EQ(lpa_apdu_exchange(&ops, select, sizeof select, resp, sizeof resp, &n), LPA_OK);
    CHECK_EQ(n, 7);
    CHECK(resp[0] == 0x01 && resp[4] == 0x05 && resp[5] == 0x90 && resp[6] == 0x00);

    CHECK_EQ(ops.open_channel(ops.ctx, aid, sizeof aid, &channel, &sw, resp, sizeof resp, &n), LPA_OK);
    CHECK_EQ(channel, 3);
    CHECK_EQ(sw, 0x9000);
    CHECK_EQ(ops.transmit(ops.ctx, store, sizeof store, resp, sizeof resp, &n), LPA_OK);
    CHECK(n == 5 && resp[0] == 0xBF && resp[3] == 0x90);
    CHECK_EQ(ops.close_channel(ops.ctx, 3, &sw), LPA_OK);
    CHECK_EQ(sw, 0x9000);
    CHECK_EQ(ops.transmit(ops.ctx, store, sizeof store, resp, sizeof resp, &n), LPA_ERR_CARD); /* channel closed */

    CHECK_EQ(ops.transmit(ops.ctx, read_binary, sizeof read_binary, resp, sizeof resp, &n), LPA_ERR_CARD);
    at.timeout_ms = 200;
    CHECK_EQ(ops.transmit(ops.ctx, silent, sizeof silent, resp, sizeof resp, &n), LPA_ERR_TIMEOUT);
    lpa_apdu_at_close(&at);
    kill(child, SIGTERM);
    waitpid(child, &status, 0);
    close(master);
}

const test_case at_tests[] = {
    {"at/driver_speaks_csim_ccho_cgla_cchc", at_driver_speaks_csim_ccho_cgla_cchc},
    {NULL, NULL},
};
