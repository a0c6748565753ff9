/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Approval by email end to end (SPEC 10): a core with a virtual clock, the
 * real HTTP server, a temp store, and aiosmtpd (Debian's python3-aiosmtpd)
 * as the mail server on a free loopback port storing into a Maildir. Each
 * mail is parsed by Python's email package (tests/test_approve_mime.py).
 * The tests run in order and share one gateway; each uses its own orders.
 *
 * `test_approve --serve SECONDS OUTDIR` serves a gateway with one pending
 * order whose approval mail went to OUTDIR/mail (file:// transport); prints
 * "BASE url", "NAMED url" (the same server as http://gw.test:PORT, a name
 * it allows), "ORDER id" and "MAIL file" lines, then serves (the browser
 * test, tests/browser/approve.mjs).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "gateway/approve.h"
#include "base/clock.h"
#include "gateway/daemon.h"
#include "gateway/web/http.h"
#include "base/log.h"
#include "gateway/pipeline.h"
#include "gateway/store.h"
#include "gateway/token.h"
#include "tests/fake_adapter.h"
#include "tests/testhttp.h"
#include "tests/testutil.h"

#ifndef MIME_CHECK
#error "MIME_CHECK must name tests/test_approve_mime.py"
#endif

#define HOUR_MS 3600000LL
#define UA      "restock-approve-test/1"

struct tenv {
  char dir[64];
  char db[128];
  char maildir[128]; /* aiosmtpd's Maildir */
  int logfd;
  char logpath[160];
  struct store *st;
  struct rs_clock *clk;
  struct daemon_core *core;
  struct http_server *srv;
  CURLM *multi;
  struct fake_plant plant;
  pid_t smtp_pid;
  uint16_t smtp_port;
  int smtp_hold; /* holds smtp_port (reserve_port()); -1: none */
  int64_t t0;
  unsigned n_orders;
  char o1[STORE_ORDER_ID_MAX + 1]; /* approved through the link */
  char link_anna[512], link_bob[512];
  char cookie[128], csrf[128];
};

static struct tenv E;

/* --serve: the gateway also answers as http://gw.test:PORT (the browser maps
   gw.test to 127.0.0.1), a host name on plain HTTP, as on a plant's network;
   a name beyond loopback in allowed_hosts needs http.admin */
static bool serve_named;

/* ---- set-up ------------------------------------------------------------- */

static void write_file(const char *path, const char *text, mode_t mode)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_true(fputs(text, f) >= 0);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(path, mode), 0);
}

/* An admin password hash (crypt(3), SHA-512) for --serve's http.admin; nobody logs in. */
#define ADMIN_HASH                                                                               \
  "$6$restockhttptest$99zfKbE1EQ2zTAw79bENn271/TaObzjitjqHlUEV/m0DXhRFLKANldwcUdGHJdFCE7O6mL7u" \
  "qs5dywcIyaQxg."

/* A config dir under E.dir named name, mailing through smtp_url. */
static void write_config(const char *name, const char *smtp_url, const char *starttls,
                         char *cfgdir, size_t size)
{
  char path[256];
  struct rs_buf y = {0};
  assert_int_equal(rs_snprintf(cfgdir, size, "%s/%s", E.dir, name), 0);
  assert_int_equal(mkdir(cfgdir, 0700), 0);
  if(serve_named) {
    assert_int_equal(rs_snprintf(path, sizeof(path), "%s/admin.hash", cfgdir), 0);
    write_file(path, ADMIN_HASH "\n", 0600);
  }
  rs_buf_printf(&y,
                "gateway:\n  id: plant-7-gw-2\n  site: \"Plant 7, Hall B\"\n"
                "http:\n  listen: 127.0.0.1:18080\n  public_url: https://gw.example/\n%s"
                "storage:\n  path: %s\n"
                "mail:\n  smtp_url: %s\n%s  from: \"restock <restock@plant7.example>\"\n"
                "orders:\n  currency: EUR\n  approval:\n    require_over_value: \"40.00\"\n"
                "    approvers: [anna@example.com, bob@example.com]\n"
                "    link_ttl: 72h\n    remind_before: 12h\n"
                "catalog:\n"
                "  - {sku: WF-1, supplier: acme, unit_price: \"7.40\", currency: EUR, lead_time: 2d}\n"
                "  - {sku: UV-LAMP, supplier: acme, unit_price: \"99.00\", currency: EUR}\n"
                "suppliers:\n  - {id: acme}\n",
                serve_named ? "  allowed_hosts: [127.0.0.1, localhost, gw.test]\n"
                          "  admin: {user: admin, password_hash_file: admin.hash}\n"
                        : "",
                E.db, smtp_url, starttls);
  assert_false(y.oom);
  assert_int_equal(rs_snprintf(path, sizeof(path), "%s/restock.yaml", cfgdir), 0);
  write_file(path, y.data, 0644);
  rs_buf_free(&y);
}

static struct cfg *load_config(const char *dir)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  int nerr = cfg_load(dir, &cfg, &diags);
  if(nerr)
    cfg_diags_print(&diags, stderr);
  cfg_diags_free(&diags);
  assert_int_equal(nerr, 0);
  return cfg;
}

/*
 * A loopback TCP port held for the test (as tests/testports.py does): bound
 * with SO_REUSEADDR and SO_REUSEPORT and never listened on, its socket kept in
 * *hold until env_close(), so no other port-0 bind takes it while aiosmtpd
 * (SO_REUSEADDR) can listen on it.
 */
static uint16_t reserve_port(int *hold)
{
  struct sockaddr_in a;
  socklen_t sl = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_true(fd >= 0);
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
  *hold = fd;
  return ntohs(a.sin_port);
}

static bool port_open(uint16_t port)
{
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM, 0), rc;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
  close(fd);
  return rc == 0;
}

