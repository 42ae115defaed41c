/* In-memory TLS, card and clock for the agent's tests: deterministic, no sockets, no sleeping. */
#ifndef LPA_FAKE_EDGES_H
#define LPA_FAKE_EDGES_H
#include "lpa_agent.h"
#include "terminal.pb-c.h"

typedef struct fake_clock {
    uint64_t now;
    uint32_t random_value;  /* returned by random (fixed, so tests know the jitter) */
    uint64_t slept;
} fake_clock;

typedef struct fake_tls {
    fake_clock *clock;
    uint8_t in[1 << 17];  /* server → agent */
    size_t in_len, in_pos;
    uint8_t out[1 << 17]; /* agent → server */
    size_t out_len, out_pos;
    size_t read_chunk;    /* most bytes one read returns; 0 = all */
    int connect_rc;
    int connected;
    int server_closed;
    int connects, closes;
} fake_tls;

#define FAKE_CARD_SCRIPT 64
typedef struct fake_card {
    uint8_t resp[FAKE_CARD_SCRIPT][300]; /* scripted responses, in order; then 90 00 */
    size_t resp_len[FAKE_CARD_SCRIPT];
    size_t n_resp, next;
    uint8_t cmd[FAKE_CARD_SCRIPT][300];  /* what the agent sent */
    size_t cmd_len[FAKE_CARD_SCRIPT];
    size_t n_cmd;
    int fail_at; /* 1-based index of a transmit that fails without a SW; 0 = never */
    int forever_61xx; /* answer everything with 61 00 */
} fake_card;

lpa_clock_ops fake_clock_ops(fake_clock *c);
lpa_tls_ops fake_tls_ops(fake_tls *t);
lpa_apdu_ops fake_card_ops(fake_card *c);

/* Appends one scripted card response from hex, e.g. "019000". */
void fake_card_script(fake_card *c, const char *hex);
/* Queues a frame (prefix + packed Frame) from the server. */
void fake_server_send(fake_tls *t, const Serverlpa__Terminal__V1__Frame *frame);
void fake_server_send_raw(fake_tls *t, const void *bytes, size_t len);
/* Next frame the agent sent, or NULL; free with serverlpa__terminal__v1__frame__free_unpacked(f, NULL). */
Serverlpa__Terminal__V1__Frame *fake_client_frame(fake_tls *t);
size_t hex_to_bytes(const char *hex, uint8_t *out);

/* An agent wired to the fakes, with buffers of the given sizes (static storage inside fake_edges.c). */
typedef struct fake_rig {
    fake_clock clock;
    fake_tls tls;
    fake_card card;
    lpa_agent agent;
    char last_log[256];
    int logs;
} fake_rig;

void rig_init(fake_rig *r, size_t rx, size_t tx, size_t arena);
/* Starts the agent, lets it connect and answers Hello with a Welcome carrying `interval_s`. */
void rig_welcome(fake_rig *r, uint32_t interval_s);
/* Polls until the input queue is drained (bounded). */
void rig_pump(fake_rig *r);
#endif
