/*
 * ServerLPA device agent: the part of the terminal protocol a device embeds.
 *
 * The agent opens a TLS connection to lpa-edge, says who the device is (Hello), sends heartbeats at
 * the interval the server sets, applies Settings pushed at any time, runs the APDU batches and
 * logical-channel requests the server sends against the eUICC, and reconnects with exponential
 * back-off and jitter when the connection ends. The rules it follows are in proto/README.md.
 *
 * Shape
 *   - One `lpa_agent` value per connection to a server, owned by the integrator (static storage is
 *     fine). It runs on one thread: every function below is called from the thread that runs the
 *     poll loop, and every callback is invoked from inside `lpa_agent_poll`.
 *   - Three edges are plugged in as small function tables: TLS (`lpa_tls_ops`), the eUICC
 *     (`lpa_apdu_ops`) and time (`lpa_clock_ops`, injectable so tests can drive the clock).
 *   - Memory: the integrator hands the agent three buffers at start-up (receive, transmit, and the
 *     arena protobuf-c decodes into). The agent never calls malloc; protobuf-c only allocates from
 *     the arena, which is reset after each frame. A frame that does not fit is refused: the agent
 *     sends Goodbye PROTOCOL_VIOLATION, closes, logs why and backs off.
 *
 * Wire: each frame is an unsigned LEB128 length (1-3 bytes) and one serverlpa.terminal.v1.Frame,
 * encoded with the protobuf-c code in Sources/CTerminalProto.
 */
#ifndef LPA_AGENT_H
#define LPA_AGENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- results and limits -------------------------------------------------------------------- */

/** Return codes of the pluggable edges (negative) and of the agent's own functions. */
enum {
    LPA_OK = 0,
    LPA_ERR_IO = -1,        /**< transport or device failed */
    LPA_ERR_CLOSED = -2,    /**< the peer closed the stream */
    LPA_ERR_TIMEOUT = -3,   /**< nothing within the allowed time */
    LPA_ERR_PROTOCOL = -4,  /**< the peer broke the terminal protocol */
    LPA_ERR_NOMEM = -5,     /**< a fixed buffer is too small */
    LPA_ERR_ARG = -6,       /**< bad argument or configuration */
    LPA_ERR_CARD = -7,      /**< the card answered without a status word */
};

#define LPA_PROTOCOL_VERSION 1u
#define LPA_MAX_CHANNEL 19u
#define LPA_FRAME_LIMIT_MAX 2097151u  /**< the most a 3-byte length prefix holds */
#define LPA_FRAME_PREFIX_MAX 3u

/* ---- framing (exposed for tests and for integrators writing their own transport) ----------- */

/** Writes the shortest LEB128 form of `length` (1..2^21-1) into `out` (3 bytes); returns its size, 0 if out of range. */
size_t lpa_frame_prefix_encode(uint32_t length, uint8_t out[LPA_FRAME_PREFIX_MAX]);

/**
 * Parses a length prefix at the start of `buf`.
 * Returns the prefix size (1..3) and sets `*length`; 0 if more bytes are needed;
 * LPA_ERR_PROTOCOL if the prefix is malformed (third byte continues) or the length is 0.
 */
int lpa_frame_prefix_decode(const uint8_t *buf, size_t len, uint32_t *length);

/* ---- bounded arena for protobuf-c ---------------------------------------------------------- */

/** A bump allocator over a caller-supplied buffer; `free` is a no-op, `reset` frees everything. */
typedef struct lpa_arena {
    uint8_t *base;
    size_t size;
    size_t used;
    size_t high_water;  /**< the most ever used, for footprint reports */
    int exhausted;      /**< set when an allocation was refused since the last reset */
} lpa_arena;

void lpa_arena_init(lpa_arena *arena, void *buffer, size_t size);
void lpa_arena_reset(lpa_arena *arena);
void *lpa_arena_alloc(lpa_arena *arena, size_t size);

/* ---- the pluggable edges ------------------------------------------------------------------- */

/**
 * A TLS (or any reliable byte stream) connection. Every function gets `ctx`.
 * An MCU integrator implements these five over mbedTLS or the modem's own TLS socket commands.
 */
typedef struct lpa_tls_ops {
    /** Opens the connection and completes the handshake (may block up to the implementation's timeout). 0 or LPA_ERR_*. */
    int (*connect)(void *ctx, const char *host, uint16_t port);
    /** Reads up to `cap` bytes without blocking: >0 bytes read, 0 nothing available now, LPA_ERR_CLOSED, LPA_ERR_IO. */
    long (*read)(void *ctx, uint8_t *buf, size_t cap);
    /** Writes up to `len` bytes (may block briefly): >0 bytes written, LPA_ERR_*. */
    long (*write)(void *ctx, const uint8_t *buf, size_t len);
    /** Closes the connection; safe to call when not connected. */
    void (*close)(void *ctx);
    /** Waits up to `timeout_ms` for input: >0 if `read` has data now, 0 on timeout, LPA_ERR_* on failure. */
    int (*pending)(void *ctx, uint32_t timeout_ms);
    void *ctx;
} lpa_tls_ops;