/* Start aiosmtpd (no TLS) on E.smtp_port storing into E.maildir; wait until it listens. */
static void smtp_start(void)
{
  char listen_arg[64];
  int i;
  assert_int_equal(rs_snprintf(listen_arg, sizeof(listen_arg), "127.0.0.1:%u",
                               (unsigned)E.smtp_port),
                   0);
  E.smtp_pid = fork();
  assert_true(E.smtp_pid >= 0);
  if(E.smtp_pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    if(devnull >= 0) {
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n", "-l", listen_arg, "-c",
          "aiosmtpd.handlers.Mailbox", E.maildir, (char *)NULL);
    _exit(127);
  }
  for(i = 0; i < 200 && !port_open(E.smtp_port); i++)
    usleep(50000);
  assert_true(port_open(E.smtp_port));
}

static void smtp_stop(void)
{
  int st;
  if(E.smtp_pid <= 0)
    return;
  kill(E.smtp_pid, SIGTERM);
  waitpid(E.smtp_pid, &st, 0);
  E.smtp_pid = 0;
}

static void env_open(const char *smtp_url)
{
  char err[256], cfgdir[128], url[128];
  struct http_env he;

  memset(&E, 0, sizeof(E));
  E.smtp_hold = -1;
  assert_int_equal(rs_strlcpy(E.dir, "/tmp/restock-approve-XXXXXX", sizeof(E.dir)), 0);
  assert_non_null(mkdtemp(E.dir));
  assert_int_equal(rs_snprintf(E.db, sizeof(E.db), "%s/restock.db", E.dir), 0);
  assert_int_equal(rs_snprintf(E.maildir, sizeof(E.maildir), "%s/maildir", E.dir), 0);
  assert_int_equal(rs_snprintf(E.logpath, sizeof(E.logpath), "%s/log", E.dir), 0);
  E.logfd = open(E.logpath, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  assert_true(E.logfd >= 0);
  log_set_fd(E.logfd);
  log_set_level(LOG_LVL_DEBUG);
  if(!smtp_url) {
    E.smtp_port = reserve_port(&E.smtp_hold);
    assert_int_equal(rs_snprintf(url, sizeof(url), "smtp://127.0.0.1:%u", (unsigned)E.smtp_port),
                     0);
    smtp_url = url;
  }
  write_config("etc", smtp_url, strncmp(smtp_url, "smtp:", 5) ? "" : "  starttls: off\n", cfgdir,
               sizeof(cfgdir));
  assert_int_equal(store_open(E.db, &E.st, err, sizeof(err)), RS_OK);
  E.t0 = clock_real_wall_ms() / 60000 * 60000;
  E.clk = clock_new_virtual(E.t0);
  assert_non_null(E.clk);
  E.core = daemon_core_new(load_config(cfgdir), E.st, E.clk, fake_adapter_lookup, &E.plant);
  assert_non_null(E.core);
  memset(&he, 0, sizeof(he));
  daemon_core_http_view(E.core, &he.core);
  he.st = E.st;
  he.clk = E.clk;
  he.listen = "127.0.0.1:0";
  E.srv = http_server_start(&he, err, sizeof(err));
  if(!E.srv)
    fprintf(stderr, "http_server_start: %s\n", err);
  assert_non_null(E.srv);
  E.multi = curl_multi_init();
  assert_non_null(E.multi);
  approve_set_backoff(100, 1000);
}

static void rm_rf(const char *dir)
{
  char cmd[256];
  if(!rs_snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir))
    (void)!system(cmd);
}

static void env_close(void)
{
  smtp_stop();
  if(E.smtp_hold >= 0)
    close(E.smtp_hold);
  if(E.multi)
    curl_multi_cleanup(E.multi);
  http_server_stop(E.srv);
  daemon_core_free(E.core);
  store_close(E.st);
  clock_free(E.clk);
  log_set_fd(2);
  close(E.logfd);
  if(!getenv("RESTOCK_KEEP"))
    rm_rf(E.dir);
}

static int group_setup(void **state)
{
  (void)state;
  env_open(NULL);
  smtp_start();
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  env_close();
  return 0;
}

/* ---- orders -------------------------------------------------------------- */

static const struct cfg *cfg_now(void)
{
  return daemon_core_config(E.core);
}

static void add_line(const char *order, const char *consumable, const char *sku, int64_t qty,
                     int64_t price, int64_t now)
{
  struct store_order_line l;
  int64_t id = 0;
  memset(&l, 0, sizeof(l));
  l.consumable = (char *)(uintptr_t)consumable;
  l.sku = (char *)(uintptr_t)sku;
  l.quantity = qty;
  l.unit_price = price;
  memcpy(l.currency, "EUR", 4);
  l.rule = (char *)(uintptr_t) "filters-before-empty";
  l.figures_json = (char *)(uintptr_t) "{\"level_pct\":12.5,\"days_left\":3.2}";
  l.created_ms = now;
  assert_int_equal(store_add_order_line(E.st, &l, &id), RS_OK);
  assert_int_equal(store_attach_line(E.st, id, order), RS_OK);
}

/* A pending order of qty x WF-1 (7.40 EUR) with its approval reason, as the pipeline leaves it. */
static void pending_order(int64_t qty, char *id)
{
  char cons[64], key[128];
  int64_t now = clock_wall_ms(E.clk);
  E.n_orders++;
  assert_int_equal(store_create_order(E.st, "acme", "EUR", qty * 740, now, "system", "batch",
                                      id, STORE_ORDER_ID_MAX + 1),
                   RS_OK);
  assert_int_equal(rs_snprintf(cons, sizeof(cons), "tank-%02u/water-filter", E.n_orders), 0);
  add_line(id, cons, "WF-1", qty, 740, now);
  assert_int_equal(store_transition_order(E.st, id, STORE_ORDER_DRAFT,
                                          STORE_ORDER_PENDING_APPROVAL, "system",
                                          "needs approval", now),
                   RS_OK);
  assert_int_equal(rs_snprintf(key, sizeof(key), "%s%s", PIPELINE_META_REASONS, id), 0);
  assert_int_equal(store_meta_set(E.st, key,
                                  "[\"total over require_over_value 40.00 EUR\"]"),
                   RS_OK);
}

