/*
 * libFuzzer target for the C device agent: the frames an edge sends (length prefix, protobuf-c decode into the
 * arena, Welcome / Settings / HeartbeatAck / ApduBatch / ChannelOpen / ChannelClose / Goodbye / Reject handling)
 * and APDU batch execution against a card whose answers the input scripts, all through lpa_agent_poll as a device
 * runs it. The edges (TLS stream, card, clock) are in-memory and deterministic.
 *
 * Input: [options][card script length: 2 bytes][card script][server stream]
 *   options bit 0: answer the agent's Hello with a valid Welcome first, so the stream is read by an online agent
 *   options bits 1-2: the most bytes one TLS read returns (all, 1, 7, 64)
 *   options bit 3: small buffers (rx 300, tx 512, arena 1024) instead of the defaults (rx 4096, tx 4096, arena 8192)
 *   options bit 4: the server closes the stream once it is sent
 *   card script: each transmit consumes [n][n bytes] as its response (data then SW); when empty, 90 00
 * Checked beyond the sanitizers: every frame the agent writes is a well-formed frame.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "lpa_agent.h"
#include "terminal.pb-c.h"

typedef struct edges {
    const uint8_t *card;
    size_t card_len, card_pos;
    uint8_t server[1 << 16];
    size_t server_len, server_pos;
    size_t chunk;
    int closes_after;
    int connected;
    uint64_t now;
    uint8_t out[1 << 18];
    size_t out_len;
} edges;

static edges E;

static uint64_t clock_now(void *ctx) { return ((edges *)ctx)->now; }
static uint32_t clock_random(void *ctx) { (void)ctx; return 12345; }
static void clock_sleep(void *ctx, uint32_t ms) { ((edges *)ctx)->now += ms; }

static int tls_connect(void *ctx, const char *host, uint16_t port) {
    (void)host, (void)port;
    ((edges *)ctx)->connected = 1;
    return LPA_OK;
}

static long tls_read(void *ctx, uint8_t *buf, size_t cap) {
    edges *e = ctx;
    size_t n = e->server_len - e->server_pos;
    if (!e->connected) return LPA_ERR_IO;
    if (n == 0) return e->closes_after ? LPA_ERR_CLOSED : 0;
    if (e->chunk && n > e->chunk) n = e->chunk;
    if (n > cap) n = cap;
    memcpy(buf, e->server + e->server_pos, n);
    e->server_pos += n;
    return (long)n;
}

static long tls_write(void *ctx, const uint8_t *buf, size_t len) {
    edges *e = ctx;
    if (!e->connected) return LPA_ERR_IO;
    if (len > sizeof e->out - e->out_len) return LPA_ERR_IO;
    memcpy(e->out + e->out_len, buf, len);
    e->out_len += len;
    return (long)len;
}

static void tls_close(void *ctx) { ((edges *)ctx)->connected = 0; }

static int tls_pending(void *ctx, uint32_t timeout_ms) {
    edges *e = ctx;
    if (!e->connected) return LPA_ERR_IO;
    if (e->server_pos < e->server_len || e->closes_after) return 1;
    e->now += timeout_ms;
    return 0;
}

static int card_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t cap, size_t *resp_len) {
    edges *e = ctx;
    size_t n;
    (void)cmd, (void)cmd_len;
    if (e->card_pos >= e->card_len) {
        if (cap < 2) return LPA_ERR_NOMEM;
        resp[0] = 0x90, resp[1] = 0x00;
        *resp_len = 2;
        return LPA_OK;
    }
    n = e->card[e->card_pos++];
    if (n > e->card_len - e->card_pos) n = e->card_len - e->card_pos;
    if (n < 2) { /* no status word: the card failed */
        e->card_pos += n;
        return LPA_ERR_CARD;
    }
    if (n > cap) {
        e->card_pos += n;
        return LPA_ERR_NOMEM;
    }
    memcpy(resp, e->card + e->card_pos, n);
    e->card_pos += n;
    *resp_len = n;
    return LPA_OK;
}

