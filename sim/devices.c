/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devices: the device simulator (see devices.h, docs/simulator.md).
 *
 * One thread owns every socket and every value. Each tick (simulation.tick
 * of real time) it computes each consumable's value at simulated now from
 * its profile (devices_model.c), adds noise and glitches, writes it into
 * the unit's modbus_mapping through mbc_encode_point (the same codec restock
 * decodes with) or into the CoAP resource's cached payload, and notifies
 * CoAP observers when a payload changed. Between ticks it answers Modbus
 * requests (modbus_receive/modbus_reply per client fd) and runs libcoap.
 *
 * Other threads (the shop's HTTP threads, the main thread) only record
 * requests under `mu`: a delivery puts units on a shelf, a press sets a
 * hold time. The tick applies them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coap3/coap.h>
#include <jansson.h>
#include <modbus.h>

#include "adapters/modbus_codec.h"
#include "base/rs_util.h"
#include "sim/simcfg.h"
#include "base/clock.h"
#include "base/log.h"
#include "sim/devices.h"
#include "sim/devices_model.h"

#define DEV_MAX_CLIENTS 64  /* per Modbus port */
#define DEV_FD_LIMIT    1024 /* libmodbus 3.1.6 select()s on its fds */
#define DEV_PAYLOAD_MAX 1000

struct sdev;

/* A simulated consumable's running state. */
struct kstate {
  const struct simcfg_consumable *k;
  struct sdev *dev;
  int64_t installed_ms; /* simulated time the current part's used share was used0 */
  double used0;
  uint64_t rng;
  int64_t glitch_until; /* simulated */
  double glitch_off;
  int64_t replace_at; /* simulated time a spare from the shelf is fitted; 0: none pending */
  char order[32];     /* the order that brought the newest spare on the shelf */
  unsigned replacements;
  /* the plant: a shelf of spares, and what it cost (docs/simulator.md) */
  int64_t shelf;        /* spares on the shelf */
  int64_t delivered;    /* units delivered */
  int64_t early;        /* deliveries onto a non-empty shelf with more than the lead time left */
  int64_t shelf_max;
  double shelf_unit_ms; /* integral of shelf units over simulated time */
  int64_t tracked_ms;   /* simulated time since the start */
  int64_t empty_ms;     /* simulated time worn out with no spare to fit */
  unsigned stockouts;   /* times it ran empty with no spare */
  bool out;             /* empty with no spare now */
  int64_t out_from_ms;  /* empty_ms when the current stockout began */
  /* when: [from, to) simulated ms of each stockout, to 0 while it lasts (the bench
     compares them hour by hour with its baselines); owned */
  int64_t (*spans)[2];
  size_t n_spans, cap_spans;
  /* scratch of one delivered line (devices_delivered, lock held) */
  int64_t line_pre;
  double line_left_ms;
  bool line_got;
  double value; /* as presented */
  double used;
};

struct bstate {
  const struct simcfg_button *b;
  struct sdev *dev;
  size_t next_at;         /* next press_at index */
  int64_t next_every;     /* simulated time of the next repeated press; 0 none */
  int64_t pressed_until;  /* simulated */
  unsigned presses;
};

/* One CoAP resource: a path and the points whose records it serves. */
struct cres {
  struct sdev *dev;
  coap_resource_t *r;
  const char *path;
  enum cfg_format format;
  size_t *points;
  size_t n;
  bool observable;
  char payload[DEV_PAYLOAD_MAX];
  size_t len;
};

/* A Modbus TCP listening socket shared by the devices (unit ids) on one host:port. */
struct mbport {
  int lfd;
  uint16_t port;
  const char *host;
  modbus_t *mb;
  struct sdev *units[256];
  size_t n_units;
  int clients[DEV_MAX_CLIENTS];
  size_t n_clients;
};

struct sdev {
  const struct simcfg_device *cfg;
  size_t idx;
  double *cur; /* per point: the value presented now */
  /* modbus */
  struct mbport *mp;
  modbus_mapping_t *map;
  uint16_t start[4]; /* per cfg_regtable: first address of the mapping */
  /* coap */
  coap_context_t *ctx;
  struct cres *res;
  size_t n_res;
  uint16_t port;
};

struct devices {
  const struct simcfg *cfg;
  struct rs_clock *clock;
  double scale;
  int64_t start_sim;
  int64_t start_real; /* the real wall ms the clock was anchored at (start_sim then) */
  int64_t tick_gap_max; /* the longest simulated ms between two ticks (the sim's own lag) */
  pthread_mutex_t mu; /* kstate, bstate, cur (written by the thread, read by state_json) */
  pthread_t thread;
  bool running;
  int wake[2]; /* the stop pipe */
  struct sdev *devs;
  size_t n_devs;
  struct kstate *ks;
  size_t n_ks;
  struct bstate *bs;
  size_t n_bs;
  struct mbport **ports;
  size_t n_ports;
  int64_t last_tick_sim;
};

static int64_t sim_now(const struct devices *d)
{
  return clock_wall_ms(d->clock);
}

/* ---- values ---- */

/* A number as short text: integral values without a fraction, others with at most 4 decimals. */
static void format_num(double v, char *buf, size_t size)
{
  size_t n;
  if(fabs(v) < 1e15 && v == floor(v)) {
    snprintf(buf, size, "%.0f", v);
    return;
  }
  snprintf(buf, size, "%.4f", v);
  n = strlen(buf);
  while(n > 1 && buf[n - 1] == '0')
    buf[--n] = '\0';
  if(n > 1 && buf[n - 1] == '.')
    buf[--n] = '\0';
  if(!strcmp(buf, "-0"))
    rs_strlcpy(buf, "0", size);
}

/* A JSON number for v, rounded as format_num rounds it. */
static json_t *json_num(double v)
{
  char t[64];
  double r;
  format_num(v, t, sizeof(t));
  if(rs_parse_double(t, &r))
    r = v;
  if(fabs(r) < 9e15 && r == floor(r))
    return json_integer((json_int_t)r);
  return json_real(r);
}

/* Set obj[seg1][seg2]... = val along a JSON pointer (objects only). Takes val. */
static void json_put_pointer(json_t *root, const char *pointer, json_t *val)
{
  char seg[128];
  const char *p = pointer + 1;
  json_t *cur = root;
  for(;;) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if(n >= sizeof(seg))
      n = sizeof(seg) - 1;
    memcpy(seg, p, n);
    seg[n] = '\0';
    if(!slash) {
      json_object_set_new(cur, seg, val);
      return;
    }
    {
      json_t *next = json_object_get(cur, seg);
      if(!json_is_object(next)) {
        next = json_object();
        json_object_set_new(cur, seg, next);
      }
      cur = next;
    }
    p = slash + 1;
  }
}

