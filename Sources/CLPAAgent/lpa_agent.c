/*
 * The agent's state machine: IDLE → CONNECTING → HELLO_SENT → ONLINE, and BACKOFF between sessions.
 * Everything happens inside lpa_agent_poll on the integrator's thread; the only memory used is the
 * agent value and the three buffers the integrator supplied.
 */
#include "lpa_agent.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "terminal.pb-c.h"

typedef Serverlpa__Terminal__V1__Frame Frame;

enum {
    HELLO_TIMEOUT_MS = 30000,      /* Welcome or Reject must arrive within this */
    UNACKED_HEARTBEATS_MAX = 3,    /* then the connection is presumed dead */
    RETRY_AFTER_MAX_S = 86400,     /* a server's retry_after_s is capped at a day */
    SHUTDOWN_RECONNECT_MS = 1000,  /* after Goodbye SHUTTING_DOWN: reconnect soon, spread over this */
    TEXT_LIMIT = 1024,             /* Reject.text, Goodbye.text (proto/README.md, Limits) */
    NAME_LIMIT = 256,              /* session_id, model, required field names */
    RESULT_TRAILER = 160,          /* room kept in the transmit buffer for status and detail */
};

/* ---- logging ---------------------------------------------------------------------------------- */

static void logf_(lpa_agent *a, lpa_log_level level, const char *fmt, ...) {
    char line[192];
    va_list ap;
    if (!a->cfg.log || level > a->cfg.log_level) return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    a->cfg.log(a->cfg.log_ctx, level, line);
}

/* Copies server text for a log line: printable ASCII only, truncated. */
static const char *printable(char *out, size_t cap, const char *in) {
    size_t i = 0;
    if (in)
        for (; *in && i + 1 < cap; in++) out[i++] = (*in >= 0x20 && *in < 0x7F) ? *in : '?';
    out[i] = 0;
    return out;
}

static int text_too_long(const char *s, size_t limit) {
    return s && strlen(s) > limit;
}

/* ---- protobuf-c allocator over the arena ------------------------------------------------------ */

static void *arena_alloc_cb(void *data, size_t size) {
    return lpa_arena_alloc((lpa_arena *)data, size);
}

static void arena_free_cb(void *data, void *pointer) {
    (void)data;
    (void)pointer; /* everything is released by lpa_arena_reset after the frame */
}

/* ---- configuration ---------------------------------------------------------------------------- */

int lpa_agent_init(lpa_agent *a, const lpa_agent_config *config) {
    memset(a, 0, sizeof *a);
    a->cfg = *config;
    if (!a->cfg.clock.now_ms) a->cfg.clock = lpa_clock_system;
    if (!a->cfg.agent_name) a->cfg.agent_name = "lpa-agent-c/1";
    if (!a->cfg.backoff.initial_ms) a->cfg.backoff.initial_ms = 1000;
    if (!a->cfg.backoff.max_ms) a->cfg.backoff.max_ms = 300000;
    if (!a->cfg.default_heartbeat_s) a->cfg.default_heartbeat_s = 60;
    if (!a->cfg.host || !*a->cfg.host || !a->cfg.port) {
        logf_(a, LPA_LOG_ERROR, "configuration: server host and port are required");
        return LPA_ERR_ARG;
    }
    if (!a->cfg.tls.connect || !a->cfg.tls.read || !a->cfg.tls.write || !a->cfg.tls.close || !a->cfg.tls.pending) {
        logf_(a, LPA_LOG_ERROR, "configuration: every TLS operation is required");
        return LPA_ERR_ARG;
    }
    if (!a->cfg.apdu.transmit || (!a->cfg.apdu.open_channel != !a->cfg.apdu.close_channel)) {
        logf_(a, LPA_LOG_ERROR, "configuration: the APDU driver needs transmit, and open/close channel together or neither");
        return LPA_ERR_ARG;
    }
    if (!a->cfg.rx_buf || a->cfg.rx_size < 64 || !a->cfg.tx_buf || a->cfg.tx_size < 512 || !a->cfg.arena_buf ||
        a->cfg.arena_size < 256) {
        logf_(a, LPA_LOG_ERROR, "configuration: buffers too small (receive >= 64, transmit >= 512, arena >= 256 bytes)");
        return LPA_ERR_ARG;
    }
    a->max_frame = (uint32_t)((a->cfg.rx_size - LPA_FRAME_PREFIX_MAX) > LPA_FRAME_LIMIT_MAX
                                  ? LPA_FRAME_LIMIT_MAX
                                  : a->cfg.rx_size - LPA_FRAME_PREFIX_MAX);
    lpa_arena_init(&a->arena, a->cfg.arena_buf, a->cfg.arena_size);
    a->heartbeat_s = a->cfg.default_heartbeat_s;
    a->started_ms = a->cfg.clock.now_ms(a->cfg.clock.ctx);
    a->state = LPA_STATE_IDLE;
    return LPA_OK;
}

