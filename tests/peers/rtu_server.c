/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test peer: a libmodbus server, RTU on a serial port/pty or TCP on
 * 127.0.0.1, answering several unit ids on one port.
 *
 *   rtu_server (--rtu PATH | --tcp PORT) [--units 1,2] [--busy N]
 *              [--exception CODE@ADDR] [--silent-unit U] [--slow MS]
 *
 * Contents of unit u, addresses 0..199 of every table:
 *   holding[i] = u * 1000 + i      input[i] = u * 1000 + 500 + i
 *   coil[i]    = (i + u) % 2       discrete[i] = (i + u + 1) % 2
 * Faults: the first N requests get exception 6 (server busy); a read that
 * covers holding address ADDR gets exception CODE; requests to unit U are
 * never answered; --slow: every reply is sent MS milliseconds after its
 * request (one request at a time, as a slow device). Prints "ready" on
 * stdout once it listens.
 *
 * RTU and several unit ids: libmodbus 3.1.6 filters requests to other unit
 * ids in modbus_receive() (it returns 0, the frame still in the buffer), so
 * the server checks the CRC of such a frame itself, switches to that unit
 * and replies.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <modbus/modbus.h>

#define N_REGS    200
#define MAX_UNITS 8

static modbus_mapping_t *maps[256];
static int busy_left, exc_code, exc_addr = -1, silent_unit = -1, slow_ms;

static uint16_t crc16(const uint8_t *p, size_t n)
{
  uint16_t crc = 0xFFFF;
  size_t i;
  int b;
  for(i = 0; i < n; i++) {
    crc ^= p[i];
    for(b = 0; b < 8; b++)
      crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
  }
  return crc;
}

static void make_unit(int u)
{
  modbus_mapping_t *m = modbus_mapping_new(N_REGS, N_REGS, N_REGS, N_REGS);
  int i;
  if(!m)
    exit(1);
  for(i = 0; i < N_REGS; i++) {
    m->tab_registers[i] = (uint16_t)(u * 1000 + i);
    m->tab_input_registers[i] = (uint16_t)(u * 1000 + 500 + i);
    m->tab_bits[i] = (uint8_t)((i + u) % 2);
    m->tab_input_bits[i] = (uint8_t)((i + u + 1) % 2);
  }
  maps[u] = m;
}

/* Answer one request (len bytes, header length hl) for unit u. */
static void answer(modbus_t *ctx, const uint8_t *q, int len, int hl, int u)
{
  int fc = q[hl], addr = (q[hl + 1] << 8) | q[hl + 2], cnt = (q[hl + 3] << 8) | q[hl + 4];
  if(u == silent_unit || u < 0 || u > 255 || !maps[u])
    return;
  if(slow_ms > 0)
    usleep((useconds_t)slow_ms * 1000u);
  if(busy_left > 0) {
    busy_left--;
    (void)modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_SLAVE_OR_SERVER_BUSY);
    return;
  }
  if(exc_addr >= 0 && fc == 3 && addr <= exc_addr && exc_addr < addr + cnt) {
    (void)modbus_reply_exception(ctx, q, (unsigned)exc_code);
    return;
  }
  (void)modbus_reply(ctx, q, len, maps[u]);
}

/*
 * RTU: frames are read here rather than with modbus_receive(), which drops
 * requests to other unit ids and then swallows the next frame as "the other
 * server's confirmation". Read requests (function codes 1..4) are 8 bytes;
 * a pause of 20 ms starts a new frame.
 */
