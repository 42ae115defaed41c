/* Status word rules and GET RESPONSE chaining, below the agent. */
#include <string.h>

#include "fake_edges.h"
#include "test.h"

static void status_words_continue_or_stop(void) {
    const uint32_t listed[] = {0x9000, 0x6A88};
    CHECK(lpa_sw_continues(0x9000, NULL, 0));
    CHECK(lpa_sw_continues(0x9100, NULL, 0));
    CHECK(lpa_sw_continues(0x91FF, NULL, 0));
    CHECK(!lpa_sw_continues(0x6A88, NULL, 0));
    CHECK(!lpa_sw_continues(0x6C10, NULL, 0));
    CHECK(!lpa_sw_continues(0x6100, NULL, 0));
    CHECK(lpa_sw_continues(0x6A88, listed, 2));
    CHECK(!lpa_sw_continues(0x6A82, listed, 2));
    CHECK(!lpa_sw_continues(0x9000, listed + 1, 1)); /* a non-empty list replaces the default */
    CHECK(lpa_sw_continues(0x9101, listed + 1, 1));
}

static void get_response_keeps_the_channel(void) {
    CHECK_EQ(lpa_get_response_class(0x80), 0x80);
    CHECK_EQ(lpa_get_response_class(0x81), 0x81);
    CHECK_EQ(lpa_get_response_class(0x93), 0x83); /* chaining bit dropped */
    CHECK_EQ(lpa_get_response_class(0x0C), 0x00); /* secure messaging dropped */
    CHECK_EQ(lpa_get_response_class(0x45), 0x45);
    CHECK_EQ(lpa_get_response_class(0xE5), 0xC5);
    CHECK_EQ(lpa_get_response_class(0x75), 0x45);
}

static void exchange_chains_61xx(void) {
    static fake_card card;
    lpa_apdu_ops ops;
    const uint8_t cmd[] = {0x81, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00};
    const uint8_t want[] = {0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0x90, 0x00};
    uint8_t resp[32];
    size_t n = 0;
    memset(&card, 0, sizeof card);
    fake_card_script(&card, "D1D26103");
    fake_card_script(&card, "D3D46101");
    fake_card_script(&card, "D59000");
    ops = fake_card_ops(&card);
    CHECK_EQ(lpa_apdu_exchange(&ops, cmd, sizeof cmd, resp, sizeof resp, &n), LPA_OK);
    CHECK_EQ(n, sizeof want);
    CHECK(memcmp(resp, want, sizeof want) == 0);
    CHECK_EQ(card.n_cmd, 3);
    CHECK_EQ(card.cmd_len[1], 5);
    CHECK(card.cmd[1][0] == 0x81 && card.cmd[1][1] == 0xC0 && card.cmd[1][4] == 0x03);
    CHECK_EQ(card.cmd[2][4], 0x01);
}

static void exchange_refuses_what_does_not_fit(void) {
    static fake_card card;
    lpa_apdu_ops ops;
    const uint8_t cmd[] = {0x80, 0xE2, 0x91, 0x00};
    uint8_t resp[6];
    size_t n = 0;
    memset(&card, 0, sizeof card);
    fake_card_script(&card, "0102036105");
    fake_card_script(&card, "04050607089000");
    ops = fake_card_ops(&card);
    CHECK_EQ(lpa_apdu_exchange(&ops, cmd, sizeof cmd, resp, sizeof resp, &n), LPA_ERR_NOMEM);
}

static void exchange_gives_up_on_endless_61xx(void) {
    static fake_card card;
    lpa_apdu_ops ops;
    const uint8_t cmd[] = {0x80, 0xE2, 0x91, 0x00};
    uint8_t resp[16];
    size_t n = 0, i;
    memset(&card, 0, sizeof card);
    (void)i;
    card.forever_61xx = 1;
    ops = fake_card_ops(&card);
    CHECK_EQ(lpa_apdu_exchange(&ops, cmd, sizeof cmd, resp, sizeof resp, &n), LPA_ERR_CARD);
    CHECK_EQ(card.n_cmd, 257);
}

static void exchange_rejects_short_commands(void) {
    static fake_card card;
    lpa_apdu_ops ops;
    const uint8_t cmd[] = {0x80, 0xE2};
    uint8_t resp[16];
    size_t n = 0;
    memset(&card, 0, sizeof card);
    ops = fake_card_ops(&card);
    CHECK_EQ(lpa_apdu_exchange(&ops, cmd, sizeof cmd, resp, sizeof resp, &n), LPA_ERR_ARG);
    CHECK_EQ(card.n_cmd, 0);
}

static void backoff_grows_caps_and_jitters(void) {
    lpa_backoff_config c = {1000, 60000};
    uint32_t f;
    CHECK_EQ(lpa_backoff_delay_ms(&c, 1, 0), 500);
    CHECK_EQ(lpa_backoff_delay_ms(&c, 1, 500), 1000);
    CHECK_EQ(lpa_backoff_delay_ms(&c, 1, 501), 500); /* wraps within [d/2, d] */
    CHECK_EQ(lpa_backoff_delay_ms(&c, 2, 1000), 2000);
    CHECK_EQ(lpa_backoff_delay_ms(&c, 4, 0), 4000);
    for (f = 1; f < 100; f++) {
        uint32_t d = f < 7 ? 1000u << (f - 1) : 60000u, r;
        for (r = 0; r < 5; r++) {
            uint32_t v = lpa_backoff_delay_ms(&c, f, r * 0x3FFFFFFFu);
            CHECK(v >= d / 2 && v <= d);
        }
    }
    CHECK_EQ(lpa_backoff_delay_ms(&c, 0xFFFFFFFFu, 0xFFFFFFFFu) <= 60000, 1);
}

const test_case batch_tests[] = {
    {"batch/status_words_continue_or_stop", status_words_continue_or_stop},
    {"batch/get_response_keeps_the_channel", get_response_keeps_the_channel},
    {"batch/exchange_chains_61xx", exchange_chains_61xx},
    {"batch/exchange_refuses_what_does_not_fit", exchange_refuses_what_does_not_fit},
    {"batch/exchange_gives_up_on_endless_61xx", exchange_gives_up_on_endless_61xx},
    {"batch/exchange_rejects_short_commands", exchange_rejects_short_commands},
    {"batch/backoff_grows_caps_and_jitters", backoff_grows_caps_and_jitters},
    {NULL, NULL},
};