/* The state of order id in the test's store. */
static enum store_order_state state_of(const char *id)
{
  return tu_order_state(E.st, id);
}

/* ---- the database as a user would look at it ----------------------------- */

static int concat_row(void *ud, int n, char **vals, char **names)
{
  int i;
  (void)names;
  for(i = 0; i < n; i++) {
    rs_buf_puts(ud, vals[i] ? vals[i] : "NULL");
    rs_buf_puts(ud, "|");
  }
  rs_buf_puts(ud, "\n");
  return 0;
}

/* Everything a decision could touch, as text (own connection, like sqlite3(1)). */
static void snapshot(struct rs_buf *out)
{
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(E.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  rs_buf_puts(out, "");
  assert_int_equal(sqlite3_exec(db,
                                "SELECT * FROM orders ORDER BY id; SELECT * FROM approvals ORDER BY id;"
                                " SELECT count(*) FROM transitions; SELECT count(*) FROM audit;"
                                " SELECT id, attempts, sent_ms FROM mail_outbox ORDER BY id;",
                                concat_row, out, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
}

/* The database as snapshot() shows it now must equal before (freed, as is the snapshot). */
static void assert_unchanged(struct rs_buf *before)
{
  struct rs_buf after = {0};
  snapshot(&after);
  assert_string_equal(before->data, after.data);
  rs_buf_free(before);
  rs_buf_free(&after);
}

static int64_t sql_int(const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL;
  int64_t v = -1;
  assert_int_equal(sqlite3_open_v2(E.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
  if(sqlite3_step(s) == SQLITE_ROW)
    v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

static void sql_text(const char *sql, char *out, size_t size)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL;
  out[0] = '\0';
  assert_int_equal(sqlite3_open_v2(E.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
  if(sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
    (void)rs_strlcpy(out, (const char *)sqlite3_column_text(s, 0), size);
  sqlite3_finalize(s);
  sqlite3_close(db);
}

static bool log_has(const char *needle)
{
  FILE *f = fopen(E.logpath, "r");
  char line[2048];
  bool found = false;
  assert_non_null(f);
  while(!found && fgets(line, sizeof(line), f))
    found = strstr(line, needle) != NULL;
  fclose(f);
  return found;
}

/* ---- mail ----------------------------------------------------------------- */

/* Run the MIME checker on file; its JSON (caller decrefs). */
static json_t *mime_check(const char *file)
{
  char cmd[512];
  assert_int_equal(rs_snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s '%s'", MIME_CHECK, file), 0);
  return tu_command_json(cmd);
}

/* Whether file is an approval mail (multipart/alternative with a link; an expiry notice is
   plain text and is not checked as one). */
static bool is_approval_mail(const char *file)
{
  FILE *f = fopen(file, "r");
  char line[1024];
  bool found = false;
  if(!f)
    return false;
  while(!found && fgets(line, sizeof(line), f) && line[0] != '\r' && line[0] != '\n')
    found = strstr(line, "multipart/alternative") != NULL;
  fclose(f);
  return found;
}

/* Approval mails in dir whose decoded subject names order id: their JSON in out (up to max). */
static size_t mails_for(const char *dir, const char *id, json_t **out, size_t max)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  size_t n = 0;
  if(!d)
    return 0;
  while((de = readdir(d))) {
    char file[512];
    json_t *j;
    if(de->d_name[0] == '.')
      continue;
    assert_int_equal(rs_snprintf(file, sizeof(file), "%s/%s", dir, de->d_name), 0);
    if(!is_approval_mail(file))
      continue;
    j = mime_check(file);
    if(strstr(json_string_value(json_object_get(j, "subject")), id) && n < max)
      out[n++] = j;
    else
      json_decref(j);
  }
  closedir(d);
  return n;
}

static const char *mail_to(json_t *j)
{
  return json_string_value(json_object_get(j, "to"));
}

static const char *mail_link(json_t *j)
{
  return json_string_value(json_array_get(json_object_get(j, "links"), 0));
}

static void maildir_new(char *out, size_t size)
{
  assert_int_equal(rs_snprintf(out, size, "%s/new", E.maildir), 0);
}

/* ---- HTTP client ---------------------------------------------------------- */

/*
 * method on path (the link's path), with cookie, form body and one more
 * header line ("Referer: ...") when given.
 */
static void request_with(const char *method, const char *path, const char *cookie,
                         const char *body, const char *extra, struct tu_resp *r)
{
  char ch[200];
  const char *headers[3] = {NULL, NULL, NULL};
  size_t n = 0;
  struct tu_req q = {.body = body, .ua = UA, .headers = headers};
  if(cookie) {
    assert_int_equal(rs_snprintf(ch, sizeof(ch), "Cookie: %s", cookie), 0);
    headers[n++] = ch;
  }
  if(extra)
    headers[n++] = extra;
  tu_http_request(E.multi, E.srv, method, path, &q, r, NULL, NULL);
}

/* method on path (the link's path), with cookie and form body when given. */
static void request(const char *method, const char *path, const char *cookie, const char *body,
                    struct tu_resp *r)
{
  request_with(method, path, cookie, body, NULL, r);
}

/* "Referer: http://127.0.0.1:PORT<path>": what a browser sends with our page's form. */
static void own_referer(const char *path, char *out, size_t size)
{
  assert_int_equal(rs_snprintf(out, size, "Referer: http://127.0.0.1:%u%s",
                               (unsigned)http_server_port(E.srv), path),
                   0);
}

/* The path of a link "https://gw.example/approve/T" -> "/approve/T". */
static const char *path_of(const char *link)
{
  const char *p = strstr(link, "/approve/");
  assert_non_null(p);
  return p;
}

/* "restock_session=HEX" from a response's Set-Cookie into out. */
static void cookie_of(const struct tu_resp *r, char *out, size_t size)
{
  const char *p = strstr(r->head.data, "restock_session=");
  size_t n;
  assert_non_null(p);
  n = strcspn(p, ";\r\n");
  assert_true(n < size);
  memcpy(out, p, n);
  out[n] = '\0';
}

/* The hidden csrf field of a page into out. */
static void csrf_of(const struct tu_resp *r, char *out, size_t size)
{
  const char *p = strstr(r->body.data, "name=\"csrf\" value=\"");
  size_t n;
  assert_non_null(p);
  p += strlen("name=\"csrf\" value=\"");
  n = strcspn(p, "\"");
  assert_true(n > 0 && n < size);
  memcpy(out, p, n);
  out[n] = '\0';
}

/* GET path in a fresh session: its cookie and the form's CSRF token into E. */
static void open_page(const char *path)
{
  struct tu_resp g;
  request("GET", path, NULL, NULL, &g);
  assert_int_equal(g.status, 200);
  cookie_of(&g, E.cookie, sizeof(E.cookie));
  csrf_of(&g, E.csrf, sizeof(E.csrf));
  tu_resp_free(&g);
}

/*
 * GET path in a fresh session, then POST the page's form with decision, as
 * a browser does: with the page as its Referer (no Origin: the Referer is
 * what is left when a browser or a privacy tool drops Origin).
 */
static void decide_via_page(const char *path, const char *decision, struct tu_resp *r)
{
  char body[300], referer[600];
  open_page(path);
  assert_int_equal(rs_snprintf(body, sizeof(body), "csrf=%s&decision=%s", E.csrf, decision), 0);
  own_referer(path, referer, sizeof(referer));
  request_with("POST", path, E.cookie, body, referer, r);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_mail_arrives_valid_mime_one_per_approver(void **state)
{
  char dir[160], subject[256];
  json_t *m[4];
  size_t n, i;
  (void)state;
  pending_order(10, E.o1);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), clock_wall_ms(E.clk), 1.0), RS_OK);
  /* one link and one mail per approver, both sent */
  assert_int_equal(sql_int("SELECT count(*) FROM approvals"), 2);
  assert_int_equal(sql_int("SELECT count(*) FROM mail_outbox WHERE sent_ms IS NOT NULL"), 2);
  maildir_new(dir, sizeof(dir));
  n = mails_for(dir, E.o1, m, 4);
  assert_int_equal(n, 2);
  assert_int_equal(rs_snprintf(subject, sizeof(subject),
                               "[restock plant-7-gw-2 \xc2\xb7 Plant 7, Hall B] Approval needed: "
                               "order %s (\xe2\x82\xac"
                               "74.00)",
                               E.o1),
                   0);
  for(i = 0; i < n; i++) {
    const char *text = json_string_value(json_object_get(m[i], "text"));
    assert_string_equal(json_string_value(json_object_get(m[i], "subject")), subject);
    assert_non_null(strstr(json_string_value(json_object_get(m[i], "message_id")),
                           "@plant-7-gw-2>"));
    assert_int_equal(strncmp(mail_link(m[i]), "https://gw.example/approve/", 27), 0);
    /* lines, total, reason with rule and figures */
    assert_non_null(strstr(text, "10 x WF-1"));
    assert_non_null(strstr(text, "Total: 74.00 EUR"));
    assert_non_null(strstr(text, "total over require_over_value 40.00 EUR"));
    assert_non_null(strstr(text, "rule filters-before-empty: level_pct 12.5, days_left 3.2"));
    if(strstr(mail_to(m[i]), "anna@example.com"))
      assert_int_equal(rs_strlcpy(E.link_anna, mail_link(m[i]), sizeof(E.link_anna)), 0);
    else if(strstr(mail_to(m[i]), "bob@example.com"))
      assert_int_equal(rs_strlcpy(E.link_bob, mail_link(m[i]), sizeof(E.link_bob)), 0);
    json_decref(m[i]);
  }
  assert_true(E.link_anna[0] && E.link_bob[0]);
  assert_string_not_equal(E.link_anna, E.link_bob);
  /* a second tick sends nothing new */
  assert_int_equal(approve_tick_at(E.st, cfg_now(), clock_wall_ms(E.clk), 1.0), RS_OK);
  assert_int_equal(sql_int("SELECT count(*) FROM mail_outbox"), 2);
}

static void test_get_changes_nothing(void **state)
{
  struct rs_buf before = {0}, after = {0};
  struct tu_resp r;
  int i;
  (void)state;
  snapshot(&before);
  for(i = 0; i < 2; i++) {
    request("GET", path_of(E.link_anna), NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.data, E.o1));
    assert_non_null(strstr(r.body.data, "74.00 EUR"));
    assert_non_null(strstr(r.body.data, "total over require_over_value 40.00 EUR"));
    assert_non_null(strstr(r.body.data, "anna@example.com, bob@example.com"));
    assert_non_null(strstr(r.body.data, "id=\"month-spend\">")); /* SPEC 8 */
    assert_non_null(strstr(r.body.data, "method=\"post\""));
    assert_non_null(strstr(r.body.data, "value=\"approve\""));
    assert_non_null(strstr(r.body.data, "value=\"reject\""));
    assert_non_null(strstr(r.head.data, "Content-Security-Policy"));
    tu_resp_free(&r);
  }
  request("HEAD", path_of(E.link_bob), NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  tu_resp_free(&r);
  snapshot(&after);
  assert_string_equal(before.data, after.data);
  assert_int_equal(state_of(E.o1), STORE_ORDER_PENDING_APPROVAL);
  assert_int_equal(sql_int("SELECT count(*) FROM approvals WHERE used_at_ms IS NOT NULL"), 0);
  rs_buf_free(&before);
  rs_buf_free(&after);
}

static void test_post_without_csrf_is_403(void **state)
{
  struct rs_buf before = {0};
  struct tu_resp r, g;
  (void)state;
  snapshot(&before);
  request("POST", path_of(E.link_anna), NULL, "decision=approve", &r);
  assert_int_equal(r.status, 403);
  assert_non_null(strstr(r.body.data, "security token"));
  tu_resp_free(&r);
  /* a session, but a CSRF token that is not this page's */
  request("GET", path_of(E.link_anna), NULL, NULL, &g);
  cookie_of(&g, E.cookie, sizeof(E.cookie));
  tu_resp_free(&g);
  request("POST", path_of(E.link_anna), E.cookie,
          "csrf=0000000000000000000000000000000000000000000000000000000000000000&decision=approve",
          &r);
  assert_int_equal(r.status, 403);
  tu_resp_free(&r);
  assert_unchanged(&before);
}

/*
 * Another site's page posting the approval form (its own copy, with a token
 * and cookie it got somehow): refused before the token is looked at, when
 * the browser names that page as the Origin or, without Origin, as the
 * Referer; "Origin: null" (another site's page under "no-referrer")
 * without Sec-Fetch-Site is refused too. Nothing changes.
 */
static void test_cross_site_post_is_403(void **state)
{
  struct rs_buf before = {0};
  struct tu_resp r;
  char body[300];
  static const char *const cross[] = {"Referer: http://evil.example/phish.html",
                                      "Origin: http://evil.example", "Origin: null",
                                      "Referer: https://127.0.0.1.evil.example/approve/x"};
  size_t i;
  (void)state;
  snapshot(&before);
  open_page(path_of(E.link_anna));
  assert_int_equal(rs_snprintf(body, sizeof(body), "csrf=%s&decision=approve", E.csrf), 0);
  for(i = 0; i < RS_ARRAY_LEN(cross); i++) {
    request_with("POST", path_of(E.link_anna), E.cookie, body, cross[i], &r);
    if(r.status != 403 || !strstr(r.body.data, "Cross-site requests are refused"))
      fail_msg("%s: %ld, %s", cross[i], r.status, r.body.data);
    tu_resp_free(&r);
  }
  assert_unchanged(&before);
  assert_int_equal(state_of(E.o1), STORE_ORDER_PENDING_APPROVAL);
}

static void test_forged_and_altered_are_403(void **state)
{
  struct rs_buf before = {0};
  char path[512], tok[TOKEN_TEXT_MAX + 1];
  unsigned char key[TOKEN_KEY_LEN], lh[TOKEN_HASH_LEN];
  struct store_order_full *o = NULL;
  struct tu_resp r;
  size_t n;
  (void)state;
  snapshot(&before);
  /* altered: one character of the token changed */
  assert_int_equal(rs_strlcpy(path, path_of(E.link_anna), sizeof(path)), 0);
  n = strlen(path);
  path[n - 10] = path[n - 10] == 'x' ? 'y' : 'x';
  request("GET", path, NULL, NULL, &r);
  assert_int_equal(r.status, 403);
  assert_non_null(strstr(r.body.data, "not valid"));
  tu_resp_free(&r);
  request("POST", path, NULL, "decision=approve", &r);
  assert_int_equal(r.status, 403);
  tu_resp_free(&r);
  /* forged: a well-formed token for the same order, signed with another key */
  memset(key, 7, sizeof(key));
  assert_int_equal(store_get_order(E.st, E.o1, &o), RS_OK);
  token_lines_hash(o->lines, o->n_lines, lh);
  assert_int_equal(token_make(key, E.o1, lh, "anna@example.com", INT64_MAX / 2, tok, sizeof(tok)),
                   0);
  store_order_full_free(o);
  assert_int_equal(rs_snprintf(path, sizeof(path), "/approve/%s", tok), 0);
  request("GET", path, NULL, NULL, &r);
  assert_int_equal(r.status, 403);
  tu_resp_free(&r);
  assert_unchanged(&before);
}

static void test_post_approve_moves_order(void **state)
{
  struct tu_resp r;
  char v[256];
  (void)state;
  decide_via_page(path_of(E.link_anna), "approve", &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body.data, "Order approved"));
  tu_resp_free(&r);
  assert_int_equal(state_of(E.o1), STORE_ORDER_APPROVED);
  /* the approval row: who, when, from where, with what */
  sql_text("SELECT decided_by || ' ' || decision || ' ' || source || ' ' || user_agent"
           " FROM approvals WHERE used_at_ms IS NOT NULL",
           v, sizeof(v));
  assert_string_equal(v, "anna@example.com approve 127.0.0.1 " UA);
  assert_int_equal(sql_int("SELECT count(*) FROM approvals WHERE used_at_ms IS NOT NULL"), 1);
  sql_text("SELECT actor || ' ' || detail FROM audit WHERE action = 'approval_link'", v, sizeof(v));
  assert_non_null(strstr(v, "approver:anna@example.com"));
  assert_non_null(strstr(v, "user agent " UA));
  sql_text("SELECT actor FROM transitions ORDER BY id DESC LIMIT 1", v, sizeof(v));
  assert_string_equal(v, "approver:anna@example.com");
}

static void test_replayed_and_decided_are_410(void **state)
{
  struct rs_buf before = {0};
  struct tu_resp r;
  char body[300];
  (void)state;
  snapshot(&before);
  /* the very same POST again */
  assert_int_equal(rs_snprintf(body, sizeof(body), "csrf=%s&decision=reject", E.csrf), 0);
  request("POST", path_of(E.link_anna), E.cookie, body, &r);
  assert_int_equal(r.status, 410);
  assert_non_null(strstr(r.body.data, "already used"));
  tu_resp_free(&r);
  request("GET", path_of(E.link_anna), NULL, NULL, &r);
  assert_int_equal(r.status, 410);
  tu_resp_free(&r);
  /* the other approver's link: the order is no longer pending */
  request("GET", path_of(E.link_bob), NULL, NULL, &r);
  assert_int_equal(r.status, 410);
  assert_non_null(strstr(r.body.data, "approved now"));
  tu_resp_free(&r);
  assert_unchanged(&before);
  assert_int_equal(state_of(E.o1), STORE_ORDER_APPROVED);
}

static void test_reject_and_expired(void **state)
{
  char id[STORE_ORDER_ID_MAX + 1], id2[STORE_ORDER_ID_MAX + 1], dir[160];
  json_t *m[4];
  struct tu_resp r;
  struct rs_buf before = {0}, after = {0};
  size_t n, i;
  int64_t t = clock_wall_ms(E.clk);
  (void)state;
  pending_order(11, id);
  pending_order(12, id2);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t, 1.0), RS_OK);
  maildir_new(dir, sizeof(dir));
  /* rejected through bob's link */
  n = mails_for(dir, id, m, 4);
  assert_int_equal(n, 2);
  for(i = 0; i < n; i++) {
    if(strstr(mail_to(m[i]), "bob@")) {
      decide_via_page(path_of(mail_link(m[i])), "reject", &r);
      assert_int_equal(r.status, 200);
      assert_non_null(strstr(r.body.data, "Order rejected"));
      tu_resp_free(&r);
    }
    json_decref(m[i]);
  }
  assert_int_equal(state_of(id), STORE_ORDER_REJECTED);
  /* expired: 73 h later on the virtual clock, the link no longer decides */
  n = mails_for(dir, id2, m, 4);
  assert_int_equal(n, 2);
  clock_advance(E.clk, 73 * HOUR_MS);
  snapshot(&before);
  request("GET", path_of(mail_link(m[0])), NULL, NULL, &r);
  assert_int_equal(r.status, 410);
  assert_non_null(strstr(r.body.data, "expired"));
  tu_resp_free(&r);
  snapshot(&after);
  assert_string_equal(before.data, after.data);
  /* a POST from a page shown before the expiry is refused too */
  clock_set_wall(E.clk, t);
  request("GET", path_of(mail_link(m[1])), NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  cookie_of(&r, E.cookie, sizeof(E.cookie));
  csrf_of(&r, E.csrf, sizeof(E.csrf));
  tu_resp_free(&r);
  clock_advance(E.clk, 73 * HOUR_MS);
  {
    char body[300];
    assert_int_equal(rs_snprintf(body, sizeof(body), "csrf=%s&decision=approve", E.csrf), 0);
    request("POST", path_of(mail_link(m[1])), E.cookie, body, &r);
  }
  assert_int_equal(r.status, 410);
  tu_resp_free(&r);
  assert_int_equal(state_of(id2), STORE_ORDER_PENDING_APPROVAL);
  for(i = 0; i < n; i++)
    json_decref(m[i]);
  clock_set_wall(E.clk, t);
  rs_buf_free(&before);
  rs_buf_free(&after);
}

struct expired_count {
  const char *order_id;
  int n;
  bool names_part;
};

static int count_expired(void *ud, const struct store_mail *m)
{
  struct expired_count *c = ud;
  if(!strcmp(m->kind, "expired") && m->order_id && !strcmp(m->order_id, c->order_id)) {
    c->n++;
    c->names_part = c->names_part || strstr(m->message, "expired without a decision") != NULL;
  }
  return 0;
}

/* SPEC 7: an expiry sends one mail to each approver naming the part, and only one. */
static void test_expiry_mails_once(void **state)
{
  char id[STORE_ORDER_ID_MAX + 1];
  struct expired_count c = {NULL, 0, false};
  int64_t t = clock_wall_ms(E.clk);
  (void)state;
  pending_order(14, id);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t, 1.0), RS_OK);
  assert_int_equal(store_transition_order(E.st, id, STORE_ORDER_PENDING_APPROVAL,
                                          STORE_ORDER_EXPIRED, "system", "no decision", t + 1),
                   RS_OK);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t + 2, 1.0), RS_OK);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t + 3, 1.0), RS_OK);
  c.order_id = id;
  assert_int_equal(store_mail_list(E.st, false, 0, 0, count_expired, &c), RS_OK);
  assert_int_equal(c.n, (int)cfg_now()->orders.approval.n_approvers);
  assert_true(c.names_part);
}

