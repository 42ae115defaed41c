/* The agent's state machine against in-memory TLS, card and clock: session, batches, settings,
 * back-off, and hostile server input. */
#include <stdlib.h>
#include <string.h>

#include "fake_edges.h"
#include "test.h"

typedef Serverlpa__Terminal__V1__Frame Frame;

static fake_rig rig;

#define RX 4096
#define TX 4096
#define ARENA 8192

/* ---- helpers ---------------------------------------------------------------------------------- */

static Frame *expect_frame(Serverlpa__Terminal__V1__Frame__BodyCase kind) {
    Frame *f = fake_client_frame(&rig.tls);
    CHECK(f != NULL);
    if (f) CHECK_EQ(f->body_case, kind);
    return f;
}

static void free_frame(Frame *f) {
    if (f) serverlpa__terminal__v1__frame__free_unpacked(f, NULL);
}

static void send_batch(uint32_t id, uint32_t channel, const char **apdus, size_t n, const uint32_t *accept,
                       size_t n_accept) {
    static uint8_t storage[16][300];
    ProtobufCBinaryData bin[16];
    Frame f = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__ApduBatch b = SERVERLPA__TERMINAL__V1__APDU_BATCH__INIT;
    size_t i;
    for (i = 0; i < n; i++) {
        bin[i].len = hex_to_bytes(apdus[i], storage[i]);
        bin[i].data = storage[i];
    }
    b.batch_id = id;
    b.channel = channel;
    b.n_apdus = n;
    b.apdus = bin;
    b.n_accept_sw = n_accept;
    b.accept_sw = (uint32_t *)accept;
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_APDU_BATCH;
    f.apdu_batch = &b;
    fake_server_send(&rig.tls, &f);
    rig_pump(&rig);
}

static void send_settings(uint32_t interval, uint32_t version) {
    Frame f = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__Settings s = SERVERLPA__TERMINAL__V1__SETTINGS__INIT;
    s.heartbeat_interval_s = interval;
    s.history_limit = 20;
    s.version = version;
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_SETTINGS;
    f.settings = &s;
    fake_server_send(&rig.tls, &f);
    rig_pump(&rig);
}

static int response_is(const ProtobufCBinaryData *r, const char *hex) {
    uint8_t want[300];
    size_t n = hex_to_bytes(hex, want);
    return r->len == n && memcmp(r->data, want, n) == 0;
}

/* The agent closed with Goodbye PROTOCOL_VIOLATION (if it could still write) and is backing off. */
static void expect_violation(void) {
    Frame *f;
    CHECK_EQ(lpa_agent_get_state(&rig.agent), LPA_STATE_BACKOFF);
    CHECK(rig.agent.stats.protocol_violations >= 1);
    while ((f = fake_client_frame(&rig.tls)) != NULL) {
        if (f->body_case == SERVERLPA__TERMINAL__V1__FRAME__BODY_GOODBYE)
            CHECK_EQ(f->goodbye->reason, SERVERLPA__TERMINAL__V1__REASON_CODE__PROTOCOL_VIOLATION);
        free_frame(f);
    }
}

/* ---- session ---------------------------------------------------------------------------------- */

static void hello_carries_the_identity(void) {
    Frame *f;
    rig_init(&rig, RX, TX, ARENA);
    lpa_agent_start(&rig.agent);
    lpa_agent_poll(&rig.agent, 0);
    f = expect_frame(SERVERLPA__TERMINAL__V1__FRAME__BODY_HELLO);
    if (f && f->hello) {
        CHECK_EQ(f->hello->protocol_version, 1);
        CHECK_EQ(f->hello->max_frame, RX - 3);
        CHECK(strcmp(f->hello->identity->eid, "89049032000000000000000000000001") == 0);
        CHECK(strcmp(f->hello->identity->imei, "350000000000001") == 0);
        CHECK(strcmp(f->hello->identity->model, "meter-1") == 0);
        CHECK(strcmp(f->hello->identity->iccid, "") == 0); /* not configured: not sent */
        CHECK(strcmp(f->hello->agent, "lpa-agent-c/1") == 0);
    }
    free_frame(f);
    CHECK_EQ(rig.tls.connects, 1);
}

