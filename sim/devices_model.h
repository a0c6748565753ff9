/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devices_model: the pure part of the device simulator — how a simulated
 * consumable's value follows its profile in simulated time (linear, weekly
 * duty cycle, clogging curve, counter), the duty-hours integral, and the
 * seeded random numbers behind noise and glitches. No I/O, no clock: times
 * are passed in (simulated Unix ms), so tests check the curves exactly.
 * docs/simulator.md describes the profiles.
 */
#ifndef RS_SIM_DEVICES_MODEL_H
#define RS_SIM_DEVICES_MODEL_H

#include <stdint.h>

#include "sim/simcfg.h"

/*
 * Operating milliseconds of duty d between simulated wall times a and b
 * (Unix ms, UTC), b >= a; (b - a) when d is not set. Days and hours are
 * taken in UTC; a week is Monday to Sunday.
 */
int64_t simmodel_duty_ms(const struct simcfg_duty *d, int64_t a, int64_t b);

/*
 * The used share of life at simulated time now for a part that had used
 * share used0 at installed_ms (both simulated Unix ms): used0 plus the
 * (operating) time since, over k->life_ms. Not clamped: past 1 the part is
 * worn out (a counter keeps counting).
 */
double simmodel_used(const struct simcfg_consumable *k, double used0, int64_t installed_ms,
                     int64_t now_ms);

/*
 * simmodel_used with the profile's rate_change: from start_ms + after on,
 * the part wears `factor` times as fast (a machine that speeds up or slows
 * down). Without a rate_change it is simmodel_used.
 */
double simmodel_used_from(const struct simcfg_consumable *k, double used0, int64_t installed_ms,
                          int64_t now_ms, int64_t start_ms);

/*
 * The noiseless point value for used share u: linear and weekly move from
 * full to empty and stay at empty; clogging follows
 * full + (empty - full) * (e^(k u) - 1) / (e^k - 1) with k = steepness and
 * stays at empty; a counter is full + (empty - full) * u for any u >= 0.
 */
double simmodel_value(const struct simcfg_consumable *k, double u);

/* The remaining share of life (1 - u, clamped to 0..1), as restock's models see it. */
double simmodel_remaining(double u);

/* A uniform double in [0, 1). */
double simmodel_uniform(uint64_t *state);
/* A standard normal deviate (Box-Muller). */
double simmodel_gauss(uint64_t *state);
/* A seed for one consumable: the file's seed mixed with the device and consumable ids. */
uint64_t simmodel_seed(uint64_t seed, const char *device, const char *id);

#endif