static void test_superseded_is_410_and_mailed_again(void **state)
{
  char id[STORE_ORDER_ID_MAX + 1], dir[160];
  json_t *m[8];
  struct tu_resp r;
  struct rs_buf before = {0}, after = {0};
  size_t n, i;
  char old_link[512];
  (void)state;
  pending_order(13, id);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), clock_wall_ms(E.clk), 1.0), RS_OK);
  maildir_new(dir, sizeof(dir));
  n = mails_for(dir, id, m, 8);
  assert_int_equal(n, 2);
  assert_int_equal(rs_strlcpy(old_link, mail_link(m[0]), sizeof(old_link)), 0);
  for(i = 0; i < n; i++)
    json_decref(m[i]);
  /* the order's lines change after the mail */
  add_line(id, "tank-99/uv-lamp", "UV-LAMP", 1, 9900, clock_wall_ms(E.clk));
  assert_int_equal(store_set_order_total(E.st, id, 13 * 740 + 9900, clock_wall_ms(E.clk)), RS_OK);
  snapshot(&before);
  request("GET", path_of(old_link), NULL, NULL, &r);
  assert_int_equal(r.status, 410);
  assert_non_null(strstr(r.body.data, "superseded"));
  tu_resp_free(&r);
  snapshot(&after);
  assert_string_equal(before.data, after.data);
  /* the next tick mails new links with the new lines */
  assert_int_equal(approve_tick_at(E.st, cfg_now(), clock_wall_ms(E.clk), 1.0), RS_OK);
  n = mails_for(dir, id, m, 8);
  assert_int_equal(n, 4);
  for(i = 0; i < n; i++) {
    if(strcmp(mail_link(m[i]), old_link) && strstr(mail_to(m[i]), "anna@")) {
      const char *text = json_string_value(json_object_get(m[i], "text"));
      if(strstr(text, "UV-LAMP")) {
        request("GET", path_of(mail_link(m[i])), NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        tu_resp_free(&r);
      }
    }
    json_decref(m[i]);
  }
  rs_buf_free(&before);
  rs_buf_free(&after);
}