static void heartbeats_follow_the_welcome_interval_and_acks_count(void) {
    Frame *f;
    Frame ack = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__HeartbeatAck a = SERVERLPA__TERMINAL__V1__HEARTBEAT_ACK__INIT;
    uint64_t t0;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 10);
    t0 = rig.clock.now;
    CHECK_EQ(lpa_agent_poll(&rig.agent, 4000), 6000); /* waited 4 s of 10 */
    CHECK(fake_client_frame(&rig.tls) == NULL);
    lpa_agent_poll(&rig.agent, 60000);              /* waits until the interval is up */
    CHECK_EQ(rig.clock.now - t0, 10000);
    lpa_agent_poll(&rig.agent, 0);                  /* sends it */
    f = expect_frame(SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT);
    if (f) CHECK_EQ(f->heartbeat->seq, 1);
    free_frame(f);
    a.seq = 1;
    ack.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT_ACK;
    ack.heartbeat_ack = &a;
    fake_server_send(&rig.tls, &ack);
    rig_pump(&rig);
    CHECK_EQ(rig.agent.stats.heartbeat_acks, 1);
    fake_server_send(&rig.tls, &ack); /* a repeated ack is ignored */
    rig_pump(&rig);
    CHECK_EQ(rig.agent.stats.heartbeat_acks, 1);
}

static void unanswered_heartbeats_end_the_connection(void) {
    int i;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 5);
    for (i = 0; i < 8 && lpa_agent_get_state(&rig.agent) == LPA_STATE_ONLINE; i++) lpa_agent_poll(&rig.agent, 5000);
    CHECK_EQ(rig.agent.stats.heartbeats_sent, 3);
    CHECK_EQ(lpa_agent_get_state(&rig.agent), LPA_STATE_BACKOFF);
    CHECK(strstr(rig.agent.last_reason, "HeartbeatAck") != NULL);
}

static void settings_change_the_interval_at_any_time(void) {
    uint64_t t0;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 60);
    t0 = rig.clock.now;
    lpa_agent_poll(&rig.agent, 1000);
    send_settings(5, 2);
    CHECK_EQ(rig.agent.heartbeat_s, 5);
    CHECK_EQ(rig.agent.history_limit, 20);
    CHECK_EQ(lpa_agent_poll(&rig.agent, 0) <= 4000, 1); /* 5 s from the Welcome, 1 s gone */
    while (rig.agent.stats.heartbeats_sent == 0) lpa_agent_poll(&rig.agent, 10000);
    CHECK_EQ(rig.agent.last_heartbeat_ms - t0, 5000);
    send_settings(30, 1); /* older than the one held: ignored */
    CHECK_EQ(rig.agent.heartbeat_s, 5);
    send_settings(0, 3);  /* 0 keeps the interval */
    CHECK_EQ(rig.agent.heartbeat_s, 5);
    CHECK_EQ(rig.agent.settings_version, 3);
    CHECK_EQ(rig.agent.stats.settings_applied, 3); /* Welcome's, v2, v3 */
}

static void reject_waits_retry_after_and_goodbye_reconnects(void) {
    Frame f = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__Reject r = SERVERLPA__TERMINAL__V1__REJECT__INIT;
    Serverlpa__Terminal__V1__Goodbye g = SERVERLPA__TERMINAL__V1__GOODBYE__INIT;
    rig_init(&rig, RX, TX, ARENA);
    lpa_agent_start(&rig.agent);
    lpa_agent_poll(&rig.agent, 0);
    r.code = SERVERLPA__TERMINAL__V1__REASON_CODE__SERVER_BUSY;
    r.text = "busy\x01";
    r.retry_after_s = 42;
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_REJECT;
    f.reject = &r;
    fake_server_send(&rig.tls, &f);
    rig_pump(&rig);
    CHECK_EQ(lpa_agent_get_state(&rig.agent), LPA_STATE_BACKOFF);
    CHECK_EQ(rig.agent.next_action_ms - rig.clock.now, 42000);
    CHECK(strstr(rig.agent.last_reason, "busy?") != NULL); /* control characters never reach the log */
    CHECK_EQ(rig.agent.stats.rejects, 1);
    /* the next session is welcomed, then the edge drains */
    lpa_agent_poll(&rig.agent, 60000);
    CHECK_EQ(rig.clock.slept, 42000);
    CHECK_EQ(lpa_agent_get_state(&rig.agent), LPA_STATE_HELLO_SENT); /* reconnected at once */
    rig.tls.out_pos = rig.tls.out_len;
    rig.agent.state = LPA_STATE_IDLE;
    rig_welcome(&rig, 30);
    CHECK_EQ(rig.agent.failures, 0);
    g.reason = SERVERLPA__TERMINAL__V1__REASON_CODE__SHUTTING_DOWN;
    g.text = "draining";
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_GOODBYE;
    f.goodbye = &g;
    fake_server_send(&rig.tls, &f);
    rig_pump(&rig);
    CHECK_EQ(lpa_agent_get_state(&rig.agent), LPA_STATE_BACKOFF);
    CHECK(rig.agent.next_action_ms - rig.clock.now <= 1000);
}