/* Rebuild a CoAP resource's payload from its points' current values. */
static void cres_build(struct cres *r)
{
  const struct sdev *sd = r->dev;
  json_t *j = NULL;
  char *text = NULL;
  size_t i;
  if(r->format == CFG_FMT_TEXT) {
    format_num(sd->cur[r->points[0]], r->payload, sizeof(r->payload));
    r->len = strlen(r->payload);
    return;
  }
  j = r->format == CFG_FMT_JSON ? json_object() : json_array();
  for(i = 0; i < r->n; i++) {
    const struct cfg_point *pt = &sd->cfg->dev.points[r->points[i]];
    double v = sd->cur[r->points[i]];
    if(r->format == CFG_FMT_JSON)
      json_put_pointer(j, pt->pointer, json_num(v));
    else {
      json_t *rec = json_pack("{s:s,s:o}", "n", pt->name, "v", json_num(v));
      if(rec && pt->unit)
        json_object_set_new(rec, "u", json_string(pt->unit));
      json_array_append_new(j, rec);
    }
  }
  text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12));
  json_decref(j);
  if(text && strlen(text) < sizeof(r->payload)) {
    memcpy(r->payload, text, strlen(text) + 1);
    r->len = strlen(text);
  }
  else if(text)
    log_warn("sim: %s%s: payload of %zu bytes is over %d; keeping the last one", sd->cfg->id,
             r->path, strlen(text), DEV_PAYLOAD_MAX - 1);
  free(text);
}

/* Write point i's current value into the unit's mapping (Modbus devices). */
static void mb_store(struct sdev *sd, size_t i)
{
  const struct cfg_point *pt = &sd->cfg->dev.points[i];
  modbus_mapping_t *m = sd->map;
  unsigned off = (unsigned)pt->address - sd->start[pt->table];
  uint16_t regs[4] = {0};
  char err[CODEC_ERR_MAX];
  double v = sd->cur[i];
  uint16_t *tab;
  switch(pt->table) {
  case CFG_REG_COIL:
    m->tab_bits[off] = v != 0;
    return;
  case CFG_REG_DISCRETE:
    m->tab_input_bits[off] = v != 0;
    return;
  case CFG_REG_INPUT:
    tab = m->tab_input_registers + off;
    break;
  case CFG_REG_HOLDING:
  default:
    tab = m->tab_registers + off;
    break;
  }
  memcpy(regs, tab, pt->width * sizeof(*regs)); /* a bit point keeps the other bits */
  if(mbc_encode_point(pt, v, regs, pt->width, err, sizeof(err)) != CODEC_OK) {
    log_debug("sim: %s/%s: cannot encode %g: %s", sd->cfg->id, pt->id, v, err);
    return;
  }
  memcpy(tab, regs, pt->width * sizeof(*regs));
}

/* The profile value of one consumable at now, with noise and glitches; lock held. */
static void k_update(struct devices *d, struct kstate *ks, int64_t now, int64_t dt)
{
  const struct simcfg_consumable *k = ks->k;
  double lo = fmin(k->full, k->empty), hi = fmax(k->full, k->empty), v;
  ks->used = simmodel_used_from(k, ks->used0, ks->installed_ms, now, d->start_sim);
  v = simmodel_value(k, ks->used);
  if(k->kind != SIMCFG_KIND_COUNTER) {
    if(k->noise > 0)
      v += k->noise * simmodel_gauss(&ks->rng);
    if(k->glitch_rate > 0 && dt > 0 && now >= ks->glitch_until) {
      double p = -expm1(-k->glitch_rate * (double)dt / 86400000.0);
      if(simmodel_uniform(&ks->rng) < p) {
        ks->glitch_until = now + k->glitch_for_ms;
        ks->glitch_off = simmodel_uniform(&ks->rng) < 0.5 ? -k->glitch_size : k->glitch_size;
        log_debug("sim: %s/%s: glitch of %+g", ks->dev->cfg->id, k->id, ks->glitch_off);
      }
    }
    if(now < ks->glitch_until)
      v += ks->glitch_off;
    v = v < lo ? lo : v > hi ? hi : v;
  }
  ks->value = v;
  ks->dev->cur[k->point] = v;
}