static void test_reminder_before_expiry(void **state)
{
  char id[STORE_ORDER_ID_MAX + 1], dir[160];
  json_t *m[8];
  size_t n, i, reminders = 0;
  int64_t t = clock_wall_ms(E.clk);
  char first[512] = "";
  (void)state;
  pending_order(14, id);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t, 1.0), RS_OK);
  /* 59 h later: 13 h before expiry, no reminder yet; at 61 h (11 h before), one each */
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t + 59 * HOUR_MS, 1.0), RS_OK);
  assert_int_equal(sql_int("SELECT count(*) FROM mail_outbox WHERE kind = 'reminder'"), 0);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t + 61 * HOUR_MS, 1.0), RS_OK);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t + 62 * HOUR_MS, 1.0), RS_OK);
  assert_true(sql_int("SELECT count(*) FROM mail_outbox WHERE kind = 'reminder'") >= 2);
  maildir_new(dir, sizeof(dir));
  n = mails_for(dir, id, m, 8);
  assert_int_equal(n, 4);
  for(i = 0; i < n; i++) {
    const char *subj = json_string_value(json_object_get(m[i], "subject"));
    if(strstr(subj, "Reminder: Approval needed") && strstr(mail_to(m[i]), "anna@")) {
      reminders++;
      if(first[0]) /* the reminder carries the same link as the first mail */
        assert_string_equal(first, mail_link(m[i]));
      else
        assert_int_equal(rs_strlcpy(first, mail_link(m[i]), sizeof(first)), 0);
    }
    else if(strstr(mail_to(m[i]), "anna@")) {
      if(first[0])
        assert_string_equal(first, mail_link(m[i]));
      else
        assert_int_equal(rs_strlcpy(first, mail_link(m[i]), sizeof(first)), 0);
    }
    json_decref(m[i]);
  }
  assert_int_equal(reminders, 1);
}