static void stop_says_goodbye(void) {
    Frame *f;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    lpa_agent_stop(&rig.agent, SERVERLPA__TERMINAL__V1__REASON_CODE__DEVICE_RESTART, "reboot");
    f = expect_frame(SERVERLPA__TERMINAL__V1__FRAME__BODY_GOODBYE);
    if (f) CHECK_EQ(f->goodbye->reason, SERVERLPA__TERMINAL__V1__REASON_CODE__DEVICE_RESTART);
    free_frame(f);
    CHECK_EQ(lpa_agent_get_state(&rig.agent), LPA_STATE_IDLE);
    CHECK_EQ(rig.tls.connected, 0);
    CHECK_EQ(lpa_agent_poll(&rig.agent, 0), LPA_ERR_ARG);
}

/* ---- reconnect back-off with the fake clock --------------------------------------------------- */

static void failed_connects_back_off_exponentially_with_jitter(void) {
    uint64_t before;
    uint32_t expected_max[] = {1000, 2000, 4000, 8000, 16000, 16000, 16000};
    size_t i;
    rig_init(&rig, RX, TX, ARENA);
    rig.agent.cfg.backoff.initial_ms = 1000;
    rig.agent.cfg.backoff.max_ms = 16000;
    rig.tls.connect_rc = LPA_ERR_IO;
    rig.clock.random_value = 0xFFFFFFFFu;
    lpa_agent_start(&rig.agent);
    lpa_agent_poll(&rig.agent, 0); /* first attempt fails */
    for (i = 0; i < sizeof expected_max / sizeof expected_max[0]; i++) {
        uint32_t d = expected_max[i], waited;
        CHECK_EQ(lpa_agent_get_state(&rig.agent), LPA_STATE_BACKOFF);
        before = rig.clock.now;
        while (rig.tls.connects == (int)i + 1) lpa_agent_poll(&rig.agent, 100000);
        waited = (uint32_t)(rig.clock.now - before);
        CHECK(waited >= d / 2 && waited <= d);
        CHECK_EQ(waited, d / 2 + 0xFFFFFFFFu % (d / 2 + 1));
    }
    CHECK_EQ(rig.agent.stats.connect_failures, 8);
    /* a connection that works resets the back-off */
    rig.tls.connect_rc = 0;
    while (lpa_agent_get_state(&rig.agent) != LPA_STATE_HELLO_SENT) lpa_agent_poll(&rig.agent, 100000);
    rig.tls.out_pos = rig.tls.out_len;
    rig.agent.state = LPA_STATE_IDLE;
    rig_welcome(&rig, 30);
    CHECK_EQ(rig.agent.failures, 0);
    lpa_agent_disconnect(&rig.agent, "test");
    CHECK(rig.agent.next_action_ms - rig.clock.now <= 1000);
}

static void poll_without_sleep_returns_the_wait(void) {
    rig_init(&rig, RX, TX, ARENA);
    rig.agent.cfg.clock.sleep_ms = NULL;
    rig.tls.connect_rc = LPA_ERR_IO;
    rig.clock.random_value = 0;
    lpa_agent_start(&rig.agent);
    CHECK_EQ(lpa_agent_poll(&rig.agent, 0), 500);
    CHECK_EQ(lpa_agent_poll(&rig.agent, 100000), 500);
    rig.clock.now += 500;
    lpa_agent_poll(&rig.agent, 0);
    CHECK_EQ(rig.tls.connects, 2);
}

static void no_welcome_times_out(void) {
    rig_init(&rig, RX, TX, ARENA);
    lpa_agent_start(&rig.agent);
    lpa_agent_poll(&rig.agent, 0);
    while (lpa_agent_get_state(&rig.agent) == LPA_STATE_HELLO_SENT) lpa_agent_poll(&rig.agent, 7000);
    CHECK_EQ(lpa_agent_get_state(&rig.agent), LPA_STATE_BACKOFF);
    CHECK(strstr(rig.agent.last_reason, "Welcome") != NULL);
}

/* ---- batches ---------------------------------------------------------------------------------- */

static Frame *batch_result(void) {
    Frame *f = fake_client_frame(&rig.tls);
    CHECK(f && f->body_case == SERVERLPA__TERMINAL__V1__FRAME__BODY_APDU_BATCH_RESULT);
    if (f && f->body_case != SERVERLPA__TERMINAL__V1__FRAME__BODY_APDU_BATCH_RESULT) {
        free_frame(f);
        return NULL;
    }
    return f;
}

static void batch_all_9000_is_ok(void) {
    const char *apdus[] = {"81E2910003BF2E00", "81E2910003BF2000"};
    Frame *f;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    send_batch(7, 1, apdus, 2, NULL, 0);
    f = batch_result();
    if (f) {
        CHECK_EQ(f->apdu_batch_result->batch_id, 7);
        CHECK_EQ(f->apdu_batch_result->status, SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_OK);
        CHECK_EQ(f->apdu_batch_result->n_responses, 2);
        CHECK(response_is(&f->apdu_batch_result->responses[0], "9000"));
        CHECK(response_is(&f->apdu_batch_result->responses[1], "9000"));
    }
    free_frame(f);
    CHECK_EQ(rig.card.n_cmd, 2);
    CHECK_EQ(rig.agent.stats.apdus, 2);
}