/**
 * The eUICC, reached through a modem, a reader or a simulator.
 *
 * `transmit` sends one command APDU (CLA already carries the logical channel) and writes the response
 * (data, then SW1 SW2) to `resp`; it returns 0 and sets `*resp_len` (>= 2), or LPA_ERR_CARD / LPA_ERR_IO /
 * LPA_ERR_TIMEOUT / LPA_ERR_NOMEM (response larger than `cap`).
 *
 * `open_channel` / `close_channel` are optional: when NULL the agent opens a channel itself with
 * MANAGE CHANNEL (00 70 00 00 01) and SELECT by AID, and closes it with MANAGE CHANNEL (00 70 80 nn).
 * Drivers whose modem manages channels itself (AT+CCHO/AT+CCHC) provide them: `open_channel` selects
 * `aid` on a new channel, sets `*channel` (1..19), `*sw` and the SELECT response data.
 */
typedef struct lpa_apdu_ops {
    int (*transmit)(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t cap, size_t *resp_len);
    int (*open_channel)(void *ctx, const uint8_t *aid, size_t aid_len, uint8_t *channel, uint16_t *sw,
                        uint8_t *resp, size_t cap, size_t *resp_len);
    int (*close_channel)(void *ctx, uint8_t channel, uint16_t *sw);
    void *ctx;
} lpa_apdu_ops;

/**
 * Time and randomness. `now_ms` is monotonic; `random` feeds the back-off jitter; `sleep_ms` is how the
 * agent waits while it backs off (NULL: `lpa_agent_poll` returns at once and the caller waits).
 * A test clock advances its time in `sleep_ms`.
 */
typedef struct lpa_clock_ops {
    uint64_t (*now_ms)(void *ctx);
    uint32_t (*random)(void *ctx);
    void (*sleep_ms)(void *ctx, uint32_t ms);
    void *ctx;
} lpa_clock_ops;

/** Monotonic milliseconds and a xorshift PRNG seeded from the clock (POSIX builds). */
extern const lpa_clock_ops lpa_clock_system;

/* ---- logging ------------------------------------------------------------------------------- */

typedef enum lpa_log_level { LPA_LOG_ERROR = 0, LPA_LOG_WARNING, LPA_LOG_INFO, LPA_LOG_DEBUG } lpa_log_level;
/** Receives one complete line, without a newline. Never given key material. */
typedef void (*lpa_log_fn)(void *ctx, lpa_log_level level, const char *line);

/* ---- configuration ------------------------------------------------------------------------- */

/** What the device says it is in Hello; strings are borrowed and must outlive the agent. NULL or "" = not sent. */
typedef struct lpa_identity {
    const char *eid;
    const char *imei;
    const char *iccid;
    const char *model;
    const char *firmware;
} lpa_identity;

/** Exponential back-off: the n-th consecutive failure waits a random time in [d/2, d], d = min(max, initial * 2^(n-1)). */
typedef struct lpa_backoff_config {
    uint32_t initial_ms;  /**< default 1000 */
    uint32_t max_ms;      /**< default 300000 */
} lpa_backoff_config;

typedef struct lpa_agent_config {
    const char *host;
    uint16_t port;
    lpa_identity identity;
    const char *agent_name;        /**< Hello.agent; default "lpa-agent-c/1" */
    lpa_tls_ops tls;
    lpa_apdu_ops apdu;
    lpa_clock_ops clock;           /**< zeroed = lpa_clock_system */
    lpa_backoff_config backoff;
    uint32_t default_heartbeat_s;  /**< until the server sets one; default 60 */
    lpa_log_fn log;                /**< NULL = silent */
    void *log_ctx;
    lpa_log_level log_level;
    /* Buffers, owned by the integrator, untouched by anyone else while the agent runs. */
    uint8_t *rx_buf;       /**< incoming frames; the largest frame accepted is rx_size - 3 (announced as Hello.max_frame) */
    size_t rx_size;
    uint8_t *tx_buf;       /**< one outgoing frame; bounds an ApduBatchResult */
    size_t tx_size;
    uint8_t *arena_buf;    /**< protobuf-c's decoded messages: the bytes of one frame plus ~24 bytes per APDU and the
                                message structs; rx_size + 512 holds a frame of full 255-byte STORE DATA blocks, and a
                                frame that does not fit is refused with a logged reason */
    size_t arena_size;
} lpa_agent_config;