static void test_smtp_down_delays_but_sends(void **state)
{
  char id[STORE_ORDER_ID_MAX + 1], dir[160], err[512];
  json_t *m[4];
  size_t n, i;
  int64_t t = clock_wall_ms(E.clk);
  (void)state;
  smtp_stop();
  pending_order(15, id);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t, 1.0), RS_OK);
  {
    char q[256];
    assert_int_equal(rs_snprintf(q, sizeof(q),
                                 "SELECT count(*) FROM mail_outbox WHERE order_id = '%s'"
                                 " AND sent_ms IS NULL AND attempts = 1 AND last_error IS NOT NULL",
                                 id),
                     0);
    assert_int_equal(sql_int(q), 2);
    sql_text("SELECT last_error FROM mail_outbox WHERE sent_ms IS NULL LIMIT 1", err, sizeof(err));
    assert_non_null(strstr(err, "127.0.0.1"));
  }
  /* still down at the next attempt: attempts grow, nothing is lost */
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t + 150, 1.0), RS_OK);
  assert_int_equal(sql_int("SELECT count(*) FROM mail_outbox WHERE sent_ms IS NULL AND attempts = 2"),
                   2);
  smtp_start();
  /* before the backoff has passed, nothing is tried */
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t + 160, 1.0), RS_OK);
  assert_int_equal(sql_int("SELECT count(*) FROM mail_outbox WHERE sent_ms IS NULL"), 2);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), t + 2000, 1.0), RS_OK);
  assert_int_equal(sql_int("SELECT count(*) FROM mail_outbox WHERE sent_ms IS NULL"), 0);
  maildir_new(dir, sizeof(dir));
  n = mails_for(dir, id, m, 4);
  assert_int_equal(n, 2); /* each once */
  for(i = 0; i < n; i++)
    json_decref(m[i]);
}