static void batch_chains_61xx_and_continues_on_91xx(void) {
    const char *apdus[] = {"81E2910003BF2E00", "81E2910003BF2000", "81E2910003BF2200"};
    Frame *f;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    fake_card_script(&rig.card, "BF2E036102");
    fake_card_script(&rig.card, "AABB6102"); /* GET RESPONSE answers 61 02 again */
    fake_card_script(&rig.card, "CCDD9000");
    fake_card_script(&rig.card, "9110");
    fake_card_script(&rig.card, "EE9000");
    send_batch(8, 1, apdus, 3, NULL, 0);
    f = batch_result();
    if (f) {
        CHECK_EQ(f->apdu_batch_result->status, SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_OK);
        CHECK_EQ(f->apdu_batch_result->n_responses, 3);
        CHECK(response_is(&f->apdu_batch_result->responses[0], "BF2E03AABBCCDD9000"));
        CHECK(response_is(&f->apdu_batch_result->responses[1], "9110"));
        CHECK(response_is(&f->apdu_batch_result->responses[2], "EE9000"));
    }
    free_frame(f);
    CHECK_EQ(rig.card.n_cmd, 5);
    CHECK(rig.card.cmd[1][0] == 0x81 && rig.card.cmd[1][1] == 0xC0 && rig.card.cmd[1][4] == 0x02);
}

static void batch_runs_a_large_response_through(void) {
    /* A 250-byte answer chained over two GET RESPONSEs lands whole in the result. */
    const char *apdus[] = {"81E2910003BF2200"};
    char hex[600];
    size_t i;
    Frame *f;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    for (i = 0; i < 125; i++) memcpy(hex + 2 * i, "5A", 2);
    strcpy(hex + 250, "6100");
    fake_card_script(&rig.card, hex);
    for (i = 0; i < 125; i++) memcpy(hex + 2 * i, "A5", 2);
    strcpy(hex + 250, "9000");
    fake_card_script(&rig.card, hex);
    send_batch(9, 1, apdus, 1, NULL, 0);
    f = batch_result();
    if (f) {
        CHECK_EQ(f->apdu_batch_result->n_responses, 1);
        CHECK_EQ(f->apdu_batch_result->responses[0].len, 252);
        CHECK_EQ(f->apdu_batch_result->responses[0].data[124], 0x5A);
        CHECK_EQ(f->apdu_batch_result->responses[0].data[125], 0xA5);
    }
    free_frame(f);
}

static void batch_stops_at_an_unexpected_status_word(void) {
    const char *apdus[] = {"80E2910000", "80E2910100", "80E2910200"};
    const char *stops[] = {"6A88", "6C10", "6985"};
    size_t i;
    for (i = 0; i < 3; i++) {
        Frame *f;
        rig_init(&rig, RX, TX, ARENA);
        rig_welcome(&rig, 30);
        fake_card_script(&rig.card, "9000");
        fake_card_script(&rig.card, stops[i]);
        send_batch(10, 0, apdus, 3, NULL, 0);
        f = batch_result();
        if (f) {
            CHECK_EQ(f->apdu_batch_result->status, SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_STOPPED);
            CHECK_EQ(f->apdu_batch_result->n_responses, 2);
            CHECK(response_is(&f->apdu_batch_result->responses[1], stops[i]));
            CHECK(strstr(f->apdu_batch_result->detail, stops[i]) != NULL);
        }
        free_frame(f);
        CHECK_EQ(rig.card.n_cmd, 2);
        CHECK_EQ(lpa_agent_get_state(&rig.agent), LPA_STATE_ONLINE);
    }
}

static void batch_accept_list_replaces_the_default(void) {
    const char *apdus[] = {"80E2910000", "80E2910100"};
    const uint32_t accept[] = {0x6A88};
    Frame *f;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    fake_card_script(&rig.card, "6A88");
    fake_card_script(&rig.card, "9000");
    send_batch(11, 0, apdus, 2, accept, 1);
    f = batch_result();
    if (f) {
        CHECK_EQ(f->apdu_batch_result->status, SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_STOPPED);
        CHECK_EQ(f->apdu_batch_result->n_responses, 2);
    }
    free_frame(f);
}

