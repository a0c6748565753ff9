/* SPDX-License-Identifier: Apache-2.0 */
/*
 * coap: the CoAP device backend (gateway/adapter.h) on libcoap 4.3.1
 * (libcoap-3-openssl). Prefix `coapa_` (libcoap owns `coap_`).
 *
 * One libcoap context and one client session per device (every CoAP device
 * is its own bus, so all calls come from one thread and nothing is locked).
 * coap://HOST[:PORT][/base][?query] is UDP; coaps:// is DTLS with a
 * pre-shared key: identity psk_identity, key the bytes of psk_file (one
 * trailing newline dropped), read at open and never logged. The host is
 * resolved when the session is made (numeric first, so an address literal
 * never touches DNS), by rs_resolve_wait() within one poll's budget
 * (timeout x (retries + 1)): a resolver that never answers costs a failed
 * poll, not a stuck device thread. The session lives across polls, so
 * a DTLS handshake happens once, not per poll; any session error (DTLS
 * alert, a poll in which some request got no answer) closes it and the next
 * poll makes a new one.
 *
 * A poll sends one GET per point: the uri's path segments, then the point's,
 * one Uri-Path option each (percent-decoded), then the uri's query as
 * Uri-Query options. GETs are non-confirmable and restock retransmits them
 * itself: a point without a reply after `timeout` ms is asked again (same
 * token, new message id), at most `retries` times, so all requests of a poll
 * end on one deadline of timeout x (retries + 1) real ms, also in the wait
 * loop around coap_io_process(). (libcoap's confirmable retransmission
 * cannot do this: 4.3.1 refuses an ACK_TIMEOUT under 1 s, and its defaults
 * make an unreachable server cost ~93 s per request.) While a DTLS
 * handshake is running the queued GET waits for it (OpenSSL retransmits the
 * handshake) within the same deadline.
 *
 * Replies: 2.05 is decoded with cpay_decode() per the point's format;
 * another code is READING_ERR_EXCEPTION with reading.code = class*32+detail
 * and detail "4.04 Not Found" (plus the server's diagnostic payload, if
 * any); an undecodable payload is READING_ERR_MALFORMED with cpay's
 * sentence. A point that got no answer by the deadline is
 * READING_ERR_NO_ANSWER; when no point answered, the poll returns
 * RS_ERR_TIMEOUT (RS_ERR_AUTH when the DTLS handshake was refused,
 * RS_ERR_IO for other session failures) and emits nothing.
 *
 * Observe (RFC 7641), for points with observe: true: the first poll's GET
 * carries Observe: 0. When the 2.05 carries an Observe option the point is
 * registered: later polls do not GET it while it is fresh, and each
 * notification (read through fd() / on_readable()) is emitted as a reading
 * at once. Fresh means a notification arrived within the last Max-Age
 * (default 60 s) + COAPA_OBS_MARGIN_MS; after that the next poll registers
 * it again. A poll with nothing to GET (every point observed and fresh)
 * sends a liveness GET of the first point (no Observe, a token of its own)
 * on the same timeout x (retries + 1) deadline: a server that died while
 * observed is noticed at the next poll, not only when Max-Age runs out (the
 * poll fails, the session is reset, the points register again at the next
 * poll). A notification is the device answering as well as a pong: no
 * liveness GET is sent when one came since the last poll began, one coming
 * while the liveness GET waits ends the wait (the poll succeeds), and a poll
 * whose GETs all went unanswered but during which a notification came does
 * not fail as a whole (its points read no_answer): a device whose pushes
 * arrive while requests to it are lost is not marked down. A liveness GET
 * whose reply is not what the first point's observation last said (another
 * value or code: a lost notification, or a restarted server that forgot its
 * observers) makes every observation stale, so the next poll registers
 * again. A reply without
 * Observe means the server does not offer it for that resource: the point
 * is then polled, each GET still asking (Observe: 0), so a server that
 * offers it later (updated, replaced) is observed from its next reply
 * (before, only once the adapter was reopened). Out-of-order notifications (RFC 7641 3.4) are dropped. close()
 * deregisters (coap_cancel_observe) before freeing.
 */
#ifndef RS_COAP_H
#define RS_COAP_H

#include <stdint.h>

#include "adapters/adapter.h"

/* Extra ms an observation may stay silent beyond its Max-Age. */
#define COAPA_OBS_MARGIN_MS 5000

extern const struct adapter_ops coapa_ops;

/*
 * libcoap is not linked: adapters/coap_dl.c loads it with dlopen() when the
 * first CoAP device opens, so a gateway without CoAP devices never maps it
 * (nor the libssl and libcrypto it pulls in). coapa_dl_load() loads it
 * (once; false, with one error logged, when it cannot); coapa_dl_error()
 * says why not ("cannot load libcoap-3-openssl.so.3 (...)"), "" when loaded.
 */
bool coapa_dl_load(void);
const char *coapa_dl_error(void);

/* Counters of one device's adapter since open (by kind of failure). */
struct coapa_stats {
  uint64_t sessions;        /* sessions made (one per (re)connect) */
  uint64_t handshakes;      /* DTLS handshakes completed */
  uint64_t requests;        /* GETs sent (registrations and retransmissions included) */
  uint64_t retransmissions; /* GETs sent again after `timeout` without a reply */
  uint64_t responses;       /* replies to those GETs */
  uint64_t notifications;   /* observe notifications emitted */
  uint64_t timeouts;        /* requests without an answer by the deadline */
  uint64_t exceptions;      /* 4.xx / 5.xx (and other non-2.05) replies */
  uint64_t malformed;       /* payloads cpay_decode() refused */
  uint64_t session_errors;  /* DTLS errors, refused handshakes, failed sessions */
  uint64_t resets;          /* sessions closed because of an error */
  uint64_t unsolicited;     /* messages matching no request of ours (answered with RST) */
  uint64_t rst_suppressed;  /* of those, ignored without a RST (over COAPA_RST_PER_S) */
};

/*
 * At most this many RSTs a second go to one device for messages that match
 * no request of ours; beyond it they are dropped silently, so a peer that
 * answers each RST with another message (a reset storm) cannot keep a
 * ping-pong going at full speed.
 */
#define COAPA_RST_PER_S 20

/*
 * Copy the counters of an opened CoAP adapter into *out (zeroes when a is
 * not open). Call from the device's thread.
 */
void coapa_get_stats(const struct adapter *a, struct coapa_stats *out);

/* Whether point index i of an opened adapter is registered for Observe now. */
int coapa_observing(const struct adapter *a, size_t i);

#endif