/* Fit a spare from the shelf now: a new part, used share 0, the counter back to full. Lock held. */
static void k_replace(struct kstate *ks, int64_t now)
{
  ks->installed_ms = now;
  ks->used0 = 0;
  ks->glitch_until = 0;
  ks->replace_at = 0;
  ks->replacements++;
  if(ks->shelf > 0)
    ks->shelf--;
  log_info("sim: %s/%s replaced (SKU %s, order %s): a spare from the shelf fitted, %lld left",
           ks->dev->cfg->id, ks->k->id, ks->k->sku ? ks->k->sku : "-",
           ks->order[0] ? ks->order : "-", (long long)ks->shelf);
}

/*
 * The plant around one part after its value was updated (lock held): a worn
 * part (remaining at or below swap_at; a counter at its life) gets a spare
 * from the shelf replace_after later; the shelf and the time spent worn out
 * with no spare (a stockout) are counted over the dt since the last tick.
 */
static void k_plant(struct kstate *ks, int64_t now, int64_t dt)
{
  const struct simcfg_consumable *k = ks->k;
  bool worn = k->kind == SIMCFG_KIND_COUNTER ? ks->used >= 1
                                             : simmodel_remaining(ks->used) <= k->swap_at;
  bool empty = ks->used >= 1 && !ks->shelf && !ks->replace_at;
  if(worn && ks->shelf > 0 && !ks->replace_at)
    ks->replace_at = now + (k->replace_after_ms > 0 ? k->replace_after_ms : 1);
  if(dt <= 0)
    return;
  ks->tracked_ms += dt;
  ks->shelf_unit_ms += (double)ks->shelf * (double)dt;
  if(empty) {
    ks->empty_ms += dt;
    if(!ks->out) {
      ks->stockouts++;
      ks->out_from_ms = ks->empty_ms - dt;
      if(ks->n_spans == ks->cap_spans) {
        ks->cap_spans = ks->cap_spans ? 2 * ks->cap_spans : 8;
        ks->spans = rs_xrealloc(ks->spans, ks->cap_spans * sizeof(*ks->spans));
      }
      ks->spans[ks->n_spans][0] = now - dt;
      ks->spans[ks->n_spans][1] = 0;
      ks->n_spans++;
      log_warn("sim: %s/%s is worn out and no spare is on the shelf (stockout %u)",
               ks->dev->cfg->id, k->id, ks->stockouts);
    }
  }
  else if(ks->out) {
    if(ks->n_spans)
      ks->spans[ks->n_spans - 1][1] = now - dt;
    log_info("sim: %s/%s: a spare arrived after %.1f days without one", ks->dev->cfg->id, k->id,
             (double)(ks->empty_ms - ks->out_from_ms) / 86400000.0);
  }
  ks->out = empty;
}

/* Scheduled presses due by now; lock held. */
static void b_update(struct bstate *bs, int64_t now, int64_t start)
{
  const struct simcfg_button *b = bs->b;
  bool press = false;
  while(bs->next_at < b->n_press_at && start + b->press_at_ms[bs->next_at] <= now) {
    bs->next_at++;
    press = true;
  }
  while(bs->next_every && bs->next_every <= now) {
    bs->next_every += b->every_ms;
    press = true;
  }
  if(press && now >= bs->pressed_until) {
    bs->pressed_until = now + b->hold_ms;
    bs->presses++;
    log_info("sim: %s/%s pressed (scheduled)", bs->dev->cfg->id, b->point_id);
  }
  bs->dev->cur[b->point] = now < bs->pressed_until ? 1 : 0;
}

/* One tick: every value at simulated now, into the maps and payloads; notify observers. */
static void tick(struct devices *d)
{
  int64_t now = sim_now(d), dt = now - d->last_tick_sim;
  size_t i, j;
  pthread_mutex_lock(&d->mu);
  for(i = 0; i < d->n_ks; i++) {
    struct kstate *ks = &d->ks[i];
    if(ks->replace_at && ks->replace_at <= now)
      k_replace(ks, now);
    k_update(d, ks, now, dt);
    k_plant(ks, now, dt);
  }
  for(i = 0; i < d->n_bs; i++)
    b_update(&d->bs[i], now, d->start_sim);
  if(dt > d->tick_gap_max)
    d->tick_gap_max = dt;
  pthread_mutex_unlock(&d->mu);
  d->last_tick_sim = now;
  for(i = 0; i < d->n_devs; i++) {
    struct sdev *sd = &d->devs[i];
    if(sd->map)
      for(j = 0; j < sd->cfg->dev.n_points; j++)
        mb_store(sd, j);
    for(j = 0; j < sd->n_res; j++) {
      struct cres *r = &sd->res[j];
      char old[DEV_PAYLOAD_MAX];
      size_t olen = r->len;
      memcpy(old, r->payload, olen);
      cres_build(r);
      if(r->observable && (olen != r->len || memcmp(old, r->payload, olen)))
        coap_resource_notify_observers(r->r, NULL);
    }
  }
}