static void test_file_transport_writes_message(void **state)
{
  char cfgdir[128], outdir[160], url[200], id[STORE_ORDER_ID_MAX + 1];
  struct cfg *cfg;
  json_t *m[4];
  size_t n, i;
  (void)state;
  assert_int_equal(rs_snprintf(outdir, sizeof(outdir), "%s/outbox-files", E.dir), 0);
  assert_int_equal(mkdir(outdir, 0700), 0);
  assert_int_equal(rs_snprintf(url, sizeof(url), "file://%s", outdir), 0);
  write_config("etc-file", url, "", cfgdir, sizeof(cfgdir));
  cfg = load_config(cfgdir);
  pending_order(16, id);
  assert_int_equal(approve_tick_at(E.st, cfg, clock_wall_ms(E.clk), 1.0), RS_OK);
  n = mails_for(outdir, id, m, 4);
  assert_int_equal(n, 2);
  for(i = 0; i < n; i++) {
    assert_int_equal(strncmp(mail_link(m[i]), "https://gw.example/approve/", 27), 0);
    json_decref(m[i]);
  }
  cfg_free(cfg);
}

static void test_starttls_required_fails_clearly(void **state)
{
  char cfgdir[128], url[128], id[STORE_ORDER_ID_MAX + 1], q[300], err[600];
  struct cfg *cfg;
  (void)state;
  /* aiosmtpd here offers no STARTTLS; the default (required) must not send in clear */
  assert_int_equal(rs_snprintf(url, sizeof(url), "smtp://127.0.0.1:%u", (unsigned)E.smtp_port),
                   0);
  write_config("etc-tls", url, "", cfgdir, sizeof(cfgdir));
  cfg = load_config(cfgdir);
  assert_int_equal(cfg->mail.starttls, CFG_STARTTLS_REQUIRED);
  pending_order(17, id);
  assert_int_equal(approve_tick_at(E.st, cfg, clock_wall_ms(E.clk), 1.0), RS_OK);
  assert_int_equal(rs_snprintf(q, sizeof(q),
                               "SELECT last_error FROM mail_outbox WHERE order_id = '%s'"
                               " AND sent_ms IS NULL AND attempts = 1",
                               id),
                   0);
  sql_text(q, err, sizeof(err));
  assert_non_null(strstr(err, "does not offer STARTTLS"));
  assert_true(log_has("does not offer STARTTLS"));
  assert_int_equal(rs_snprintf(q, sizeof(q),
                               "SELECT count(*) FROM mail_outbox WHERE order_id = '%s'"
                               " AND sent_ms IS NULL",
                               id),
                   0);
  assert_int_equal(sql_int(q), 2);
  cfg_free(cfg);
}

