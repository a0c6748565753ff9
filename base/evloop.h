/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evloop: restockd's one event loop (epoll + timers) and how long its turns
 * take. Everything that waits for the network hangs its descriptors and
 * deadlines here instead of blocking: the HTTP server, libcurl's multi
 * interface (shop and mail), device I/O.
 *
 *   l = evloop_new();
 *   io = evloop_io_add(l, fd, EPOLLIN, fn, ud);     fn(ud, fd, events) on the loop
 *   evloop_io_mod(l, io, EPOLLIN | EPOLLOUT);  evloop_io_del(l, io);
 *   t = evloop_timer_new(l, fn, ud);
 *   evloop_timer_arm(t, clock_real_mono_ms() + 500);  evloop_timer_disarm(t);
 *   while(!stop) evloop_turn(l, max_wait_ms);       wait, then dispatch
 *
 * Times are real monotonic ms (clock_real_mono_ms()), never the scaled
 * clock. Armed timers are kept in a binary heap (thousands exist: one per
 * Modbus TCP connection, besides libcurl's, the watchdog and the daemon's
 * own): arming and disarming are O(log n), the earliest is O(1), and a turn
 * costs O(log n) per timer that fires.
 *
 * Descriptors registered directly on evloop_epoll_fd() with
 * EVLOOP_FOREIGN_TAG set in data.u64 (the scheduler's adapter descriptors)
 * are handed to the foreign handler with their tag.
 *
 * Callbacks may add and delete descriptors and timers, also their own:
 * deleted ones are freed after the turn and get no further calls (a
 * deleted io handle is kept for reuse by a later evloop_io_add(), so a
 * descriptor that comes and goes at every poll, a refused connect, costs
 * no allocation; the loop keeps at most as many as were live at once; under
 * AddressSanitizer a kept handle is poisoned, so a use after its turn is
 * still reported).
 *
 * The loop measures itself: a turn is the time from one epoll_wait()
 * returning to the next epoll_wait() call, i.e. all work done between two
 * waits (evloop_turn()'s dispatch plus whatever the caller did before
 * calling it again). Turns feed a histogram (evloop_stats()) and the lag
 * (evloop_lag_ms()).
 *
 * Not thread-safe: one thread (the main loop) calls everything.
 */
#ifndef RS_EVLOOP_H
#define RS_EVLOOP_H

#include <stdint.h>

/* Bit of epoll_event.data.u64 marking a foreign registration (same bit as SCHEDULER_EPOLL_TAG). */
#define EVLOOP_FOREIGN_TAG (UINT64_C(1) << 63)

/* Upper bounds (seconds) of the turn histogram's buckets; +Inf is implicit. */
#define EVLOOP_BUCKETS {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
#define EVLOOP_N_BUCKETS 13
/* Turns longer than this ago no longer count for evloop_lag_ms(). */
#define EVLOOP_LAG_WINDOW_MS 10000

struct evloop;
struct evloop_io;
struct evloop_timer;

typedef void (*evloop_io_fn)(void *ud, int fd, uint32_t events);
typedef void (*evloop_timer_fn)(void *ud);
typedef void (*evloop_foreign_fn)(void *ud, uint64_t tag);

/* A new loop; NULL when epoll_create1() fails (errno set) or out of memory. */
struct evloop *evloop_new(void);
/* Free the loop, every io handle and timer still registered. NULL is fine. */
void evloop_free(struct evloop *l);

/* The epoll descriptor, for foreign registrations (see above). */
int evloop_epoll_fd(const struct evloop *l);
void evloop_set_foreign(struct evloop *l, evloop_foreign_fn fn, void *ud);

/*
 * Watch fd for events (EPOLLIN, EPOLLOUT; 0 = registered but quiet). fn
 * gets the events epoll reported (EPOLLERR/EPOLLHUP included). Returns the
 * handle, or NULL when epoll_ctl() failed (errno set). The loop never
 * closes fd.
 */
struct evloop_io *evloop_io_add(struct evloop *l, int fd, uint32_t events, evloop_io_fn fn,
                                void *ud);
/* Change the events watched; 0 or -1 (errno). */
int evloop_io_mod(struct evloop *l, struct evloop_io *io, uint32_t events);
/* Stop watching (call before closing the descriptor). NULL is fine. */
void evloop_io_del(struct evloop *l, struct evloop_io *io);

/* A timer, disarmed. NULL only on allocation failure. */
struct evloop_timer *evloop_timer_new(struct evloop *l, evloop_timer_fn fn, void *ud);
/* (Re)arm t to fire once at real monotonic ms due (at the next turn if past). */
void evloop_timer_arm(struct evloop_timer *t, int64_t due_ms);
/* Arm t for due_ms when it is disarmed or armed later; armed earlier, it
   stays put and fires at due_ms instead (O(1): a deadline that only moves
   later, such as a reply timeout renewed at every request). */
void evloop_timer_extend(struct evloop_timer *t, int64_t due_ms);
void evloop_timer_disarm(struct evloop_timer *t);
/* Disarm and free t. NULL is fine. */
void evloop_timer_free(struct evloop_timer *t);

/* The earliest armed timer (real monotonic ms), INT64_MAX for none. */
int64_t evloop_next_timer(const struct evloop *l);

/*
 * One turn: wait until a descriptor is ready, the earliest timer is due or
 * max_wait_ms passed (< 0: no limit but the timers), then run the io
 * callbacks and the due timers. Returns how many callbacks ran, or -1 when
 * epoll_wait() failed (errno; EINTR is not a failure: 0).
 */
int evloop_turn(struct evloop *l, int64_t max_wait_ms);

struct evloop_stats {
  uint64_t buckets[EVLOOP_N_BUCKETS]; /* turns that took <= EVLOOP_BUCKETS[i], cumulative */
  uint64_t count;                     /* every turn */
  double sum_s;                       /* their total duration (s) */
  int64_t longest_ms;                 /* the longest turn since start */
};
void evloop_stats(const struct evloop *l, struct evloop_stats *out);
extern const double evloop_bucket_bounds[EVLOOP_N_BUCKETS];

/*
 * How far behind the loop is at real monotonic ms now: the longer of the
 * current turn so far and the longest turn that ended within
 * EVLOOP_LAG_WINDOW_MS. 0 for a loop that never turned.
 */
int64_t evloop_lag_ms(const struct evloop *l, int64_t now);

#endif