/* ---- the agent ----------------------------------------------------------------------------- */

typedef enum lpa_agent_state {
    LPA_STATE_IDLE = 0,      /**< not started, or stopped */
    LPA_STATE_BACKOFF,       /**< waiting before the next connection attempt */
    LPA_STATE_CONNECTING,    /**< about to connect (the next poll connects) */
    LPA_STATE_HELLO_SENT,    /**< waiting for Welcome or Reject */
    LPA_STATE_ONLINE,        /**< welcomed: heartbeats, settings, requests */
} lpa_agent_state;

/** Counters for logs and tests. */
typedef struct lpa_agent_stats {
    uint32_t connects;
    uint32_t connect_failures;
    uint32_t welcomes;
    uint32_t rejects;
    uint32_t heartbeats_sent;
    uint32_t heartbeat_acks;
    uint32_t settings_applied;
    uint32_t batches;
    uint32_t apdus;
    uint32_t channels_opened;
    uint32_t channels_closed;
    uint32_t protocol_violations;
} lpa_agent_stats;

/** The agent; treat every field as private (it is public only so it can live in static storage). */
typedef struct lpa_agent {
    lpa_agent_config cfg;
    lpa_arena arena;
    lpa_agent_state state;
    lpa_agent_stats stats;
    uint64_t next_action_ms;     /**< back-off end, or next heartbeat when online */
    uint64_t hello_deadline_ms;  /**< Welcome must arrive before this */
    uint64_t started_ms;
    uint64_t last_heartbeat_ms;  /**< when the last heartbeat went out (or the Welcome came) */
    uint32_t failures;           /**< consecutive failed sessions, drives the back-off */
    uint32_t retry_after_s;      /**< from Reject/Goodbye; overrides the back-off once */
    uint32_t heartbeat_s;
    uint32_t history_limit;
    uint32_t settings_version;
    uint32_t seq;
    uint32_t acked_seq;
    size_t rx_len;
    uint32_t max_frame;
    int stop_requested;
    char session_id[64];
    char last_reason[128];       /**< why the last connection ended */
} lpa_agent;

/** Checks the configuration and prepares the agent (state IDLE). LPA_ERR_ARG with a log line if invalid. */
int lpa_agent_init(lpa_agent *agent, const lpa_agent_config *config);

/** Starts connecting at the next poll. */
void lpa_agent_start(lpa_agent *agent);

/**
 * Does whatever is due and waits at most `max_wait_ms` for input: connect when the back-off ends,
 * read and handle frames, send the heartbeat when due. Returns the milliseconds until the agent next
 * needs to be polled when nothing arrives (the integrator may sleep that long), or LPA_ERR_ARG when
 * the agent is IDLE.
 */
int32_t lpa_agent_poll(lpa_agent *agent, uint32_t max_wait_ms);

/** Sends Goodbye with `reason` (a ReasonCode, e.g. 14 DEVICE_RESTART) when connected, closes, and goes IDLE. */
void lpa_agent_stop(lpa_agent *agent, uint32_t reason, const char *text);

/** Drops the current connection as if it failed (logged with `why`) and backs off. */
void lpa_agent_disconnect(lpa_agent *agent, const char *why);

lpa_agent_state lpa_agent_get_state(const lpa_agent *agent);
const char *lpa_agent_state_name(lpa_agent_state state);

/**
 * The back-off delay for the `failures`-th consecutive failure (>= 1), using `random_value` for the
 * jitter: uniformly within [d/2, d] where d = min(max_ms, initial_ms << (failures - 1)).
 */
uint32_t lpa_backoff_delay_ms(const lpa_backoff_config *config, uint32_t failures, uint32_t random_value);

/* ---- APDU execution (exposed for tests and integrators) ------------------------------------ */

/** Whether a final status word continues a batch: 91xx always; else listed in `accept` (or 9000 when empty). */
int lpa_sw_continues(uint16_t sw, const uint32_t *accept, size_t n_accept);

/** The class byte of a GET RESPONSE on the logical channel of command class `cla`. */
uint8_t lpa_get_response_class(uint8_t cla);

/**
 * Sends `cmd` and follows 61xx with GET RESPONSE on the same channel, concatenating the data into
 * `resp` (the final SW1 SW2 last). 0 and `*resp_len`, or LPA_ERR_* (LPA_ERR_NOMEM: does not fit `cap`).
 */
int lpa_apdu_exchange(const lpa_apdu_ops *apdu, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t cap,
                      size_t *resp_len);

#ifdef __cplusplus
}
#endif
#endif /* LPA_AGENT_H */