/* ---- Modbus ---- */

/* Listen on host:port (TCP). Returns the fd (< 1024) and sets *bound, or -1 with err. */
static int tcp_listen(const char *host, uint16_t port, uint16_t *bound, char *err, size_t errlen)
{
  struct sockaddr_in sa;
  socklen_t sl = sizeof(sa);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  if(fd < 0) {
    snprintf(err, errlen, "socket: %s", strerror(errno));
    return -1;
  }
  if(fd >= DEV_FD_LIMIT) {
    snprintf(err, errlen, "socket fd %d is not below %d (libmodbus uses select)", fd,
             DEV_FD_LIMIT);
    close(fd);
    return -1;
  }
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, host, &sa.sin_addr);
  if(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
    snprintf(err, errlen, "cannot listen on %s:%u (tcp): %s", host, (unsigned)port,
             strerror(errno));
    close(fd);
    return -1;
  }
  getsockname(fd, (struct sockaddr *)&sa, &sl);
  *bound = ntohs(sa.sin_port);
  return fd;
}

/* The mapping of one Modbus device: each table spans its points' addresses. */
static int mb_mapping(struct sdev *sd, char *err, size_t errlen)
{
  unsigned lo[4] = {65536, 65536, 65536, 65536}, hi[4] = {0, 0, 0, 0}, nb[4];
  size_t i;
  int t;
  for(i = 0; i < sd->cfg->dev.n_points; i++) {
    const struct cfg_point *pt = &sd->cfg->dev.points[i];
    t = (int)pt->table;
    if(pt->address < lo[t])
      lo[t] = pt->address;
    if(pt->address + pt->width > hi[t])
      hi[t] = pt->address + pt->width;
  }
  for(t = 0; t < 4; t++) {
    if(hi[t] == 0)
      lo[t] = 0;
    nb[t] = hi[t] - lo[t];
    sd->start[t] = (uint16_t)lo[t];
  }
  sd->map = modbus_mapping_new_start_address(lo[CFG_REG_COIL], nb[CFG_REG_COIL],
                                             lo[CFG_REG_DISCRETE], nb[CFG_REG_DISCRETE],
                                             lo[CFG_REG_HOLDING], nb[CFG_REG_HOLDING],
                                             lo[CFG_REG_INPUT], nb[CFG_REG_INPUT]);
  if(!sd->map) {
    snprintf(err, errlen, "device %s: cannot allocate the register map: %s", sd->cfg->id,
             modbus_strerror(errno));
    return -1;
  }
  return 0;
}

/* Attach a Modbus device to the port of its host:port, creating it. 0 or -1 with err. */
static int mb_attach(struct devices *d, struct sdev *sd, char *err, size_t errlen)
{
  const struct simcfg_device *c = sd->cfg;
  struct mbport *p = NULL;
  size_t i;
  for(i = 0; c->port && i < d->n_ports; i++)
    if(d->ports[i]->port == c->port && !strcmp(d->ports[i]->host, c->host))
      p = d->ports[i];
  if(!p) {
    p = rs_xcalloc(1, sizeof(*p));
    p->host = c->host;
    p->lfd = -1;
    d->ports = rs_xrealloc(d->ports, (d->n_ports + 1) * sizeof(*d->ports));
    d->ports[d->n_ports++] = p;
    p->lfd = tcp_listen(c->host, c->port, &p->port, err, errlen);
    if(p->lfd < 0)
      return -1;
    p->mb = modbus_new_tcp(c->host, p->port);
    if(!p->mb) {
      snprintf(err, errlen, "modbus_new_tcp: %s", modbus_strerror(errno));
      return -1;
    }
  }
  p->units[c->unit_id] = sd;
  p->n_units++;
  sd->mp = p;
  sd->port = p->port;
  return 0;
}

static void mb_drop_client(struct mbport *p, size_t i)
{
  close(p->clients[i]);
  p->clients[i] = p->clients[--p->n_clients];
}

static void mb_accept(struct mbport *p)
{
  int fd = accept(p->lfd, NULL, NULL);
  if(fd < 0)
    return;
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  if(fd >= DEV_FD_LIMIT || p->n_clients == DEV_MAX_CLIENTS) {
    log_warn("sim: modbus port %u: refusing a client (%s)", (unsigned)p->port,
             fd >= DEV_FD_LIMIT ? "fd not below 1024" : "too many clients");
    close(fd);
    return;
  }
  p->clients[p->n_clients++] = fd;
}

/* One request from client i: reply from its unit's mapping; drop the client on error. */
static void mb_serve(struct mbport *p, size_t i)
{
  uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
  struct sdev *sd;
  int rc, hl;
  modbus_set_socket(p->mb, p->clients[i]);
  rc = modbus_receive(p->mb, q);
  if(rc < 0) {
    mb_drop_client(p, i);
    return;
  }
  if(rc == 0)
    return;
  hl = modbus_get_header_length(p->mb);
  sd = p->units[q[hl - 1]];
  if(!sd && p->n_units == 1 && (q[hl - 1] == 0 || q[hl - 1] == 255)) {
    size_t u;
    for(u = 0; u < 256 && !sd; u++)
      sd = p->units[u];
  }
  if(!sd)
    rc = modbus_reply_exception(p->mb, q, MODBUS_EXCEPTION_GATEWAY_TARGET);
  else
    rc = modbus_reply(p->mb, q, rc, sd->map);
  if(rc < 0)
    mb_drop_client(p, i);
}