lpa_agent_state lpa_agent_get_state(const lpa_agent *a) {
    return a->state;
}

const char *lpa_agent_state_name(lpa_agent_state s) {
    switch (s) {
    case LPA_STATE_IDLE: return "idle";
    case LPA_STATE_BACKOFF: return "backoff";
    case LPA_STATE_CONNECTING: return "connecting";
    case LPA_STATE_HELLO_SENT: return "hello-sent";
    case LPA_STATE_ONLINE: return "online";
    }
    return "?";
}

static uint64_t now(lpa_agent *a) {
    return a->cfg.clock.now_ms(a->cfg.clock.ctx);
}

void lpa_agent_start(lpa_agent *a) {
    a->stop_requested = 0;
    if (a->state == LPA_STATE_IDLE) {
        a->state = LPA_STATE_CONNECTING;
        a->next_action_ms = now(a);
    }
}

/* ---- sending ---------------------------------------------------------------------------------- */

static int write_all(lpa_agent *a, const uint8_t *p, size_t n) {
    while (n) {
        long w = a->cfg.tls.write(a->cfg.tls.ctx, p, n);
        if (w <= 0) return w < 0 ? (int)w : LPA_ERR_IO;
        if ((size_t)w > n) return LPA_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return LPA_OK;
}

/* Sends a frame whose body was written at tx_buf + LPA_FRAME_PREFIX_MAX. */
static int send_body(lpa_agent *a, size_t body_len) {
    uint8_t prefix[LPA_FRAME_PREFIX_MAX];
    size_t k = lpa_frame_prefix_encode((uint32_t)body_len, prefix);
    uint8_t *start;
    if (k == 0) return LPA_ERR_NOMEM;
    start = a->cfg.tx_buf + LPA_FRAME_PREFIX_MAX - k;
    memcpy(start, prefix, k);
    return write_all(a, start, k + body_len);
}

static int send_frame(lpa_agent *a, const Frame *frame) {
    size_t size = serverlpa__terminal__v1__frame__get_packed_size(frame);
    if (size == 0 || size > a->cfg.tx_size - LPA_FRAME_PREFIX_MAX || size > LPA_FRAME_LIMIT_MAX) {
        logf_(a, LPA_LOG_ERROR, "outgoing frame of %lu bytes does not fit the %lu-byte transmit buffer",
              (unsigned long)size, (unsigned long)a->cfg.tx_size);
        return LPA_ERR_NOMEM;
    }
    serverlpa__terminal__v1__frame__pack(frame, a->cfg.tx_buf + LPA_FRAME_PREFIX_MAX);
    return send_body(a, size);
}

/* ---- ending a connection ---------------------------------------------------------------------- */

static void enter_backoff(lpa_agent *a) {
    uint32_t delay;
    if (a->stop_requested) {
        a->state = LPA_STATE_IDLE;
        return;
    }
    if (a->failures < 0xFFFFu) a->failures++;
    if (a->retry_after_s) {
        uint32_t s = a->retry_after_s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : a->retry_after_s;
        delay = s * 1000u;
        a->retry_after_s = 0;
    } else {
        delay = lpa_backoff_delay_ms(&a->cfg.backoff, a->failures, a->cfg.clock.random(a->cfg.clock.ctx));
    }
    a->state = LPA_STATE_BACKOFF;
    a->next_action_ms = now(a) + delay;
    logf_(a, LPA_LOG_INFO, "reconnecting in %lu ms (attempt %lu)", (unsigned long)delay, (unsigned long)a->failures);
}

static void close_connection(lpa_agent *a, lpa_log_level level, const char *why) {
    snprintf(a->last_reason, sizeof a->last_reason, "%s", why);
    logf_(a, level, "connection closed: %s", why);
    a->cfg.tls.close(a->cfg.tls.ctx);
    a->rx_len = 0;
    lpa_arena_reset(&a->arena);
    enter_backoff(a);
}

static void send_goodbye(lpa_agent *a, uint32_t reason, const char *text) {
    Frame frame = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__Goodbye bye = SERVERLPA__TERMINAL__V1__GOODBYE__INIT;
    bye.reason = (Serverlpa__Terminal__V1__ReasonCode)reason;
    bye.text = (char *)(text ? text : "");
    frame.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_GOODBYE;
    frame.goodbye = &bye;
    (void)send_frame(a, &frame);
}

/* The server broke the protocol: say so, close, back off. */
static void violation(lpa_agent *a, const char *why) {
    a->stats.protocol_violations++;
    send_goodbye(a, SERVERLPA__TERMINAL__V1__REASON_CODE__PROTOCOL_VIOLATION, why);
    close_connection(a, LPA_LOG_WARNING, why);
}

void lpa_agent_disconnect(lpa_agent *a, const char *why) {
    if (a->state == LPA_STATE_HELLO_SENT || a->state == LPA_STATE_ONLINE)
        close_connection(a, LPA_LOG_WARNING, why);
}

void lpa_agent_stop(lpa_agent *a, uint32_t reason, const char *text) {
    a->stop_requested = 1;
    if (a->state == LPA_STATE_HELLO_SENT || a->state == LPA_STATE_ONLINE) {
        send_goodbye(a, reason, text);
        close_connection(a, LPA_LOG_INFO, "stopped by the device");
    }
    a->state = LPA_STATE_IDLE;
}

/* ---- the session ------------------------------------------------------------------------------ */

static int nonempty(const char *s) {
    return s && *s;
}

static int send_hello(lpa_agent *a) {
    Frame frame = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__Hello hello = SERVERLPA__TERMINAL__V1__HELLO__INIT;
    Serverlpa__Terminal__V1__Identity id = SERVERLPA__TERMINAL__V1__IDENTITY__INIT;
    const lpa_identity *in = &a->cfg.identity;
    if (nonempty(in->eid)) id.eid = (char *)in->eid;
    if (nonempty(in->imei)) id.imei = (char *)in->imei;
    if (nonempty(in->iccid)) id.iccid = (char *)in->iccid;
    if (nonempty(in->model)) id.model = (char *)in->model;
    if (nonempty(in->firmware)) id.firmware = (char *)in->firmware;
    hello.protocol_version = LPA_PROTOCOL_VERSION;
    hello.identity = &id;
    hello.agent = (char *)a->cfg.agent_name;
    hello.max_frame = a->max_frame;
    frame.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_HELLO;
    frame.hello = &hello;
    return send_frame(a, &frame);
}

static void send_heartbeat(lpa_agent *a, uint64_t t) {
    Frame frame = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__Heartbeat hb = SERVERLPA__TERMINAL__V1__HEARTBEAT__INIT;
    if ((uint32_t)(a->seq - a->acked_seq) >= UNACKED_HEARTBEATS_MAX) {
        close_connection(a, LPA_LOG_WARNING, "no HeartbeatAck for 3 heartbeats");
        return;
    }
    a->seq++;
    hb.seq = a->seq;
    hb.uptime_s = (uint32_t)((t - a->started_ms) / 1000u);
    frame.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT;
    frame.heartbeat = &hb;
    if (send_frame(a, &frame) != LPA_OK) {
        close_connection(a, LPA_LOG_WARNING, "sending a heartbeat failed");
        return;
    }
    a->stats.heartbeats_sent++;
    a->last_heartbeat_ms = t;
    a->next_action_ms = t + (uint64_t)a->heartbeat_s * 1000u;
}

static void apply_settings(lpa_agent *a, const Serverlpa__Terminal__V1__Settings *s, int initial) {
    if (!s) return;
    if (!initial && s->version < a->settings_version) {
        logf_(a, LPA_LOG_DEBUG, "ignoring settings version %lu (holding %lu)", (unsigned long)s->version,
              (unsigned long)a->settings_version);
        return;
    }
    a->settings_version = s->version;
    a->history_limit = s->history_limit;
    if (s->heartbeat_interval_s && s->heartbeat_interval_s != a->heartbeat_s) {
        uint64_t next;
        a->heartbeat_s = s->heartbeat_interval_s;
        /* The new interval counts from the last heartbeat (or the Welcome). */
        next = a->last_heartbeat_ms + (uint64_t)a->heartbeat_s * 1000u;
        a->next_action_ms = next;
    }
    a->stats.settings_applied++;
    logf_(a, LPA_LOG_INFO, "settings v%lu: heartbeat every %lu s, history limit %lu", (unsigned long)s->version,
          (unsigned long)a->heartbeat_s, (unsigned long)a->history_limit);
}

static void on_welcome(lpa_agent *a, const Serverlpa__Terminal__V1__Welcome *w) {
    char buf[64];
    size_t i;
    uint64_t t = now(a);
    if (w->protocol_version != LPA_PROTOCOL_VERSION) {
        violation(a, "Welcome names a protocol version this agent does not speak");
        return;
    }
    if (text_too_long(w->session_id, NAME_LIMIT) || text_too_long(w->model, NAME_LIMIT) || w->n_required_fields > 64) {
        violation(a, "Welcome exceeds the protocol's limits");
        return;
    }
    for (i = 0; i < w->n_required_fields; i++)
        if (text_too_long(w->required_fields[i], NAME_LIMIT)) {
            violation(a, "Welcome exceeds the protocol's limits");
            return;
        }
    printable(a->session_id, sizeof a->session_id, w->session_id);
    a->state = LPA_STATE_ONLINE;
    a->failures = 0;
    a->stats.welcomes++;
    a->last_heartbeat_ms = t;
    a->next_action_ms = t + (uint64_t)a->heartbeat_s * 1000u;
    apply_settings(a, w->settings, 1);
    logf_(a, LPA_LOG_INFO, "welcomed: session %s, model %s, heartbeat every %lu s", a->session_id,
          printable(buf, sizeof buf, w->model), (unsigned long)a->heartbeat_s);
}

static void on_reject(lpa_agent *a, const Serverlpa__Terminal__V1__Reject *r) {
    char text[96], why[128];
    a->stats.rejects++;
    a->retry_after_s = r->retry_after_s;
    snprintf(why, sizeof why, "rejected (reason %d): %s", (int)r->code, printable(text, sizeof text, r->text));
    close_connection(a, LPA_LOG_WARNING, why);
}

static void on_goodbye(lpa_agent *a, const Serverlpa__Terminal__V1__Goodbye *g) {
    char text[96], why[128];
    snprintf(why, sizeof why, "server said goodbye (reason %d): %s", (int)g->reason,
             printable(text, sizeof text, g->text));
    if (g->reason == SERVERLPA__TERMINAL__V1__REASON_CODE__SHUTTING_DOWN) {
        /* Another edge takes over at once: reconnect soon, spread so the fleet does not stampede. */
        close_connection(a, LPA_LOG_INFO, why);
        if (a->state == LPA_STATE_BACKOFF) {
            a->failures = 0;
            a->next_action_ms = now(a) + 1 + a->cfg.clock.random(a->cfg.clock.ctx) % SHUTDOWN_RECONNECT_MS;
        }
        return;
    }
    close_connection(a, LPA_LOG_WARNING, why);
}

/* ---- requests: logical channels --------------------------------------------------------------- */

static uint8_t channel_class(uint8_t channel) {
    return channel <= 3 ? channel : (uint8_t)(0x40u | (channel - 4u));
}

static size_t arena_scratch(lpa_agent *a, uint8_t **out) {
    size_t avail = a->arena.size - a->arena.used;
    if (avail > 16) avail -= 16;
    *out = lpa_arena_alloc(&a->arena, avail);
    return *out ? avail : 0;
}

static void on_channel_open(lpa_agent *a, const Serverlpa__Terminal__V1__ChannelOpen *req) {
    Frame frame = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__ChannelOpenResult res = SERVERLPA__TERMINAL__V1__CHANNEL_OPEN_RESULT__INIT;
    uint8_t *scratch;
    size_t cap, len = 0;
    uint16_t sw = 0;
    uint8_t channel = 0;
    const char *detail = NULL;
    int rc;

    if (req->aid.len > 16) {
        violation(a, "ChannelOpen AID longer than 16 bytes");
        return;
    }
    cap = arena_scratch(a, &scratch);
    res.request_id = req->request_id;
    if (cap < 270) {
        detail = "agent arena too small for a SELECT response";
    } else if (a->cfg.apdu.open_channel) {
        rc = a->cfg.apdu.open_channel(a->cfg.apdu.ctx, req->aid.data, req->aid.len, &channel, &sw, scratch, cap, &len);
        if (rc != LPA_OK || channel > LPA_MAX_CHANNEL) {
            channel = 0;
            len = 0;
            detail = "the modem could not open a logical channel";
        }
    } else {
        /* MANAGE CHANNEL open, then SELECT by AID on the new channel. */
        static const uint8_t manage_open[5] = {0x00, 0x70, 0x00, 0x00, 0x01};
        uint8_t select[5 + 16 + 1];
        rc = lpa_apdu_exchange(&a->cfg.apdu, manage_open, sizeof manage_open, scratch, cap, &len);
        if (rc != LPA_OK) {
            detail = "MANAGE CHANNEL failed without a status word";
            len = 0;
        } else {
            sw = (uint16_t)(scratch[len - 2] << 8 | scratch[len - 1]);
            if (sw != 0x9000u || len != 3 || scratch[0] == 0 || scratch[0] > LPA_MAX_CHANNEL) {
                detail = "MANAGE CHANNEL did not open a channel";
                if (sw == 0x9000u) sw = 0x6A81u;
                len = 0;
            } else {
                channel = scratch[0];
                select[0] = channel_class(channel);
                select[1] = 0xA4;
                select[2] = 0x04;
                select[3] = 0x00;
                select[4] = (uint8_t)req->aid.len;
                if (req->aid.len) memcpy(select + 5, req->aid.data, req->aid.len);
                select[5 + req->aid.len] = 0x00;
                rc = lpa_apdu_exchange(&a->cfg.apdu, select, 6 + req->aid.len, scratch, cap, &len);
                if (rc != LPA_OK) {
                    detail = "SELECT failed without a status word";
                    sw = 0;
                    len = 0;
                } else {
                    sw = (uint16_t)(scratch[len - 2] << 8 | scratch[len - 1]);
                    len -= 2;
                    if (sw != 0x9000u && (sw & 0xFF00u) != 0x9100u) detail = "SELECT of the AID failed";
                }
                if (detail) {
                    /* The application is not there: give the channel back. */
                    uint8_t manage_close[4] = {0x00, 0x70, 0x80, 0x00};
                    uint8_t r[2 + 2];
                    size_t rl = 0;
                    manage_close[3] = channel;
                    (void)lpa_apdu_exchange(&a->cfg.apdu, manage_close, sizeof manage_close, r, sizeof r, &rl);
                    channel = 0;
                    len = 0;
                }
            }
        }
    }
    if (channel) a->stats.channels_opened++;
    res.channel = channel;
    if (detail) res.detail = (char *)detail;
    res.sw = sw;
    res.select_response.data = len ? scratch : NULL;
    res.select_response.len = len;
    frame.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN_RESULT;
    frame.channel_open_result = &res;
    logf_(a, LPA_LOG_INFO, "channel open request %lu: channel %u, SW %04X", (unsigned long)req->request_id,
          (unsigned)channel, (unsigned)sw);
    if (send_frame(a, &frame) != LPA_OK) close_connection(a, LPA_LOG_WARNING, "sending ChannelOpenResult failed");
}

static void on_channel_close(lpa_agent *a, const Serverlpa__Terminal__V1__ChannelClose *req) {
    Frame frame = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__ChannelCloseResult res = SERVERLPA__TERMINAL__V1__CHANNEL_CLOSE_RESULT__INIT;
    uint16_t sw = 0;
    int rc;
    if (req->channel == 0 || req->channel > LPA_MAX_CHANNEL) {
        violation(a, "ChannelClose names a channel outside 1-19");
        return;
    }
    if (a->cfg.apdu.close_channel) {
        rc = a->cfg.apdu.close_channel(a->cfg.apdu.ctx, (uint8_t)req->channel, &sw);
        if (rc != LPA_OK) sw = 0;
    } else {
        uint8_t cmd[4] = {0x00, 0x70, 0x80, 0x00};
        uint8_t r[260];
        size_t rl = 0;
        cmd[3] = (uint8_t)req->channel;
        rc = lpa_apdu_exchange(&a->cfg.apdu, cmd, sizeof cmd, r, sizeof r, &rl);
        sw = rc == LPA_OK ? (uint16_t)(r[rl - 2] << 8 | r[rl - 1]) : 0;
    }
    if (sw == 0x9000u) a->stats.channels_closed++;
    res.request_id = req->request_id;
    res.sw = sw;
    frame.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_CLOSE_RESULT;
    frame.channel_close_result = &res;
    logf_(a, LPA_LOG_INFO, "channel close request %lu: channel %lu, SW %04X", (unsigned long)req->request_id,
          (unsigned long)req->channel, (unsigned)sw);
    if (send_frame(a, &frame) != LPA_OK) close_connection(a, LPA_LOG_WARNING, "sending ChannelCloseResult failed");
}

/* ---- requests: APDU batches ------------------------------------------------------------------- */

/*
 * The ApduBatchResult is written field by field straight into the transmit buffer while the card
 * answers, so a response is never held twice: the card's answer lands where its protobuf field goes.
 * Layout: [3 prefix][0x42 Frame.apdu_batch_result][3 length][batch_id][responses…][status][detail].
 * Fields may come in any order on the wire; the frame length is filled in at the end.
 */
static size_t put_varint(uint8_t *p, uint32_t v) {
    size_t n = 0;
    while (v >= 0x80u) {
        p[n++] = (uint8_t)(v | 0x80u);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static size_t varint_size(uint32_t v) {
    size_t n = 1;
    while (v >= 0x80u) {
        v >>= 7;
        n++;
    }
    return n;
}

#define RESULT_INNER (LPA_FRAME_PREFIX_MAX + 1 + 3)

static void finish_result(lpa_agent *a, size_t end, uint32_t status, const char *detail) {
    uint8_t *tx = a->cfg.tx_buf;
    size_t inner_len, k, dlen = detail ? strlen(detail) : 0;
    if (dlen > 127) dlen = 127;
    if (status) {
        tx[end++] = 0x10; /* status */
        end += put_varint(tx + end, status);
    }
    if (dlen) {
        tx[end++] = 0x22; /* detail */
        tx[end++] = (uint8_t)dlen;
        memcpy(tx + end, detail, dlen);
        end += dlen;
    }
    inner_len = end - RESULT_INNER;
    k = varint_size((uint32_t)inner_len);
    tx[LPA_FRAME_PREFIX_MAX] = 0x42; /* Frame field 8, length-delimited */
    put_varint(tx + LPA_FRAME_PREFIX_MAX + 1, (uint32_t)inner_len);
    memmove(tx + LPA_FRAME_PREFIX_MAX + 1 + k, tx + RESULT_INNER, inner_len);
    if (send_body(a, 1 + k + inner_len) != LPA_OK)
        close_connection(a, LPA_LOG_WARNING, "sending ApduBatchResult failed");
}

static int batch_within_limits(const Serverlpa__Terminal__V1__ApduBatch *b, const char **why) {
    size_t i;
    if (b->channel > LPA_MAX_CHANNEL) return *why = "ApduBatch names a channel above 19", 0;
    if (b->n_apdus > 4096) return *why = "ApduBatch carries more than 4096 APDUs", 0;
    if (b->n_accept_sw > 64) return *why = "ApduBatch carries more than 64 accepted status words", 0;
    for (i = 0; i < b->n_accept_sw; i++)
        if (b->accept_sw[i] > 0xFFFFu) return *why = "ApduBatch accepts a status word above FFFF", 0;
    for (i = 0; i < b->n_apdus; i++)
        if (b->apdus[i].len > 65544u) return *why = "ApduBatch carries an APDU longer than 65544 bytes", 0;
    return 1;
}

static void on_apdu_batch(lpa_agent *a, const Serverlpa__Terminal__V1__ApduBatch *b) {
    uint8_t *tx = a->cfg.tx_buf;
    size_t end = RESULT_INNER, i;
    const char *why = NULL;
    uint32_t status = SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_OK;
    char detail[64];

    if (!batch_within_limits(b, &why)) {
        violation(a, why);
        return;
    }
    a->stats.batches++;
    detail[0] = 0;
    tx[end++] = 0x08; /* batch_id */
    end += put_varint(tx + end, b->batch_id);
    for (i = 0; i < b->n_apdus; i++)
        if (b->apdus[i].len < 4) {
            snprintf(detail, sizeof detail, "APDU %lu is shorter than a header", (unsigned long)i);
            finish_result(a, end, SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_REJECTED, detail);
            return;
        }
    for (i = 0; i < b->n_apdus; i++) {
        size_t head = end, room, got = 0, k;
        uint16_t sw;
        int rc;
        if (a->cfg.tx_size < head + 4 + 2 + RESULT_TRAILER) {
            rc = LPA_ERR_NOMEM;
        } else {
            room = a->cfg.tx_size - head - 4 - RESULT_TRAILER;
            if (room > 65544u) room = 65544u;
            rc = lpa_apdu_exchange(&a->cfg.apdu, b->apdus[i].data, b->apdus[i].len, tx + head + 4, room, &got);
        }
        if (rc != LPA_OK) {
            snprintf(detail, sizeof detail, rc == LPA_ERR_NOMEM ? "response to APDU %lu exceeds the agent's buffer"
                                                                : "card error at APDU %lu",
                     (unsigned long)i);
            status = SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_CARD_ERROR;
            break;
        }
        a->stats.apdus++;
        tx[head] = 0x1A; /* responses */
        k = put_varint(tx + head + 1, (uint32_t)got);
        memmove(tx + head + 1 + k, tx + head + 4, got);
        end = head + 1 + k + got;
        sw = (uint16_t)(tx[end - 2] << 8 | tx[end - 1]);
        if (!lpa_sw_continues(sw, b->accept_sw, b->n_accept_sw)) {
            snprintf(detail, sizeof detail, "stopped at status word %04X", (unsigned)sw);
            status = SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_STOPPED;
            break;
        }
    }
    logf_(a, LPA_LOG_INFO, "batch %lu: %lu APDUs, status %lu%s%s", (unsigned long)b->batch_id,
          (unsigned long)b->n_apdus, (unsigned long)status, detail[0] ? ", " : "", detail);
    finish_result(a, end, status, detail);
}

/* ---- incoming frames -------------------------------------------------------------------------- */

static void handle_frame(lpa_agent *a, const Frame *f) {
    int online = a->state == LPA_STATE_ONLINE;
    switch (f->body_case) {
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_WELCOME:
        if (online) { violation(a, "Welcome after the session started"); return; }
        on_welcome(a, f->welcome);
        return;
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_REJECT:
        if (online) { violation(a, "Reject after Welcome"); return; }
        if (text_too_long(f->reject->text, TEXT_LIMIT)) { violation(a, "Reject text longer than 1024 bytes"); return; }
        on_reject(a, f->reject);
        return;
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_GOODBYE:
        if (text_too_long(f->goodbye->text, TEXT_LIMIT)) { violation(a, "Goodbye text longer than 1024 bytes"); return; }
        on_goodbye(a, f->goodbye);
        return;
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT_ACK:
        if (!online) { violation(a, "HeartbeatAck before Welcome"); return; }
        /* Acks arrive in order; an ack for a heartbeat never sent is ignored. */
        if ((uint32_t)(a->seq - f->heartbeat_ack->seq) < (uint32_t)(a->seq - a->acked_seq)) {
            a->acked_seq = f->heartbeat_ack->seq;
            a->stats.heartbeat_acks++;
            logf_(a, LPA_LOG_DEBUG, "heartbeat %lu acknowledged", (unsigned long)a->acked_seq);
        }
        return;
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_SETTINGS:
        if (!online) { violation(a, "Settings before Welcome"); return; }
        apply_settings(a, f->settings, 0);
        return;
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_APDU_BATCH:
        if (!online) { violation(a, "ApduBatch before Welcome"); return; }
        on_apdu_batch(a, f->apdu_batch);
        return;
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN:
        if (!online) { violation(a, "ChannelOpen before Welcome"); return; }
        on_channel_open(a, f->channel_open);
        return;
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_CLOSE:
        if (!online) { violation(a, "ChannelClose before Welcome"); return; }
        on_channel_close(a, f->channel_close);
        return;
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_HELLO:
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT:
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_APDU_BATCH_RESULT:
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN_RESULT:
    case SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_CLOSE_RESULT:
        { violation(a, "the server sent a terminal's message"); return; }
    default:
        { violation(a, "frame carries no known message"); return; }
    }
}

/* Handles every complete frame in the receive buffer; stops when the connection ends. */
static void drain_frames(lpa_agent *a) {
    ProtobufCAllocator allocator;
    allocator.alloc = arena_alloc_cb;
    allocator.free = arena_free_cb;
    allocator.allocator_data = &a->arena;

    while (a->state == LPA_STATE_HELLO_SENT || a->state == LPA_STATE_ONLINE) {
        uint32_t length = 0;
        size_t total;
        Frame *frame;
        char why[96];
        int k = lpa_frame_prefix_decode(a->cfg.rx_buf, a->rx_len, &length);
        if (k == 0) return;
        if (k < 0) { violation(a, "malformed length prefix"); return; }
        if (length > a->max_frame) {
            snprintf(why, sizeof why, "frame of %lu bytes exceeds the agent's limit of %lu", (unsigned long)length,
                     (unsigned long)a->max_frame);
            { violation(a, why); return; }
        }
        total = (size_t)k + length;
        if (a->rx_len < total) return;
        lpa_arena_reset(&a->arena);
        frame = serverlpa__terminal__v1__frame__unpack(&allocator, length, a->cfg.rx_buf + k);
        if (!frame) {
            if (a->arena.exhausted) {
                snprintf(why, sizeof why, "frame of %lu bytes needs more than the agent's %lu-byte arena",
                         (unsigned long)length, (unsigned long)a->arena.size);
                { violation(a, why); return; }
            }
            { violation(a, "frame body is not a valid Frame"); return; }
        }
        handle_frame(a, frame);
        lpa_arena_reset(&a->arena);
        if (a->state != LPA_STATE_HELLO_SENT && a->state != LPA_STATE_ONLINE) return;
        memmove(a->cfg.rx_buf, a->cfg.rx_buf + total, a->rx_len - total);
        a->rx_len -= total;
    }
}

static void read_input(lpa_agent *a) {
    for (;;) {
        long r;
        if (a->rx_len == a->cfg.rx_size) return; /* cannot happen: a frame that fits is handled first */
        r = a->cfg.tls.read(a->cfg.tls.ctx, a->cfg.rx_buf + a->rx_len, a->cfg.rx_size - a->rx_len);
        if (r == 0) return;
        if (r < 0 || (size_t)r > a->cfg.rx_size - a->rx_len) {
            close_connection(a, LPA_LOG_WARNING,
                             r == LPA_ERR_CLOSED ? (a->rx_len ? "server closed the connection inside a frame"
                                                              : "server closed the connection")
                                                 : "reading from the server failed");
            return;
        }
        a->rx_len += (size_t)r;
        drain_frames(a);
        if (a->state != LPA_STATE_HELLO_SENT && a->state != LPA_STATE_ONLINE) return;
    }
}

static void connect_now(lpa_agent *a) {
    int rc;
    logf_(a, LPA_LOG_INFO, "connecting to %s:%u", a->cfg.host, (unsigned)a->cfg.port);
    rc = a->cfg.tls.connect(a->cfg.tls.ctx, a->cfg.host, a->cfg.port);
    if (rc != LPA_OK) {
        a->stats.connect_failures++;
        snprintf(a->last_reason, sizeof a->last_reason, "connecting failed (%d)", rc);
        logf_(a, LPA_LOG_WARNING, "connecting to %s:%u failed (%d)", a->cfg.host, (unsigned)a->cfg.port, rc);
        a->cfg.tls.close(a->cfg.tls.ctx);
        enter_backoff(a);
        return;
    }
    a->stats.connects++;
    a->rx_len = 0;
    a->seq = a->acked_seq = 0;
    a->settings_version = 0;
    a->heartbeat_s = a->cfg.default_heartbeat_s;
    a->session_id[0] = 0;
    if (send_hello(a) != LPA_OK) {
        close_connection(a, LPA_LOG_WARNING, "sending Hello failed");
        return;
    }
    a->state = LPA_STATE_HELLO_SENT;
    a->hello_deadline_ms = now(a) + HELLO_TIMEOUT_MS;
}

static uint32_t until(uint64_t t, uint64_t deadline) {
    uint64_t d = deadline > t ? deadline - t : 0;
    return d > 0x7FFFFFFFu ? 0x7FFFFFFFu : (uint32_t)d;
}

int32_t lpa_agent_poll(lpa_agent *a, uint32_t max_wait_ms) {
    uint64_t t = now(a);
    uint32_t wait;
    int r;

    switch (a->state) {
    case LPA_STATE_IDLE:
        return LPA_ERR_ARG;
    case LPA_STATE_BACKOFF:
        if (t < a->next_action_ms) {
            wait = until(t, a->next_action_ms);
            if (wait > max_wait_ms) wait = max_wait_ms;
            if (!a->cfg.clock.sleep_ms) return (int32_t)until(t, a->next_action_ms);
            a->cfg.clock.sleep_ms(a->cfg.clock.ctx, wait);
            t = now(a);
            if (t < a->next_action_ms) return (int32_t)until(t, a->next_action_ms);
        }
        a->state = LPA_STATE_CONNECTING;
        /* fall through */
    case LPA_STATE_CONNECTING:
        connect_now(a);
        return a->state == LPA_STATE_BACKOFF ? (int32_t)until(now(a), a->next_action_ms) : 0;
    case LPA_STATE_HELLO_SENT:
    case LPA_STATE_ONLINE:
        break;
    }

    if (a->state == LPA_STATE_ONLINE && t >= a->next_action_ms) {
        send_heartbeat(a, t);
        if (a->state != LPA_STATE_ONLINE) return 0;
    }
    wait = until(t, a->state == LPA_STATE_ONLINE ? a->next_action_ms : a->hello_deadline_ms);
    if (wait > max_wait_ms) wait = max_wait_ms;
    r = a->cfg.tls.pending(a->cfg.tls.ctx, wait);
    if (r < 0) {
        close_connection(a, LPA_LOG_WARNING, r == LPA_ERR_CLOSED ? "server closed the connection" : "connection failed");
        return 0;
    }
    if (r > 0) read_input(a);
    t = now(a);
    if (a->state == LPA_STATE_HELLO_SENT && t >= a->hello_deadline_ms) {
        close_connection(a, LPA_LOG_WARNING, "no Welcome within 30 s");
        return 0;
    }
    if (a->state == LPA_STATE_ONLINE) return (int32_t)until(t, a->next_action_ms);
    if (a->state == LPA_STATE_HELLO_SENT) return (int32_t)until(t, a->hello_deadline_ms);
    return a->state == LPA_STATE_BACKOFF ? (int32_t)until(t, a->next_action_ms) : 0;
}