static void batch_card_error_and_rejection(void) {
    const char *apdus[] = {"80E2910000", "80E2910100"};
    const char *short_apdus[] = {"80E2910000", "80E2"};
    Frame *f;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    rig.card.fail_at = 2;
    send_batch(12, 0, apdus, 2, NULL, 0);
    f = batch_result();
    if (f) {
        CHECK_EQ(f->apdu_batch_result->status, SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_CARD_ERROR);
        CHECK_EQ(f->apdu_batch_result->n_responses, 1);
    }
    free_frame(f);
    send_batch(13, 0, short_apdus, 2, NULL, 0);
    f = batch_result();
    if (f) {
        CHECK_EQ(f->apdu_batch_result->batch_id, 13);
        CHECK_EQ(f->apdu_batch_result->status, SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_REJECTED);
        CHECK_EQ(f->apdu_batch_result->n_responses, 0);
    }
    free_frame(f);
    CHECK_EQ(rig.card.n_cmd, 2); /* the rejected batch never reached the card */
}

static void batch_result_larger_than_the_buffer_is_a_card_error(void) {
    const char *apdus[] = {"80E2910000", "80E2910100", "80E2910200"};
    char hex[600];
    Frame *f;
    size_t i;
    rig_init(&rig, RX, 512, ARENA);
    rig_welcome(&rig, 30);
    for (i = 0; i < 200; i++) memcpy(hex + 2 * i, "11", 2);
    strcpy(hex + 400, "9000");
    fake_card_script(&rig.card, hex);
    fake_card_script(&rig.card, hex);
    send_batch(14, 0, apdus, 3, NULL, 0);
    f = batch_result();
    if (f) {
        CHECK_EQ(f->apdu_batch_result->status, SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_CARD_ERROR);
        CHECK_EQ(f->apdu_batch_result->n_responses, 1);
        CHECK(strstr(f->apdu_batch_result->detail, "buffer") != NULL);
    }
    free_frame(f);
}

static void small_device_profile_runs_a_full_frame_batch(void) {
    /* The footprint's small profile: 2 KiB frames, 1 KiB transmit, 2.5 KiB arena. Seven STORE DATA
     * blocks of 255 bytes make the largest batch that fits such a frame. */
    static char hex[7][2 * 260 + 1];
    const char *apdus[7];
    Frame *f;
    size_t i, j;
    rig_init(&rig, 2048 + 3, 1024, 2048 + 512);
    rig_welcome(&rig, 30);
    for (i = 0; i < 7; i++) {
        memcpy(hex[i], "81E21100FF", 10);
        for (j = 0; j < 255; j++) memcpy(hex[i] + 10 + 2 * j, "A5", 2);
        hex[i][520] = 0;
        apdus[i] = hex[i];
    }
    send_batch(21, 1, apdus, 7, NULL, 0);
    f = batch_result();
    if (f) {
        CHECK_EQ(f->apdu_batch_result->status, SERVERLPA__TERMINAL__V1__BATCH_STATUS__BATCH_OK);
        CHECK_EQ(f->apdu_batch_result->n_responses, 7);
    }
    free_frame(f);
    CHECK_EQ(rig.card.n_cmd, 7);
    CHECK(rig.agent.arena.high_water <= 2048 + 512);
}

static void batch_outside_the_limits_is_a_violation(void) {
    const char *apdus[] = {"80E2910000"};
    const uint32_t bad_sw[] = {0x19000};
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    send_batch(15, 20, apdus, 1, NULL, 0);
    expect_violation();
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    send_batch(16, 0, apdus, 1, bad_sw, 1);
    expect_violation();
    CHECK_EQ(rig.card.n_cmd, 0);
}

/* ---- logical channels ------------------------------------------------------------------------- */

static void send_channel_open(const char *aid_hex) {
    static uint8_t aid[32];
    Frame f = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__ChannelOpen o = SERVERLPA__TERMINAL__V1__CHANNEL_OPEN__INIT;
    o.request_id = 5;
    o.aid.len = hex_to_bytes(aid_hex, aid);
    o.aid.data = aid;
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN;
    f.channel_open = &o;
    fake_server_send(&rig.tls, &f);
    rig_pump(&rig);
}

#define ISDR "A0000005591010FFFFFFFF8900000100"