static void test_secret_with_wide_mode_stops_the_start(void **state)
{
  char path[160], err[512];
  struct http_env he;
  struct http_server *srv;
  (void)state;
  assert_int_equal(rs_snprintf(path, sizeof(path), "%s/secret", E.dir), 0);
  assert_int_equal(chmod(path, 0644), 0);
  memset(&he, 0, sizeof(he));
  daemon_core_http_view(E.core, &he.core);
  he.st = E.st;
  he.clk = E.clk;
  he.listen = "127.0.0.1:0";
  srv = http_server_start(&he, err, sizeof(err));
  assert_null(srv);
  assert_non_null(strstr(err, path));
  assert_non_null(strstr(err, "chmod 600"));
  assert_int_equal(chmod(path, 0600), 0);
  srv = http_server_start(&he, err, sizeof(err));
  assert_non_null(srv);
  http_server_stop(srv);
}

/* ---- serve mode (the browser test) ------------------------------------------ */

static volatile sig_atomic_t serve_stop;

static void on_term(int sig)
{
  (void)sig;
  serve_stop = 1;
}

static int serve(int seconds, const char *outdir)
{
  char maildir[256], url[300], id[STORE_ORDER_ID_MAX + 1], file[600];
  int64_t end;
  DIR *d;
  struct dirent *de;
  assert_int_equal(rs_snprintf(maildir, sizeof(maildir), "%s/mail", outdir), 0);
  (void)mkdir(outdir, 0755);
  (void)mkdir(maildir, 0755);
  assert_int_equal(rs_snprintf(url, sizeof(url), "file://%s", maildir), 0);
  serve_named = true;
  env_open(url);
  pending_order(10, id);
  assert_int_equal(approve_tick_at(E.st, cfg_now(), clock_wall_ms(E.clk), 1.0), RS_OK);
  printf("BASE http://127.0.0.1:%u\nNAMED http://gw.test:%u\nORDER %s\n",
         (unsigned)http_server_port(E.srv), (unsigned)http_server_port(E.srv), id);
  d = opendir(maildir);
  assert_non_null(d);
  while((de = readdir(d))) {
    if(de->d_name[0] == '.')
      continue;
    assert_int_equal(rs_snprintf(file, sizeof(file), "%s/%s", maildir, de->d_name), 0);
    printf("MAIL %s\n", file);
  }
  closedir(d);
  printf("READY\n");
  fflush(stdout);
  {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
  }
  end = clock_real_mono_ms() + (int64_t)seconds * 1000;
  while(!serve_stop && clock_real_mono_ms() < end) {
    struct pollfd p = {.fd = http_server_fd(E.srv), .events = POLLIN};
    int64_t to = http_server_timeout_ms(E.srv);
    (void)poll(&p, 1, to > 100 ? 100 : (int)to);
    http_server_run(E.srv);
  }
  env_close();
  return 0;
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mail_arrives_valid_mime_one_per_approver),
      cmocka_unit_test(test_get_changes_nothing),
      cmocka_unit_test(test_expiry_mails_once),
      cmocka_unit_test(test_post_without_csrf_is_403),
      cmocka_unit_test(test_forged_and_altered_are_403),
      cmocka_unit_test(test_cross_site_post_is_403),
      cmocka_unit_test(test_post_approve_moves_order),
      cmocka_unit_test(test_replayed_and_decided_are_410),
      cmocka_unit_test(test_reject_and_expired),
      cmocka_unit_test(test_superseded_is_410_and_mailed_again),
      cmocka_unit_test(test_reminder_before_expiry),
      cmocka_unit_test(test_smtp_down_delays_but_sends),
      cmocka_unit_test(test_file_transport_writes_message),
      cmocka_unit_test(test_starttls_required_fails_clearly),
      cmocka_unit_test(test_secret_with_wide_mode_stops_the_start),
  };
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if(argc >= 4 && !strcmp(argv[1], "--serve")) {
    int64_t s = 0;
    if(rs_parse_i64(argv[2], false, 1, 86400, &s))
      return 2;
    return serve((int)s, argv[3]);
  }
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
