#include "fake_edges.h"

#include <stdlib.h>
#include <string.h>

#include "test.h"

static uint64_t clock_now(void *ctx) {
    return ((fake_clock *)ctx)->now;
}
static uint32_t clock_random(void *ctx) {
    return ((fake_clock *)ctx)->random_value;
}
static void clock_sleep(void *ctx, uint32_t ms) {
    fake_clock *c = ctx;
    c->now += ms;
    c->slept += ms;
}
lpa_clock_ops fake_clock_ops(fake_clock *c) {
    lpa_clock_ops ops = {clock_now, clock_random, clock_sleep, NULL};
    ops.ctx = c;
    return ops;
}

static int tls_connect(void *ctx, const char *host, uint16_t port) {
    fake_tls *t = ctx;
    (void)host, (void)port;
    t->connects++;
    if (t->connect_rc) return t->connect_rc;
    t->connected = 1;
    t->server_closed = 0;
    return LPA_OK;
}
static long tls_read(void *ctx, uint8_t *buf, size_t cap) {
    fake_tls *t = ctx;
    size_t n = t->in_len - t->in_pos;
    if (!t->connected) return LPA_ERR_IO;
    if (n == 0) return t->server_closed ? LPA_ERR_CLOSED : 0;
    if (t->read_chunk && n > t->read_chunk) n = t->read_chunk;
    if (n > cap) n = cap;
    memcpy(buf, t->in + t->in_pos, n);
    t->in_pos += n;
    return (long)n;
}
static long tls_write(void *ctx, const uint8_t *buf, size_t len) {
    fake_tls *t = ctx;
    if (!t->connected) return LPA_ERR_IO;
    if (len > sizeof t->out - t->out_len) return LPA_ERR_IO;
    memcpy(t->out + t->out_len, buf, len);
    t->out_len += len;
    return (long)len;
}
static void tls_close(void *ctx) {
    fake_tls *t = ctx;
    if (t->connected) t->closes++;
    t->connected = 0;
    t->in_len = t->in_pos = 0; /* whatever the server still had in flight is gone */
}
static int tls_pending(void *ctx, uint32_t timeout_ms) {
    fake_tls *t = ctx;
    if (!t->connected) return LPA_ERR_IO;
    if (t->in_pos < t->in_len || t->server_closed) return 1;
    t->clock->now += timeout_ms; /* nothing came while we waited */
    return 0;
}
lpa_tls_ops fake_tls_ops(fake_tls *t) {
    lpa_tls_ops ops = {tls_connect, tls_read, tls_write, tls_close, tls_pending, NULL};
    ops.ctx = t;
    return ops;
}

size_t hex_to_bytes(const char *hex, uint8_t *out) {
    size_t n = 0;
    while (hex[0] && hex[1]) {
        char pair[3] = {hex[0], hex[1], 0};
        out[n++] = (uint8_t)strtoul(pair, NULL, 16);
        hex += 2;
        while (*hex == ' ') hex++;
    }
    return n;
}

static int card_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t cap, size_t *resp_len) {
    fake_card *c = ctx;
    const uint8_t ok[2] = {0x90, 0x00};
    const uint8_t *r = ok;
    size_t n = 2, index = c->n_cmd;
    if (c->n_cmd < FAKE_CARD_SCRIPT && cmd_len <= sizeof c->cmd[0]) {
        memcpy(c->cmd[c->n_cmd], cmd, cmd_len);
        c->cmd_len[c->n_cmd] = cmd_len;
    }
    c->n_cmd++;
    if (c->fail_at && (size_t)c->fail_at == index + 1) return LPA_ERR_CARD;
    if (c->forever_61xx) {
        static const uint8_t more[2] = {0x61, 0x00};
        r = more;
    } else if (c->next < c->n_resp) {
        r = c->resp[c->next];
        n = c->resp_len[c->next];
        c->next++;
    }
    if (n > cap) return LPA_ERR_NOMEM;
    memcpy(resp, r, n);
    *resp_len = n;
    return LPA_OK;
}
lpa_apdu_ops fake_card_ops(fake_card *c) {
    lpa_apdu_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.transmit = card_transmit;
    ops.ctx = c;
    return ops;
}

void fake_card_script(fake_card *c, const char *hex) {
    if (c->n_resp >= FAKE_CARD_SCRIPT) return;
    c->resp_len[c->n_resp] = hex_to_bytes(hex, c->resp[c->n_resp]);
    c->n_resp++;
}

