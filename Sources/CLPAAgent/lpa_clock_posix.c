/* The POSIX clock: CLOCK_MONOTONIC milliseconds, nanosleep, and a xorshift generator for jitter. */
#define _POSIX_C_SOURCE 200809L
#include "lpa_agent.h"
#include <errno.h>
#include <time.h>

static uint64_t posix_now_ms(void *ctx) {
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t posix_random(void *ctx) {
    static uint32_t state;
    struct timespec ts;
    (void)ctx;
    if (state == 0) {
        clock_gettime(CLOCK_REALTIME, &ts);
        state = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ 0x9E3779B9u;
        if (state == 0) state = 1;
    }
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

static void posix_sleep_ms(void *ctx, uint32_t ms) {
    struct timespec ts;
    (void)ctx;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const lpa_clock_ops lpa_clock_system = {posix_now_ms, posix_random, posix_sleep_ms, NULL};