/* ---- CoAP ---- */

/*
 * Serve the cached payload (observe handled by libcoap). Payloads stay under
 * DEV_PAYLOAD_MAX (1000 bytes), so they always fit one PDU and libcoap
 * copies them: no block transfer outlives the buffer.
 */
static void coap_get(coap_resource_t *resource, coap_session_t *session, const coap_pdu_t *request,
                     const coap_string_t *query, coap_pdu_t *response)
{
  struct cres *r = coap_resource_get_userdata(resource);
  uint16_t media = r->format == CFG_FMT_TEXT   ? COAP_MEDIATYPE_TEXT_PLAIN
                   : r->format == CFG_FMT_JSON ? COAP_MEDIATYPE_APPLICATION_JSON
                                               : 110; /* application/senml+json */
  coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
  coap_add_data_large_response(resource, session, request, response, query, media, -1, 0, r->len,
                               (const uint8_t *)r->payload, NULL, NULL);
}

/* Whether a UDP port on host is free (bound without SO_REUSEADDR, as libcoap does not check). */
static int udp_probe(const char *host, uint16_t port, uint16_t *bound, char *err, size_t errlen)
{
  struct sockaddr_in sa;
  socklen_t sl = sizeof(sa);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if(fd < 0) {
    snprintf(err, errlen, "socket: %s", strerror(errno));
    return -1;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, host, &sa.sin_addr);
  if(bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
    snprintf(err, errlen, "cannot listen on %s:%u (udp): %s", host, (unsigned)port,
             strerror(errno));
    close(fd);
    return -1;
  }
  getsockname(fd, (struct sockaddr *)&sa, &sl);
  *bound = ntohs(sa.sin_port);
  close(fd);
  return 0;
}