void fake_server_send_raw(fake_tls *t, const void *bytes, size_t len) {
    if (len > sizeof t->in - t->in_len) abort();
    memcpy(t->in + t->in_len, bytes, len);
    t->in_len += len;
}

void fake_server_send(fake_tls *t, const Serverlpa__Terminal__V1__Frame *frame) {
    static uint8_t buf[1 << 17];
    size_t n = serverlpa__terminal__v1__frame__get_packed_size(frame), k;
    k = lpa_frame_prefix_encode((uint32_t)n, buf);
    serverlpa__terminal__v1__frame__pack(frame, buf + k);
    fake_server_send_raw(t, buf, k + n);
}

Serverlpa__Terminal__V1__Frame *fake_client_frame(fake_tls *t) {
    uint32_t length = 0;
    int k = lpa_frame_prefix_decode(t->out + t->out_pos, t->out_len - t->out_pos, &length);
    Serverlpa__Terminal__V1__Frame *f;
    if (k <= 0 || t->out_pos + (size_t)k + length > t->out_len) return NULL;
    f = serverlpa__terminal__v1__frame__unpack(NULL, length, t->out + t->out_pos + k);
    t->out_pos += (size_t)k + length;
    return f;
}

static void rig_log(void *ctx, lpa_log_level level, const char *line) {
    fake_rig *r = ctx;
    (void)level;
    r->logs++;
    strncpy(r->last_log, line, sizeof r->last_log - 1);
    if (getenv("LPA_TEST_LOG")) fprintf(stderr, "    log: %s\n", line);
}

void rig_init(fake_rig *r, size_t rx, size_t tx, size_t arena) {
    static uint8_t rx_buf[1 << 17], tx_buf[1 << 17], arena_buf[1 << 18];
    lpa_agent_config cfg;
    memset(r, 0, sizeof *r);
    r->clock.now = 1000000;
    r->tls.clock = &r->clock;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = "edge.test";
    cfg.port = 8443;
    cfg.identity.eid = "89049032000000000000000000000001";
    cfg.identity.imei = "350000000000001";
    cfg.identity.model = "meter-1";
    cfg.tls = fake_tls_ops(&r->tls);
    cfg.apdu = fake_card_ops(&r->card);
    cfg.clock = fake_clock_ops(&r->clock);
    cfg.log = rig_log;
    cfg.log_ctx = r;
    cfg.log_level = LPA_LOG_DEBUG;
    cfg.rx_buf = rx_buf;
    cfg.rx_size = rx;
    cfg.tx_buf = tx_buf;
    cfg.tx_size = tx;
    cfg.arena_buf = arena_buf;
    cfg.arena_size = arena;
    CHECK_EQ(lpa_agent_init(&r->agent, &cfg), LPA_OK);
}

void rig_pump(fake_rig *r) {
    int i;
    for (i = 0; i < 64 && r->tls.connected && r->tls.in_pos < r->tls.in_len; i++) lpa_agent_poll(&r->agent, 0);
}

void rig_welcome(fake_rig *r, uint32_t interval_s) {
    Serverlpa__Terminal__V1__Frame f = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__Welcome w = SERVERLPA__TERMINAL__V1__WELCOME__INIT;
    Serverlpa__Terminal__V1__Settings s = SERVERLPA__TERMINAL__V1__SETTINGS__INIT;
    Serverlpa__Terminal__V1__Frame *hello;
    lpa_agent_start(&r->agent);
    lpa_agent_poll(&r->agent, 0); /* connects, sends Hello */
    CHECK_EQ(lpa_agent_get_state(&r->agent), LPA_STATE_HELLO_SENT);
    hello = fake_client_frame(&r->tls);
    CHECK(hello && hello->body_case == SERVERLPA__TERMINAL__V1__FRAME__BODY_HELLO);
    if (hello) serverlpa__terminal__v1__frame__free_unpacked(hello, NULL);
    s.heartbeat_interval_s = interval_s;
    s.history_limit = 10;
    s.version = 1;
    w.protocol_version = 1;
    w.session_id = "s-1";
    w.settings = &s;
    w.model = "meter-1";
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_WELCOME;
    f.welcome = &w;
    fake_server_send(&r->tls, &f);
    rig_pump(r);
    CHECK_EQ(lpa_agent_get_state(&r->agent), LPA_STATE_ONLINE);
}