static void channel_open_uses_manage_channel_and_select(void) {
    Frame *f;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    fake_card_script(&rig.card, "029000");
    fake_card_script(&rig.card, "6F05");      /* 61xx-style chaining of the SELECT answer */
    fake_card_script(&rig.card, "6F038201019000");
    send_channel_open(ISDR);
    f = expect_frame(SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN_RESULT);
    /* 6F05 is not 61xx: the SELECT failed, the channel is given back */
    if (f) {
        CHECK_EQ(f->channel_open_result->request_id, 5);
        CHECK_EQ(f->channel_open_result->channel, 0);
        CHECK_EQ(f->channel_open_result->sw, 0x6F05);
    }
    free_frame(f);
    CHECK_EQ(rig.card.n_cmd, 3);
    CHECK(rig.card.cmd[2][1] == 0x70 && rig.card.cmd[2][2] == 0x80 && rig.card.cmd[2][3] == 0x02);

    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    fake_card_script(&rig.card, "059000");
    fake_card_script(&rig.card, "6F036105");
    fake_card_script(&rig.card, "8201019000");
    send_channel_open(ISDR);
    f = expect_frame(SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN_RESULT);
    if (f) {
        CHECK_EQ(f->channel_open_result->channel, 5);
        CHECK_EQ(f->channel_open_result->sw, 0x9000);
        CHECK(response_is(&f->channel_open_result->select_response, "6F03820101"));
    }
    free_frame(f);
    CHECK(rig.card.cmd[0][0] == 0x00 && rig.card.cmd[0][1] == 0x70 && rig.card.cmd[0][4] == 0x01);
    CHECK_EQ(rig.card.cmd[1][0], 0x41); /* channel 5 = further interindustry class 0x40 | 1 */
    CHECK(rig.card.cmd[1][1] == 0xA4 && rig.card.cmd[1][2] == 0x04 && rig.card.cmd[1][4] == 16);
    CHECK_EQ(rig.card.cmd_len[1], 22);
    CHECK_EQ(rig.card.cmd[2][0], 0x41); /* GET RESPONSE on the same channel */
    CHECK_EQ(rig.agent.stats.channels_opened, 1);
}

static void channel_open_without_a_free_channel(void) {
    Frame *f;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    fake_card_script(&rig.card, "6A81");
    send_channel_open(ISDR);
    f = expect_frame(SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_OPEN_RESULT);
    if (f) {
        CHECK_EQ(f->channel_open_result->channel, 0);
        CHECK_EQ(f->channel_open_result->sw, 0x6A81);
    }
    free_frame(f);
    send_channel_open("A0000005591010FFFFFFFF890000010000"); /* 17 bytes */
    expect_violation();
}

static void channel_close_uses_manage_channel(void) {
    Frame f = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__ChannelClose c = SERVERLPA__TERMINAL__V1__CHANNEL_CLOSE__INIT;
    Frame *r;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    c.request_id = 77;
    c.channel = 3;
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_CLOSE;
    f.channel_close = &c;
    fake_server_send(&rig.tls, &f);
    rig_pump(&rig);
    r = expect_frame(SERVERLPA__TERMINAL__V1__FRAME__BODY_CHANNEL_CLOSE_RESULT);
    if (r) {
        CHECK_EQ(r->channel_close_result->request_id, 77);
        CHECK_EQ(r->channel_close_result->sw, 0x9000);
    }
    free_frame(r);
    CHECK(rig.card.cmd_len[0] == 4 && rig.card.cmd[0][1] == 0x70 && rig.card.cmd[0][2] == 0x80 &&
          rig.card.cmd[0][3] == 3);
    c.channel = 0;
    fake_server_send(&rig.tls, &f);
    rig_pump(&rig);
    expect_violation();
}

/* ---- framing through the agent ---------------------------------------------------------------- */

static void partial_frames_byte_by_byte_and_several_per_read(void) {
    const char *apdus[] = {"80E2910000"};
    Frame *f;
    int i;
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    rig.tls.read_chunk = 1;
    send_settings(7, 2);
    CHECK_EQ(rig.agent.heartbeat_s, 7);
    rig.tls.read_chunk = 0;
    /* three frames in one read */
    for (i = 0; i < 3; i++) {
        Frame b = SERVERLPA__TERMINAL__V1__FRAME__INIT;
        Serverlpa__Terminal__V1__ApduBatch batch = SERVERLPA__TERMINAL__V1__APDU_BATCH__INIT;
        ProtobufCBinaryData apdu;
        uint8_t bytes[5];
        apdu.len = hex_to_bytes(apdus[0], bytes);
        apdu.data = bytes;
        batch.batch_id = (uint32_t)(100 + i);
        batch.n_apdus = 1;
        batch.apdus = &apdu;
        b.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_APDU_BATCH;
        b.apdu_batch = &batch;
        fake_server_send(&rig.tls, &b);
    }
    lpa_agent_poll(&rig.agent, 0);
    for (i = 0; i < 3; i++) {
        f = batch_result();
        if (f) CHECK_EQ(f->apdu_batch_result->batch_id, (uint32_t)(100 + i));
        free_frame(f);
    }
}

static void oversized_length_prefix_is_refused_before_the_body(void) {
    const uint8_t prefix[] = {0xFF, 0xFF, 0x7F};
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    fake_server_send_raw(&rig.tls, prefix, sizeof prefix);
    lpa_agent_poll(&rig.agent, 0);
    expect_violation();
    CHECK(strstr(rig.agent.last_reason, "exceeds") != NULL);
}