/* Appends a Welcome to the server stream. */
static void send_welcome(edges *e) {
    Serverlpa__Terminal__V1__Frame f = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__Welcome w = SERVERLPA__TERMINAL__V1__WELCOME__INIT;
    Serverlpa__Terminal__V1__Settings s = SERVERLPA__TERMINAL__V1__SETTINGS__INIT;
    uint8_t prefix[LPA_FRAME_PREFIX_MAX];
    size_t n, k;
    s.heartbeat_interval_s = 60;
    s.history_limit = 10;
    s.version = 1;
    w.protocol_version = 1;
    w.session_id = "fuzz";
    w.settings = &s;
    w.model = "meter-1";
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_WELCOME;
    f.welcome = &w;
    n = serverlpa__terminal__v1__frame__get_packed_size(&f);
    k = lpa_frame_prefix_encode((uint32_t)n, prefix);
    memcpy(e->server + e->server_len, prefix, k);
    serverlpa__terminal__v1__frame__pack(&f, e->server + e->server_len + k);
    e->server_len += k + n;
}

/* Every frame the agent wrote must parse. */
static void check_output(const edges *e) {
    size_t pos = 0;
    while (pos < e->out_len) {
        uint32_t length = 0;
        int k = lpa_frame_prefix_decode(e->out + pos, e->out_len - pos, &length);
        Serverlpa__Terminal__V1__Frame *f;
        if (k <= 0 || length > e->out_len - pos - (size_t)k) abort();
        f = serverlpa__terminal__v1__frame__unpack(NULL, length, e->out + pos + k);
        if (!f || f->body_case == SERVERLPA__TERMINAL__V1__FRAME__BODY__NOT_SET) abort();
        serverlpa__terminal__v1__frame__free_unpacked(f, NULL);
        pos += (size_t)k + length;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t rx[4096], tx[4096], arena[8192];
    static lpa_agent agent;
    static const size_t chunks[4] = {0, 1, 7, 64};
    lpa_agent_config cfg;
    uint8_t options;
    size_t card_len, rest;
    int i;

    if (size < 3) return 0;
    options = data[0];
    card_len = (size_t)data[1] << 8 | data[2];
    data += 3, size -= 3;
    if (card_len > size) card_len = size;
    rest = size - card_len;

    memset(&E, 0, offsetof(edges, server));
    E.server_len = E.server_pos = 0;
    E.connected = 0;
    E.now = 1000000;
    E.out_len = 0;
    E.card = data;
    E.card_len = card_len;
    E.chunk = chunks[(options >> 1) & 3];
    E.closes_after = (options >> 4) & 1;

    memset(&cfg, 0, sizeof cfg);
    cfg.host = "edge.fuzz";
    cfg.port = 8443;
    cfg.identity.eid = "89049032000000000000000000000001";
    cfg.identity.imei = "350000000000001";
    cfg.identity.model = "meter-1";
    cfg.tls = (lpa_tls_ops){tls_connect, tls_read, tls_write, tls_close, tls_pending, &E};
    cfg.apdu = (lpa_apdu_ops){card_transmit, NULL, NULL, &E};
    cfg.clock = (lpa_clock_ops){clock_now, clock_random, clock_sleep, &E};
    cfg.rx_buf = rx;
    cfg.tx_buf = tx;
    cfg.arena_buf = arena;
    if (options & 8) {
        cfg.rx_size = 300, cfg.tx_size = 512, cfg.arena_size = 1024;
    } else {
        cfg.rx_size = sizeof rx, cfg.tx_size = sizeof tx, cfg.arena_size = sizeof arena;
    }
    if (lpa_agent_init(&agent, &cfg) != LPA_OK) abort();

    if (options & 1) send_welcome(&E);
    if (rest > sizeof E.server - E.server_len) rest = sizeof E.server - E.server_len;
    memcpy(E.server + E.server_len, data + card_len, rest);
    E.server_len += rest;

    lpa_agent_start(&agent);
    for (i = 0; i < 256 && (E.server_pos < E.server_len || i < 4); i++) {
        lpa_agent_poll(&agent, 0);
        E.now += 10;
    }
    lpa_agent_stop(&agent, 14, "fuzz");
    check_output(&E);
    return 0;
}

/* ---- seeds: FUZZ_WRITE_SEEDS=<dir> writes frames an edge sends, packed by protobuf-c, and exits ---- */

static size_t put_frame(uint8_t *out, const Serverlpa__Terminal__V1__Frame *f) {
    uint8_t prefix[LPA_FRAME_PREFIX_MAX];
    size_t n = serverlpa__terminal__v1__frame__get_packed_size(f);
    size_t k = lpa_frame_prefix_encode((uint32_t)n, prefix);
    memcpy(out, prefix, k);
    serverlpa__terminal__v1__frame__pack(f, out + k);
    return k + n;
}

static void write_seed(const char *dir, int index, uint8_t options, const uint8_t *card, size_t card_len,
                       const uint8_t *stream, size_t len) {
    char path[4096];
    FILE *file;
    uint8_t header[3] = {options, (uint8_t)(card_len >> 8), (uint8_t)card_len};
    snprintf(path, sizeof path, "%s/seed-%03d", dir, index);
    file = fopen(path, "wb");
    if (!file) exit(1);
    fwrite(header, 1, 3, file);
    fwrite(card, 1, card_len, file);
    fwrite(stream, 1, len, file);
    fclose(file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *dir = getenv("FUZZ_WRITE_SEEDS");
    static uint8_t stream[8192];
    size_t len = 0;
    (void)argc, (void)argv;
    if (!dir || !*dir) return 0;
    {
        Serverlpa__Terminal__V1__Frame f = SERVERLPA__TERMINAL__V1__FRAME__INIT;
        Serverlpa__Terminal__V1__Settings s = SERVERLPA__TERMINAL__V1__SETTINGS__INIT;
        Serverlpa__Terminal__V1__HeartbeatAck ack = SERVERLPA__TERMINAL__V1__HEARTBEAT_ACK__INIT;
        Serverlpa__Terminal__V1__ApduBatch batch = SERVERLPA__TERMINAL__V1__APDU_BATCH__INIT;
        Serverlpa__Terminal__V1__ChannelOpen open = SERVERLPA__TERMINAL__V1__CHANNEL_OPEN__INIT;
        Serverlpa__Terminal__V1__ChannelClose close = SERVERLPA__TERMINAL__V1__CHANNEL_CLOSE__INIT;
        Serverlpa__Terminal__V1__Goodbye bye = SERVERLPA__TERMINAL__V1__GOODBYE__INIT;
        static uint8_t isdr[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};
        static uint8_t get_eid[] = {0x81, 0xE2, 0x91, 0x00, 0x06, 0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
        static uint8_t challenge[] = {0x81, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00};
        ProtobufCBinaryData apdus[2] = {{sizeof get_eid, get_eid}, {sizeof challenge, challenge}};
        uint32_t accept[1] = {0x9000};
        static uint8_t card[] = {
            4, 0x61, 0x10, 0x90, 0x00,                   /* open: MANAGE CHANNEL answers channel 1 … */
            2, 0x90, 0x00,                               /* … SELECT ISD-R */
            4, 0xBF, 0x3E, 0x61, 0x05,                   /* GET EID: 61xx, GET RESPONSE follows */
            7, 0x5A, 0x01, 0x89, 0x04, 0x90, 0x90, 0x00,
            2, 0x6A, 0x88,                               /* challenge refused: the batch stops */
        };
        s.heartbeat_interval_s = 30, s.history_limit = 5, s.version = 2;
        f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_SETTINGS, f.settings = &s;
        len += put_frame(stream + len, &f);
        ack.seq = 1;
        f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT_ACK, f.heartbeat_ack = &ack;
        len += put_frame(stream + len, &f);
        open.request_id = 1, open.aid.data = isdr, open.aid.len = sizeof isdr;
        f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN, f.channel_open = &open;
        len += put_frame(stream + len, &f);
        batch.batch_id = 2, batch.channel = 1, batch.n_apdus = 2, batch.apdus = apdus, batch.n_accept_sw = 1, batch.accept_sw = accept;
        f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_APDU_BATCH, f.apdu_batch = &batch;
        len += put_frame(stream + len, &f);
        close.request_id = 3, close.channel = 1;
        f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_CLOSE, f.channel_close = &close;
        len += put_frame(stream + len, &f);
        bye.reason = 14, bye.text = "maintenance";
        f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_GOODBYE, f.goodbye = &bye;
        len += put_frame(stream + len, &f);
        write_seed(dir, 0, 0x01, card, sizeof card, stream, len);
        write_seed(dir, 1, 0x03 | 0x10, card, sizeof card, stream, len);
        write_seed(dir, 2, 0x09, NULL, 0, stream, len);
        write_seed(dir, 3, 0x00, NULL, 0, stream, len); /* before Welcome: a protocol violation */
    }
    exit(0);
}
