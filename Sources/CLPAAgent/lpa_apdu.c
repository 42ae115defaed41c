/* APDU exchange with the eUICC: GET RESPONSE chaining and the batch continuation rule. */
#include "lpa_agent.h"

int lpa_sw_continues(uint16_t sw, const uint32_t *accept, size_t n_accept) {
    size_t i;
    if ((sw & 0xFF00u) == 0x9100u) return 1;
    if (n_accept == 0) return sw == 0x9000u;
    for (i = 0; i < n_accept; i++)
        if (accept[i] == sw) return 1;
    return 0;
}

uint8_t lpa_get_response_class(uint8_t cla) {
    /* Keep the logical channel and the proprietary bit; drop chaining and secure messaging. */
    return (cla & 0x40u) ? (uint8_t)(cla & 0xCFu) : (uint8_t)(cla & 0x83u);
}

/* At most this many GET RESPONSEs for one command: a card that keeps answering 61xx is broken. */
#define LPA_GET_RESPONSE_LIMIT 256

int lpa_apdu_exchange(const lpa_apdu_ops *apdu, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t cap,
                      size_t *resp_len) {
    size_t have = 0, got = 0;
    uint8_t get_response[5];
    int rounds, rc;

    if (cmd_len < 4 || cap < 2) return LPA_ERR_ARG;
    rc = apdu->transmit(apdu->ctx, cmd, cmd_len, resp, cap, &got);
    if (rc != LPA_OK) return rc;
    if (got < 2 || got > cap) return LPA_ERR_CARD;
    for (rounds = 0; resp[have + got - 2] == 0x61u; rounds++) {
        if (rounds == LPA_GET_RESPONSE_LIMIT) return LPA_ERR_CARD;
        get_response[0] = lpa_get_response_class(cmd[0]);
        get_response[1] = 0xC0u;
        get_response[2] = 0x00u;
        get_response[3] = 0x00u;
        get_response[4] = resp[have + got - 1];
        have += got - 2; /* keep the data, drop this 61xx */
        if (cap - have < 2) return LPA_ERR_NOMEM;
        got = 0;
        rc = apdu->transmit(apdu->ctx, get_response, sizeof get_response, resp + have, cap - have, &got);
        if (rc != LPA_OK) return rc;
        if (got < 2 || got > cap - have) return LPA_ERR_CARD;
    }
    *resp_len = have + got;
    return LPA_OK;
}