static void frame_too_big_for_the_arena_is_refused(void) {
    /* 40 APDUs of 100 bytes fit the 8 KiB receive buffer but not a 2 KiB arena. */
    static char hex[40][210];
    const char *apdus[16];
    size_t i, j;
    rig_init(&rig, 8192, TX, 2048);
    rig_welcome(&rig, 30);
    for (i = 0; i < 16; i++) {
        for (j = 0; j < 100; j++) memcpy(hex[i] + 2 * j, "80", 2);
        hex[i][200] = 0;
        apdus[i] = hex[i];
    }
    send_batch(1, 0, apdus, 16, NULL, 0);
    send_batch(2, 0, apdus, 16, NULL, 0);
    expect_violation();
    CHECK(strstr(rig.agent.last_reason, "arena") != NULL);
    CHECK(rig.agent.arena.high_water <= 2048);
    CHECK_EQ(rig.card.n_cmd, 0);
}

static void wrong_message_order_is_a_violation(void) {
    Frame f = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__HeartbeatAck a = SERVERLPA__TERMINAL__V1__HEARTBEAT_ACK__INIT;
    Serverlpa__Terminal__V1__Hello h = SERVERLPA__TERMINAL__V1__HELLO__INIT;
    Serverlpa__Terminal__V1__Welcome w = SERVERLPA__TERMINAL__V1__WELCOME__INIT;
    /* HeartbeatAck before Welcome */
    rig_init(&rig, RX, TX, ARENA);
    lpa_agent_start(&rig.agent);
    lpa_agent_poll(&rig.agent, 0);
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT_ACK;
    f.heartbeat_ack = &a;
    fake_server_send(&rig.tls, &f);
    rig_pump(&rig);
    expect_violation();
    /* a terminal's message from the server */
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_HELLO;
    f.hello = &h;
    fake_server_send(&rig.tls, &f);
    rig_pump(&rig);
    expect_violation();
    /* a second Welcome */
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    w.protocol_version = 1;
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_WELCOME;
    f.welcome = &w;
    fake_server_send(&rig.tls, &f);
    rig_pump(&rig);
    expect_violation();
    /* a Welcome of another protocol version */
    rig_init(&rig, RX, TX, ARENA);
    lpa_agent_start(&rig.agent);
    lpa_agent_poll(&rig.agent, 0);
    w.protocol_version = 2;
    fake_server_send(&rig.tls, &f);
    rig_pump(&rig);
    expect_violation();
}

static void truncated_and_empty_bodies_are_violations(void) {
    uint8_t buf[64];
    Frame f = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__Settings s = SERVERLPA__TERMINAL__V1__SETTINGS__INIT;
    size_t n;
    const uint8_t unknown_member[] = {0x04, 0x7A, 0x02, 0x08, 0x01}; /* field 15: not a known message */
    const uint8_t zero[] = {0x00};
    s.heartbeat_interval_s = 300;
    s.version = 9;
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_SETTINGS;
    f.settings = &s;
    n = serverlpa__terminal__v1__frame__pack(&f, buf + 1);
    /* the prefix says one byte less than the message: a truncated protobuf */
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    buf[0] = (uint8_t)(n - 1);
    fake_server_send_raw(&rig.tls, buf, n);
    rig_pump(&rig);
    expect_violation();
    CHECK_EQ(rig.agent.heartbeat_s, 30);

    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    fake_server_send_raw(&rig.tls, unknown_member, sizeof unknown_member);
    rig_pump(&rig);
    expect_violation();

    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    fake_server_send_raw(&rig.tls, zero, sizeof zero);
    rig_pump(&rig);
    expect_violation();

    /* the stream ends inside a frame */
    rig_init(&rig, RX, TX, ARENA);
    rig_welcome(&rig, 30);
    buf[0] = (uint8_t)n;
    fake_server_send_raw(&rig.tls, buf, n - 2);
    rig.tls.server_closed = 1;
    rig_pump(&rig);
    lpa_agent_poll(&rig.agent, 0);
    CHECK_EQ(lpa_agent_get_state(&rig.agent), LPA_STATE_BACKOFF);
    CHECK(strstr(rig.agent.last_reason, "inside a frame") != NULL);
}

static uint32_t lcg_state = 12345;
static uint32_t lcg(void) {
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 8;
}

static void random_bytes_never_crash(void) {
    static uint8_t junk[3000];
    int round;
    for (round = 0; round < 1500; round++) {
        size_t n = 1 + lcg() % sizeof junk, i;
        rig_init(&rig, 1024 + lcg() % 2048, 512 + lcg() % 2048, 256 + lcg() % 4096);
        rig_welcome(&rig, 30);
        for (i = 0; i < n; i++) junk[i] = (uint8_t)lcg();
        if (round % 3 == 0) junk[0] = (uint8_t)(lcg() % 0x60); /* a short, plausible prefix */
        rig.tls.read_chunk = 1 + lcg() % 64;
        fake_server_send_raw(&rig.tls, junk, n);
        rig_pump(&rig);
        CHECK(lpa_agent_get_state(&rig.agent) == LPA_STATE_ONLINE ||
              lpa_agent_get_state(&rig.agent) == LPA_STATE_BACKOFF);
    }
}

