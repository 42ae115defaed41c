/*
 * Prints the agent's steady-state RAM: the agent value plus the three buffers, for a small device
 * profile (frames up to 2 KiB: batches of a few STORE DATA blocks) and for lpa-agent's default
 * (64 KiB frames). TLS buffers (OpenSSL, mbedTLS or the modem's) come on top and are not counted.
 */
#include <stdio.h>

#include "lpa_agent.h"

static void profile(const char *name, size_t max_frame, size_t tx, size_t arena) {
    size_t rx = max_frame + LPA_FRAME_PREFIX_MAX;
    size_t total = sizeof(lpa_agent) + rx + tx + arena;
    printf("%-26s agent %4zu + receive %6zu + transmit %6zu + arena %6zu = %7zu bytes (%.1f KiB)\n", name,
           sizeof(lpa_agent), rx, tx, arena, total, total / 1024.0);
}

int main(void) {
    printf("sizeof(lpa_agent) = %zu bytes (configuration, state, counters; no buffers)\n", sizeof(lpa_agent));
    /* The arena holds one decoded frame: the bytes fields are copied, plus ~16 bytes per APDU and the message structs. */
    profile("small device (2 KiB frames)", 2048, 1024, 2048 + 512);
    profile("lpa-agent (64 KiB frames)", 65536, 65536 + 512, 65536 + 65536 / 4 + 4096);
    return 0;
}