/* Context, endpoint and one resource per distinct path of a CoAP device. 0 or -1 with err. */
static int coap_setup(struct sdev *sd, char *err, size_t errlen)
{
  const struct simcfg_device *c = sd->cfg;
  coap_address_t addr;
  size_t i, j;
  if(udp_probe(c->host, c->port, &sd->port, err, errlen))
    return -1;
  sd->ctx = coap_new_context(NULL);
  if(!sd->ctx) {
    snprintf(err, errlen, "device %s: cannot create a CoAP context", c->id);
    return -1;
  }
  coap_context_set_block_mode(sd->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
  coap_address_init(&addr);
  addr.addr.sin.sin_family = AF_INET;
  addr.addr.sin.sin_port = htons(sd->port);
  inet_pton(AF_INET, c->host, &addr.addr.sin.sin_addr);
  addr.size = sizeof(addr.addr.sin);
  if(!coap_new_endpoint(sd->ctx, &addr, COAP_PROTO_UDP)) {
    snprintf(err, errlen, "cannot listen on %s:%u (coap)", c->host, (unsigned)sd->port);
    return -1;
  }
  sd->res = rs_xcalloc(c->dev.n_points + 1, sizeof(*sd->res));
  for(i = 0; i < c->dev.n_points; i++) {
    const struct cfg_point *pt = &c->dev.points[i];
    struct cres *r = NULL;
    for(j = 0; j < sd->n_res; j++)
      if(!strcmp(sd->res[j].path, pt->path))
        r = &sd->res[j];
    if(!r) {
      coap_str_const_t *uri;
      r = &sd->res[sd->n_res++];
      r->dev = sd;
      r->path = pt->path;
      r->format = pt->format;
      r->points = rs_xcalloc(c->dev.n_points, sizeof(*r->points));
      uri = coap_new_str_const((const uint8_t *)pt->path + 1, strlen(pt->path) - 1);
      r->r = uri ? coap_resource_init(uri, COAP_RESOURCE_FLAGS_RELEASE_URI) : NULL;
      if(!r->r) {
        snprintf(err, errlen, "device %s: cannot create resource %s", c->id, pt->path);
        return -1;
      }
      coap_resource_set_userdata(r->r, r);
      coap_register_request_handler(r->r, COAP_REQUEST_GET, coap_get);
      coap_add_resource(sd->ctx, r->r);
    }
    r->points[r->n++] = i;
    if(pt->observe && !r->observable) {
      r->observable = true;
      coap_resource_set_get_observable(r->r, 1);
    }
  }
  return 0;
}

/* ---- the thread ---- */

static void *run(void *arg)
{
  struct devices *d = arg;
  struct pollfd *pf = NULL;
  size_t cap = 0;
  int64_t next_tick = clock_real_mono_ms() + d->cfg->tick_ms;
  for(;;) {
    size_t n = 0, i, j, k;
    int64_t now = clock_real_mono_ms();
    int timeout;
    size_t want = 1 + d->n_devs;
    for(i = 0; i < d->n_ports; i++)
      want += 1 + d->ports[i]->n_clients;
    if(want > cap) {
      cap = want;
      pf = rs_xrealloc(pf, cap * sizeof(*pf));
    }
    pf[n].fd = d->wake[0];
    pf[n++].events = POLLIN;
    for(i = 0; i < d->n_ports; i++) {
      struct mbport *p = d->ports[i];
      pf[n].fd = p->lfd;
      pf[n++].events = POLLIN;
      for(j = 0; j < p->n_clients; j++) {
        pf[n].fd = p->clients[j];
        pf[n++].events = POLLIN;
      }
    }
    for(i = 0; i < d->n_devs; i++)
      if(d->devs[i].ctx) {
        int fd = coap_context_get_coap_fd(d->devs[i].ctx);
        if(fd >= 0) {
          pf[n].fd = fd;
          pf[n++].events = POLLIN;
        }
      }
    timeout = (int)(next_tick - now);
    if(timeout > 20)
      timeout = 20; /* libcoap's own timers (retransmits) without asking it */
    if(timeout < 0)
      timeout = 0;
    if(poll(pf, (nfds_t)n, timeout) < 0 && errno != EINTR) {
      log_err("sim: poll: %s", strerror(errno));
      break;
    }
    if(pf[0].revents) {
      char c = 'x';
      if(read(d->wake[0], &c, 1) != 1 || c == 'x')
        break;
      next_tick = clock_real_mono_ms(); /* a press: show it now */
    }
    /* Modbus: walk the same order the poll set was built in */
    k = 1;
    for(i = 0; i < d->n_ports; i++) {
      struct mbport *p = d->ports[i];
      size_t nc = p->n_clients;
      short lrev = pf[k++].revents;
      /* serve from the last client down: dropping one moves the last into its slot */
      for(j = nc; j-- > 0;)
        if(pf[k + j].revents)
          mb_serve(p, j);
      k += nc;
      if(lrev & POLLIN)
        mb_accept(p);
    }
    for(i = 0; i < d->n_devs; i++)
      if(d->devs[i].ctx)
        coap_io_process(d->devs[i].ctx, COAP_IO_NO_WAIT);
    if(clock_real_mono_ms() >= next_tick) {
      tick(d);
      next_tick += d->cfg->tick_ms;
      if(next_tick < clock_real_mono_ms())
        next_tick = clock_real_mono_ms() + d->cfg->tick_ms;
    }
  }
  free(pf);
  return NULL;
}

/* ---- life cycle ---- */

int devices_start(const struct simcfg *cfg, double time_scale, struct devices **out, char *err,
                  size_t errlen)
{
  struct devices *d = rs_xcalloc(1, sizeof(*d));
  int64_t real = clock_real_wall_ms();
  size_t i, j, nk = 0, nb = 0;
  *out = NULL;
  d->cfg = cfg;
  d->scale = time_scale > 0 ? time_scale : 1;
  d->start_sim = cfg->start_set ? cfg->start_wall_ms : real;
  d->start_real = real;
  d->wake[0] = d->wake[1] = -1;
  pthread_mutex_init(&d->mu, NULL);
  d->clock = clock_new_scaled(d->scale, d->start_sim, real);
  if(!d->clock || pipe(d->wake)) {
    snprintf(err, errlen, "cannot create the sim clock or stop pipe");
    goto fail;
  }
  fcntl(d->wake[0], F_SETFD, FD_CLOEXEC);
  fcntl(d->wake[1], F_SETFD, FD_CLOEXEC);
  d->last_tick_sim = d->start_sim;
  coap_startup();
  coap_set_log_level(LOG_ERR);
  d->devs = rs_xcalloc(cfg->n_devices + 1, sizeof(*d->devs));
  for(i = 0; i < cfg->n_devices; i++) {
    nk += cfg->devices[i].n_consumables;
    nb += cfg->devices[i].n_buttons;
  }
  d->ks = rs_xcalloc(nk + 1, sizeof(*d->ks));
  d->bs = rs_xcalloc(nb + 1, sizeof(*d->bs));
  for(i = 0; i < cfg->n_devices; i++) {
    const struct simcfg_device *c = &cfg->devices[i];
    struct sdev *sd = &d->devs[d->n_devs++];
    sd->cfg = c;
    sd->idx = i;
    sd->cur = rs_xcalloc(c->dev.n_points + 1, sizeof(*sd->cur));
    for(j = 0; j < c->dev.n_points; j++)
      sd->cur[j] = isnan(c->values[j]) ? 0 : c->values[j];
    for(j = 0; j < c->n_consumables; j++) {
      struct kstate *ks = &d->ks[d->n_ks++];
      ks->k = &c->consumables[j];
      ks->dev = sd;
      ks->shelf = ks->shelf_max = c->consumables[j].spares;
      ks->installed_ms = d->start_sim;
      ks->used0 = 1 - ks->k->start_level;
      ks->rng = simmodel_seed(cfg->seed, c->id, ks->k->id);
    }
    for(j = 0; j < c->n_buttons; j++) {
      struct bstate *bs = &d->bs[d->n_bs++];
      bs->b = &c->buttons[j];
      bs->dev = sd;
      bs->next_every = bs->b->every_ms ? d->start_sim + bs->b->every_ms : 0;
    }
    if(c->transport == SIMCFG_TR_MODBUS_TCP) {
      if(mb_mapping(sd, err, errlen) || mb_attach(d, sd, err, errlen))
        goto fail;
    }
    else if(coap_setup(sd, err, errlen))
      goto fail;
  }
  tick(d); /* the first values are there before the first request */
  if(pthread_create(&d->thread, NULL, run, d)) {
    snprintf(err, errlen, "cannot start the device thread");
    goto fail;
  }
  d->running = true;
  *out = d;
  return 0;
fail:
  devices_stop(d);
  return -1;
}

uint16_t devices_port(const struct devices *d, size_t i)
{
  return i < d->n_devs ? d->devs[i].port : 0;
}

void devices_stop(struct devices *d)
{
  size_t i, j;
  if(!d)
    return;
  if(d->running) {
    ssize_t w = write(d->wake[1], "x", 1);
    (void)w;
    pthread_join(d->thread, NULL);
  }
  for(i = 0; i < d->n_ports; i++) {
    struct mbport *p = d->ports[i];
    for(j = 0; j < p->n_clients; j++)
      close(p->clients[j]);
    if(p->lfd >= 0)
      close(p->lfd);
    if(p->mb) {
      modbus_set_socket(p->mb, -1);
      modbus_free(p->mb);
    }
    free(p);
  }
  free(d->ports);
  for(i = 0; i < d->n_devs; i++) {
    struct sdev *sd = &d->devs[i];
    if(sd->ctx)
      coap_free_context(sd->ctx); /* frees its resources */
    for(j = 0; j < sd->n_res; j++)
      free(sd->res[j].points);
    free(sd->res);
    if(sd->map)
      modbus_mapping_free(sd->map);
    free(sd->cur);
  }
  free(d->devs);
  for(i = 0; d->ks && i < d->n_ks; i++)
    free(d->ks[i].spans);
  free(d->ks);
  free(d->bs);
  if(d->wake[0] >= 0)
    close(d->wake[0]);
  if(d->wake[1] >= 0)
    close(d->wake[1]);
  clock_free(d->clock);
  pthread_mutex_destroy(&d->mu);
  free(d);
}

/* ---- requests from other threads ---- */

/* Make the thread tick at once (a delivery or a press). */
static void write_wake(struct devices *d)
{
  ssize_t w = write(d->wake[1], "p", 1);
  (void)w;
}

void devices_delivered(void *ctx, const char *order_id, const char *sku, int64_t quantity,
                       int64_t delivered_wall_ms)
{
  struct devices *d = ctx;
  const struct simcfg_product *p = simcfg_find_product(&d->cfg->shop, sku);
  double lead_ms = p ? (double)p->lead_time_days * 86400000.0 : 0;
  int64_t done = 0;
  size_t i;
  (void)delivered_wall_ms; /* the parts go on the shelf when the simulator learns of them */
  pthread_mutex_lock(&d->mu);
  for(i = 0; i < d->n_ks; i++) {
    struct kstate *ks = &d->ks[i];
    ks->line_got = false;
    if(!ks->k->sku || strcmp(ks->k->sku, sku))
      continue;
    ks->line_pre = ks->shelf;
    ks->line_left_ms = (1 - fmin(ks->used, 1)) * (double)ks->k->life_ms;
  }
  /* each unit to the part with the emptiest shelf, the most worn first */
  while(done < quantity) {
    struct kstate *best = NULL;
    for(i = 0; i < d->n_ks; i++) {
      struct kstate *ks = &d->ks[i];
      if(!ks->k->sku || strcmp(ks->k->sku, sku))
        continue;
      if(!best || ks->shelf < best->shelf || (ks->shelf == best->shelf && ks->used > best->used))
        best = ks;
    }
    if(!best)
      break;
    best->shelf++;
    best->delivered++;
    if(best->shelf > best->shelf_max)
      best->shelf_max = best->shelf;
    best->line_got = true;
    rs_strlcpy(best->order, order_id, sizeof(best->order));
    done++;
  }
  for(i = 0; i < d->n_ks; i++) {
    struct kstate *ks = &d->ks[i];
    if(!ks->line_got)
      continue;
    if(ks->line_pre > 0 && ks->line_left_ms > lead_ms) {
      ks->early++;
      log_info("sim: order %s delivered %s for %s/%s early: %lld spare(s) already on the shelf "
               "and %.1f days of life left (lead time %.0f days)",
               order_id, sku, ks->dev->cfg->id, ks->k->id, (long long)ks->line_pre,
               ks->line_left_ms / 86400000.0, lead_ms / 86400000.0);
    }
    log_info("sim: order %s delivered %s: %s/%s has %lld on the shelf (remaining %.0f %%)",
             order_id, sku, ks->dev->cfg->id, ks->k->id, (long long)ks->shelf,
             100 * simmodel_remaining(ks->used));
  }
  pthread_mutex_unlock(&d->mu);
  if(!done)
    log_info("sim: order %s delivered %lld x %s: no simulated part uses it", order_id,
             (long long)quantity, sku);
  else
    write_wake(d);
}

int devices_press(void *ctx, const char *device, const char *point, char *msg, size_t msglen)
{
  struct devices *d = ctx;
  size_t i;
  int rc = 1;
  pthread_mutex_lock(&d->mu);
  for(i = 0; i < d->n_bs; i++) {
    struct bstate *bs = &d->bs[i];
    if(strcmp(bs->dev->cfg->id, device) || strcmp(bs->b->point_id, point))
      continue;
    bs->pressed_until = sim_now(d) + bs->b->hold_ms;
    bs->presses++;
    rc = 0;
    log_info("sim: %s/%s pressed (by request)", device, point);
    break;
  }
  pthread_mutex_unlock(&d->mu);
  if(!rc)
    write_wake(d);
  if(rc)
    snprintf(msg, msglen, "no button '%s' on a simulated device '%s'", point, device);
  return rc;
}

char *devices_state_json(void *ctx)
{
  struct devices *d = ctx;
  json_t *root = json_object(), *devs = json_array();
  char t[40];
  char *text;
  size_t i, j;
  int64_t now;
  pthread_mutex_lock(&d->mu);
  now = sim_now(d);
  clock_format_rfc3339(now, t, sizeof(t));
  json_object_set_new(root, "sim_time", json_string(t));
  json_object_set_new(root, "time_scale", json_real(d->scale));
  /* the scaled clock's anchor, for a gateway that must share the timeline (bench/plant) */
  json_object_set_new(root, "time_anchor",
                      json_pack("{s:I,s:I}", "sim_ms", (json_int_t)d->start_sim, "real_ms",
                                (json_int_t)d->start_real));
  json_object_set_new(root, "tick_gap_max_seconds", json_real((double)d->tick_gap_max / 1000.0));
  for(i = 0; i < d->n_devs; i++) {
    const struct sdev *sd = &d->devs[i];
    json_t *dj = json_pack("{s:s,s:s,s:s,s:i}", "id", sd->cfg->id, "transport",
                           sd->cfg->transport == SIMCFG_TR_COAP ? "coap" : "modbus-tcp", "host",
                           sd->cfg->host, "port", (int)sd->port);
    json_t *ka = json_array(), *ba = json_array(), *pa = json_object();
    for(j = 0; j < sd->cfg->dev.n_points; j++)
      json_object_set_new(pa, sd->cfg->dev.points[j].id, json_real(sd->cur[j]));
    for(j = 0; j < d->n_ks; j++) {
      const struct kstate *ks = &d->ks[j];
      json_t *kj;
      if(ks->dev != sd)
        continue;
      kj = json_pack("{s:s,s:s,s:s,s:f,s:f,s:i}", "id", ks->k->id, "point", ks->k->point_id,
                     "kind", simcfg_kind_name(ks->k->kind), "value", ks->value, "remaining",
                     simmodel_remaining(ks->used), "replacements", (int)ks->replacements);
      json_object_set_new(kj, "sku", ks->k->sku ? json_string(ks->k->sku) : json_null());
      json_object_set_new(kj, "shelf", json_integer((json_int_t)ks->shelf));
      json_object_set_new(kj, "delivered", json_integer((json_int_t)ks->delivered));
      json_object_set_new(kj, "early_deliveries", json_integer((json_int_t)ks->early));
      json_object_set_new(kj, "shelf_max", json_integer((json_int_t)ks->shelf_max));
      json_object_set_new(kj, "shelf_mean",
                          json_real(ks->tracked_ms ? ks->shelf_unit_ms / (double)ks->tracked_ms
                                                   : (double)ks->shelf));
      json_object_set_new(kj, "empty_seconds", json_integer((json_int_t)(ks->empty_ms / 1000)));
      json_object_set_new(kj, "stockouts", json_integer((json_int_t)ks->stockouts));
      json_object_set_new(kj, "empty_now", json_boolean(ks->out));
      {
        json_t *sa = json_array();
        size_t m;
        for(m = 0; m < ks->n_spans; m++)
          json_array_append_new(
              sa, json_pack("[I,I]", (json_int_t)(ks->spans[m][0] / 1000),
                            (json_int_t)(ks->spans[m][1] ? ks->spans[m][1] / 1000 : now / 1000)));
        json_object_set_new(kj, "empty_spans", sa);
      }
      json_object_set_new(kj, "tracked_seconds", json_integer((json_int_t)(ks->tracked_ms / 1000)));
      if(ks->replace_at) {
        clock_format_rfc3339(ks->replace_at, t, sizeof(t));
        json_object_set_new(kj, "replace_at", json_string(t));
      }
      else
        json_object_set_new(kj, "replace_at", json_null());
      json_array_append_new(ka, kj);
    }
    for(j = 0; j < d->n_bs; j++) {
      const struct bstate *bs = &d->bs[j];
      if(bs->dev == sd)
        json_array_append_new(ba, json_pack("{s:s,s:b,s:i}", "point", bs->b->point_id, "pressed",
                                            now < bs->pressed_until, "presses",
                                            (int)bs->presses));
    }
    json_object_set_new(dj, "points", pa);
    json_object_set_new(dj, "consumables", ka);
    json_object_set_new(dj, "buttons", ba);
    json_array_append_new(devs, dj);
  }
  pthread_mutex_unlock(&d->mu);
  json_object_set_new(root, "devices", devs);
  text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10));
  json_decref(root);
  return text;
}