static void mutated_valid_frames_never_crash(void) {
    static uint8_t frame[1024];
    const char *apdus[] = {"81E2910003BF2E00", "81E2910003BF2000"};
    int round;
    for (round = 0; round < 3000; round++) {
        size_t n, flips, i;
        rig_init(&rig, RX, TX, 1024 + lcg() % 4096);
        rig_welcome(&rig, 30);
        /* capture a valid server frame by sending it, then replay it mutated */
        rig.tls.in_len = rig.tls.in_pos = 0;
        switch (round % 4) {
        case 0: send_settings(lcg() % 100, lcg() % 5); break;
        case 1: send_channel_open(ISDR); break;
        default: {
            const uint32_t accept[] = {0x9000, 0x6A88};
            send_batch(lcg(), lcg() % 20, apdus, 2, accept, round % 2 ? 2 : 0);
        }
        }
        /* rebuild it: the fake keeps what the server sent in `in` */
        n = rig.tls.in_len;
        if (n == 0) continue; /* the agent refused it and dropped the connection */
        if (n > sizeof frame) n = sizeof frame;
        memcpy(frame, rig.tls.in, n);
        rig_init(&rig, RX, TX, 1024 + lcg() % 4096);
        rig_welcome(&rig, 30);
        flips = 1 + lcg() % 4;
        for (i = 0; i < flips; i++) frame[lcg() % n] ^= (uint8_t)(1u << (lcg() % 8));
        fake_server_send_raw(&rig.tls, frame, n - (round % 5 == 0 ? lcg() % n : 0));
        rig_pump(&rig);
        CHECK(lpa_agent_get_state(&rig.agent) == LPA_STATE_ONLINE ||
              lpa_agent_get_state(&rig.agent) == LPA_STATE_BACKOFF);
    }
}

const test_case agent_tests[] = {
    {"agent/hello_carries_the_identity", hello_carries_the_identity},
    {"agent/heartbeats_follow_the_welcome_interval_and_acks_count", heartbeats_follow_the_welcome_interval_and_acks_count},
    {"agent/unanswered_heartbeats_end_the_connection", unanswered_heartbeats_end_the_connection},
    {"agent/settings_change_the_interval_at_any_time", settings_change_the_interval_at_any_time},
    {"agent/reject_waits_retry_after_and_goodbye_reconnects", reject_waits_retry_after_and_goodbye_reconnects},
    {"agent/stop_says_goodbye", stop_says_goodbye},
    {"agent/failed_connects_back_off_exponentially_with_jitter", failed_connects_back_off_exponentially_with_jitter},
    {"agent/poll_without_sleep_returns_the_wait", poll_without_sleep_returns_the_wait},
    {"agent/no_welcome_times_out", no_welcome_times_out},
    {"agent/batch_all_9000_is_ok", batch_all_9000_is_ok},
    {"agent/batch_chains_61xx_and_continues_on_91xx", batch_chains_61xx_and_continues_on_91xx},
    {"agent/batch_runs_a_large_response_through", batch_runs_a_large_response_through},
    {"agent/batch_stops_at_an_unexpected_status_word", batch_stops_at_an_unexpected_status_word},
    {"agent/batch_accept_list_replaces_the_default", batch_accept_list_replaces_the_default},
    {"agent/batch_card_error_and_rejection", batch_card_error_and_rejection},
    {"agent/batch_result_larger_than_the_buffer_is_a_card_error", batch_result_larger_than_the_buffer_is_a_card_error},
    {"agent/small_device_profile_runs_a_full_frame_batch", small_device_profile_runs_a_full_frame_batch},
    {"agent/batch_outside_the_limits_is_a_violation", batch_outside_the_limits_is_a_violation},
    {"agent/channel_open_uses_manage_channel_and_select", channel_open_uses_manage_channel_and_select},
    {"agent/channel_open_without_a_free_channel", channel_open_without_a_free_channel},
    {"agent/channel_close_uses_manage_channel", channel_close_uses_manage_channel},
    {"agent/partial_frames_byte_by_byte_and_several_per_read", partial_frames_byte_by_byte_and_several_per_read},
    {"agent/oversized_length_prefix_is_refused_before_the_body", oversized_length_prefix_is_refused_before_the_body},
    {"agent/frame_too_big_for_the_arena_is_refused", frame_too_big_for_the_arena_is_refused},
    {"agent/wrong_message_order_is_a_violation", wrong_message_order_is_a_violation},
    {"agent/truncated_and_empty_bodies_are_violations", truncated_and_empty_bodies_are_violations},
    {"agent/random_bytes_never_crash", random_bytes_never_crash},
    {"agent/mutated_valid_frames_never_crash", mutated_valid_frames_never_crash},
    {NULL, NULL},
};
