/* Length prefixes, the README's example frame, the arena, and the AT response parser. */
#include <string.h>

#include "lpa_drivers.h"
#include "terminal.pb-c.h"
#include "test.h"

static void prefix_encodes_shortest_form(void) {
    uint8_t b[3];
    CHECK_EQ(lpa_frame_prefix_encode(10, b), 1);
    CHECK_EQ(b[0], 0x0A);
    CHECK_EQ(lpa_frame_prefix_encode(300, b), 2);
    CHECK(b[0] == 0xAC && b[1] == 0x02);
    CHECK_EQ(lpa_frame_prefix_encode(16384, b), 3);
    CHECK(b[0] == 0x80 && b[1] == 0x80 && b[2] == 0x01);
    CHECK_EQ(lpa_frame_prefix_encode(2097151, b), 3);
    CHECK(b[0] == 0xFF && b[1] == 0xFF && b[2] == 0x7F);
    CHECK_EQ(lpa_frame_prefix_encode(0, b), 0);
    CHECK_EQ(lpa_frame_prefix_encode(2097152, b), 0);
}

static void prefix_decodes_partial_padded_and_malformed(void) {
    uint32_t len = 0;
    const uint8_t padded[] = {0x85, 0x80, 0x00}, partial[] = {0x80, 0x80}, bad[] = {0x80, 0x80, 0x80},
                  zero[] = {0x00}, big[] = {0xFF, 0xFF, 0x7F};
    CHECK_EQ(lpa_frame_prefix_decode(padded, 3, &len), 3);
    CHECK_EQ(len, 5);
    CHECK_EQ(lpa_frame_prefix_decode(partial, 0, &len), 0);
    CHECK_EQ(lpa_frame_prefix_decode(partial, 1, &len), 0);
    CHECK_EQ(lpa_frame_prefix_decode(partial, 2, &len), 0);
    CHECK_EQ(lpa_frame_prefix_decode(bad, 3, &len), LPA_ERR_PROTOCOL);
    CHECK_EQ(lpa_frame_prefix_decode(zero, 1, &len), LPA_ERR_PROTOCOL);
    CHECK_EQ(lpa_frame_prefix_decode(big, 3, &len), 3);
    CHECK_EQ(len, 2097151);
}

static void prefix_round_trips(void) {
    uint32_t v, len;
    uint8_t b[3];
    for (v = 1; v < 2097152; v = v * 3 + 1) {
        size_t k = lpa_frame_prefix_encode(v, b);
        CHECK_EQ(lpa_frame_prefix_decode(b, k, &len), (int)k);
        CHECK_EQ(len, v);
    }
}

static void heartbeat_matches_the_protocol_example(void) {
    Serverlpa__Terminal__V1__Frame f = SERVERLPA__TERMINAL__V1__FRAME__INIT;
    Serverlpa__Terminal__V1__Heartbeat hb = SERVERLPA__TERMINAL__V1__HEARTBEAT__INIT;
    const uint8_t expected[] = {0x0A, 0x22, 0x08, 0x08, 0x01, 0x10, 0xAC, 0x02, 0x18, 0x8B, 0x01};
    uint8_t out[16];
    size_t n, k;
    hb.seq = 1;
    hb.uptime_s = 300;
    hb.rssi_dbm = -70;
    f.body_case = SERVERLPA__TERMINAL__V1__FRAME__BODY_HEARTBEAT;
    f.heartbeat = &hb;
    n = serverlpa__terminal__v1__frame__get_packed_size(&f);
    k = lpa_frame_prefix_encode((uint32_t)n, out);
    serverlpa__terminal__v1__frame__pack(&f, out + k);
    CHECK_EQ(k + n, sizeof expected);
    CHECK(memcmp(out, expected, sizeof expected) == 0);
}

static void arena_is_bounded_aligned_and_resettable(void) {
    static uint8_t buf[100];
    lpa_arena a;
    void *p, *q;
    lpa_arena_init(&a, buf + 1, 64); /* misaligned on purpose */
    p = lpa_arena_alloc(&a, 3);
    q = lpa_arena_alloc(&a, 8);
    CHECK(p && q);
    CHECK_EQ((uintptr_t)p % 8, 0);
    CHECK_EQ((uintptr_t)q % 8, 0);
    CHECK(lpa_arena_alloc(&a, 64) == NULL);
    CHECK(a.exhausted);
    CHECK(lpa_arena_alloc(&a, (size_t)-1) == NULL);
    lpa_arena_reset(&a);
    CHECK(!a.exhausted);
    CHECK(lpa_arena_alloc(&a, 40) != NULL);
    CHECK(a.high_water >= 40);
}

static void at_responses_parse(void) {
    uint8_t out[8];
    CHECK_EQ(lpa_at_parse_apdu_response("+CSIM: 4,\"9000\"", "+CSIM:", out, sizeof out), 2);
    CHECK(out[0] == 0x90 && out[1] == 0x00);
    CHECK_EQ(lpa_at_parse_apdu_response("+CGLA: 8,\"01026110\"", "+CGLA:", out, sizeof out), 4);
    CHECK_EQ(out[3], 0x10);
    CHECK_EQ(lpa_at_parse_apdu_response("+CSIM: 6,\"9000\"", "+CSIM:", out, sizeof out), LPA_ERR_CARD);
    CHECK_EQ(lpa_at_parse_apdu_response("+CSIM: 2,\"90\"", "+CSIM:", out, sizeof out), LPA_ERR_CARD);
    CHECK_EQ(lpa_at_parse_apdu_response("+CSIM: x", "+CSIM:", out, sizeof out), LPA_ERR_CARD);
    CHECK_EQ(lpa_at_parse_apdu_response("+CSIM: 20,\"00112233445566779000\"", "+CSIM:", out, sizeof out), LPA_ERR_NOMEM);
}

const test_case frame_tests[] = {
    {"frame/prefix_encodes_shortest_form", prefix_encodes_shortest_form},
    {"frame/prefix_decodes_partial_padded_and_malformed", prefix_decodes_partial_padded_and_malformed},
    {"frame/prefix_round_trips", prefix_round_trips},
    {"frame/heartbeat_matches_the_protocol_example", heartbeat_matches_the_protocol_example},
    {"frame/arena_is_bounded_aligned_and_resettable", arena_is_bounded_aligned_and_resettable},
    {"frame/at_responses_parse", at_responses_parse},
    {NULL, NULL},
};
