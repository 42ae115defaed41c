/* Reconnect back-off: exponential, capped, with jitter so a fleet does not reconnect in lockstep. */
#include "lpa_agent.h"

uint32_t lpa_backoff_delay_ms(const lpa_backoff_config *config, uint32_t failures, uint32_t random_value) {
    uint64_t delay = config->initial_ms ? config->initial_ms : 1;
    uint64_t cap = config->max_ms >= delay ? config->max_ms : delay;
    uint64_t half;
    uint32_t n;
    for (n = 1; n < failures && delay < cap; n++) delay <<= 1;
    if (delay > cap) delay = cap;
    half = delay / 2;
    /* uniform in [delay - half, delay] */
    return (uint32_t)(delay - half + (uint64_t)random_value % (half + 1));
}