static int serve_rtu(const char *path, int first_unit)
{
  modbus_t *ctx = modbus_new_rtu(path, 19200, 'N', 8, 1);
  uint8_t q[MODBUS_RTU_MAX_ADU_LENGTH];
  size_t have = 0;
  int fd;
  if(ctx && getenv("RTU_SERVER_DEBUG"))
    modbus_set_debug(ctx, TRUE);
  if(!ctx || modbus_set_slave(ctx, first_unit) || modbus_connect(ctx)) {
    fprintf(stderr, "rtu_server: %s: %s\n", path, modbus_strerror(errno));
    return 1;
  }
  fd = modbus_get_socket(ctx);
  printf("ready\n");
  fflush(stdout);
  for(;;) {
    struct pollfd pfd = {fd, POLLIN, 0};
    ssize_t n;
    if(poll(&pfd, 1, have ? 20 : -1) == 0) {
      have = 0; /* a pause: whatever came was not a whole request */
      continue;
    }
    n = read(fd, q + have, 8 - have);
    if(n <= 0) {
      usleep(10000);
      continue;
    }
    have += (size_t)n;
    if(have < 8)
      continue;
    have = 0;
    if(q[1] >= 1 && q[1] <= 4 && crc16(q, 6) == (uint16_t)(q[6] | (q[7] << 8)) && maps[q[0]]) {
      modbus_set_slave(ctx, q[0]);
      answer(ctx, q, 8, 1, q[0]);
    }
  }
}

static int serve_tcp(int port)
{
  modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
  uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
  int ls, clients[64], nc = 0, i;
  if(!ctx || (ls = modbus_tcp_listen(ctx, 16)) < 0) {
    fprintf(stderr, "rtu_server: tcp %d: %s\n", port, modbus_strerror(errno));
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  for(;;) {
    fd_set rd;
    int mx = ls;
    FD_ZERO(&rd);
    FD_SET(ls, &rd);
    for(i = 0; i < nc; i++) {
      FD_SET(clients[i], &rd);
      if(clients[i] > mx)
        mx = clients[i];
    }
    if(select(mx + 1, &rd, NULL, NULL, NULL) < 0)
      continue;
    if(FD_ISSET(ls, &rd)) {
      int c = modbus_tcp_accept(ctx, &ls);
      if(c >= 0 && c < FD_SETSIZE && nc < 64)
        clients[nc++] = c;
      else if(c >= 0)
        close(c);
    }
    for(i = 0; i < nc; i++) {
      int n;
      if(!FD_ISSET(clients[i], &rd))
        continue;
      modbus_set_socket(ctx, clients[i]);
      n = modbus_receive(ctx, q);
      if(n > 0)
        answer(ctx, q, n, modbus_get_header_length(ctx), q[modbus_get_header_length(ctx) - 1]);
      else if(n < 0) {
        close(clients[i]);
        clients[i--] = clients[--nc];
      }
    }
  }
}

int main(int argc, char **argv)
{
  const char *rtu = NULL;
  int tcp = 0, i, first = -1;
  char units[64] = "1";
  signal(SIGPIPE, SIG_IGN);
  for(i = 1; i + 1 < argc; i += 2) {
    if(!strcmp(argv[i], "--rtu"))
      rtu = argv[i + 1];
    else if(!strcmp(argv[i], "--tcp"))
      tcp = (int)strtol(argv[i + 1], NULL, 10);
    else if(!strcmp(argv[i], "--units"))
      snprintf(units, sizeof(units), "%s", argv[i + 1]);
    else if(!strcmp(argv[i], "--busy"))
      busy_left = (int)strtol(argv[i + 1], NULL, 10);
    else if(!strcmp(argv[i], "--exception")) {
      char *at;
      exc_code = (int)strtol(argv[i + 1], &at, 10);
      exc_addr = *at == '@' ? (int)strtol(at + 1, NULL, 10) : 0;
    }
    else if(!strcmp(argv[i], "--silent-unit"))
      silent_unit = (int)strtol(argv[i + 1], NULL, 10);
    else if(!strcmp(argv[i], "--slow"))
      slow_ms = (int)strtol(argv[i + 1], NULL, 10);
    else {
      fprintf(stderr, "rtu_server: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  {
    char *p = units;
    while(*p) {
      int u = (int)strtol(p, &p, 10);
      if(u >= 0 && u < 256) {
        make_unit(u);
        if(first < 0)
          first = u;
      }
      if(*p == ',')
        p++;
      else
        break;
    }
  }
  if(first < 0 || (!rtu && !tcp)) {
    fprintf(stderr, "usage: rtu_server (--rtu PATH | --tcp PORT) [--units 1,2] [--busy N] "
                    "[--exception CODE@ADDR] [--silent-unit U] [--slow MS]\n");
    return 2;
  }
  return rtu ? serve_rtu(rtu, first) : serve_tcp(tcp);
}
