/* SPDX-License-Identifier: Apache-2.0 */
/*
 * coap_payload: a CoAP response payload into one point's value (SPEC 4),
 * per the point's format. Pure: bytes in, a codec_value or a precise error
 * out; shares codec_err, codec_value and the scale step with modbus_codec.
 *
 * - text:  one number, optional surrounding whitespace (space, tab, CR, LF).
 *          Integers stay exact (int64, or uint64 above INT64_MAX); anything
 *          with a fraction or exponent is a double.
 * - json:  the value at the point's RFC 6901 pointer (~0 is '~', ~1 is '/',
 *          array elements by decimal index; "" or no pointer is the whole
 *          document). It must be a number or a bool.
 * - senml: RFC 8428 JSON: an array of records. bn, bu and bv carry forward
 *          to later records until replaced; a record's name is bn + n, its
 *          unit u (else bu), its value v + bv, or vb. The record whose
 *          resolved name equals the point's `name` matches; when none does,
 *          the one record whose `n` equals it. More than one candidate in
 *          the first step that matches anything is "ambiguous". A unit in
 *          the record and on the point that differ is a "unit mismatch". bt,
 *          t, ut, s and bver are ignored; vs and vd are "not a number".
 *
 * Then `value = decoded * scale + offset` when the point is scaled (bools
 * are left alone). Payloads over CPAY_MAX_PAYLOAD bytes are refused unread.
 */
#ifndef RS_COAP_PAYLOAD_H
#define RS_COAP_PAYLOAD_H

#include <stddef.h>

#include "adapters/modbus_codec.h"
#include "config/config.h"

#define CPAY_MAX_PAYLOAD 65536

/*
 * Decode payload[0..len-1] (need not be NUL-terminated; NULL when len is
 * 0) for pt (format, pointer, name, unit, scale, offset are used). Returns
 * CODEC_OK and sets *out, or an error kind with *out zeroed and a sentence
 * in err (which may be NULL): CODEC_TOO_LARGE, CODEC_NOT_NUMBER (text that
 * is not a number, a JSON value that is a string/null/object/array, a SenML
 * record without v or vb), CODEC_MALFORMED (invalid JSON, a SenML pack that
 * is not an array of records, a number out of double range),
 * CODEC_NOT_FOUND, CODEC_AMBIGUOUS, CODEC_UNIT_MISMATCH, CODEC_INVALID (a
 * bad pointer, a senml point without a name).
 */
enum codec_err cpay_decode(const struct cfg_point *pt, const void *payload, size_t len,
                           struct codec_value *out, char *err, size_t errlen);

/*
 * Check an RFC 6901 pointer's syntax (config validation): "" or a string
 * starting with '/', where every '~' is followed by '0' or '1'. Returns 0,
 * or -1 with a reason in err.
 */
int cpay_pointer_check(const char *pointer, char *err, size_t errlen);

#endif
