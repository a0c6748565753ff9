/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restockctl: the operator's command-line tool (SPEC section 2).
 * Each command is one entry in a table: name, handler, one-line help.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cli.h"
#include "base/log.h"
#include "base/rs_util.h"
#include "config/config.h"
#include "gateway/tools/check.h"
#include "gateway/tools/ctl.h"
#include "gateway/tools/probe.h"
#include "gateway/tools/replay.h"
#include "gateway/tools/ruletest.h"
#include "base/version.h"

struct ctl {
  const char *config_dir;
  const char *url; /* --url, or NULL: the config dir's http.listen (ctl_default_url) */
};

struct ctl_cmd {
  const char *name;
  int (*run)(struct ctl *ctl, int argc, char **argv);
  const char *args;
  const char *help;
  const char *usage; /* printed for `COMMAND --help`; NULL: the command answers it itself */
};

static int cmd_check(struct ctl *ctl, int argc, char **argv)
{
  (void)argv;
  if(argc > 1) {
    fprintf(stderr, "restockctl check: takes no arguments (use --config DIR)\n");
    return 2;
  }
  return check_config_dir(ctl->config_dir, stdout, stderr);
}

/* restockctl test-rules FILE...: rule unit tests (gateway/ruletest.h, docs/rules.md). */
static int cmd_test_rules(struct ctl *ctl, int argc, char **argv)
{
  (void)ctl;
  if(argc < 2 || !strcmp(argv[1], "--help")) {
    fprintf(argc < 2 ? stderr : stdout, "usage: restockctl test-rules FILE...\n");
    return argc < 2 ? 2 : 0;
  }
  return ruletest_run_files((const char *const *)argv + 1, (size_t)(argc - 1), stdout, stderr);
}

/* restockctl replay --readings FILE.csv [--config DIR] [--every 1h] (SPEC 12). */
static int cmd_replay(struct ctl *ctl, int argc, char **argv)
{
  static const struct option opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"readings", required_argument, NULL, 'r'},
    {"every", required_argument, NULL, 'e'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  struct replay_opts o = {ctl->config_dir, NULL, 3600000};
  char err[160];
  int c;
  optind = 1;
  while((c = getopt_long(argc, argv, "c:r:e:h", opts, NULL)) != -1) {
    switch(c) {
    case 'c':
      o.config_dir = optarg;
      break;
    case 'r':
      o.readings = optarg;
      break;
    case 'e':
      if(cfg_parse_duration(optarg, &o.every_ms, err, sizeof(err)) || o.every_ms <= 0) {
        fprintf(stderr, "restockctl replay: --every '%s': %s\n", optarg,
                o.every_ms <= 0 ? "must be positive" : err);
        return 2;
      }
      break;
    case 'h':
      puts("usage: restockctl replay --readings FILE.csv [--config DIR] [--every 1h]");
      return 0;
    default:
      return 2;
    }
  }
  if(!o.readings || optind < argc) {
    fprintf(stderr, "usage: restockctl replay --readings FILE.csv [--config DIR] [--every 1h]\n");
    return 2;
  }
  return replay_run(&o, stdout, stderr);
}

static int cmd_status(struct ctl *ctl, int argc, char **argv)
{
  char url[320];
  if(ctl->url)
    return ctl_status_main(ctl->url, argc, argv);
  ctl_default_url(ctl->config_dir, url, sizeof(url));
  return ctl_status_main(url, argc, argv);
}

static int cmd_orders(struct ctl *ctl, int argc, char **argv)
{
  return ctl_orders_main(ctl->config_dir, argc, argv);
}

static int cmd_consumables(struct ctl *ctl, int argc, char **argv)
{
  return ctl_consumables_main(ctl->config_dir, argc, argv);
}

static int cmd_init_db(struct ctl *ctl, int argc, char **argv)
{
  return ctl_init_db_main(ctl->config_dir, argc, argv);
}

static int cmd_probe(struct ctl *ctl, int argc, char **argv)
{
  return probe_main(ctl->config_dir, argc, argv);
}

static const struct ctl_cmd commands[] = {
  {"probe", cmd_probe, "DEVICE [POINT]", "read a device now: raw and decoded values (--plan, --json)",
   "usage: restockctl [--config DIR] probe DEVICE [POINT] [--plan] [--json]\n"},
  {"status", cmd_status, "[--json] [--watch N] [--device ID] [--kind K] [--state S]",
   "alerts, the consumables overview, devices down, open orders (asks restockd at --url)",
   "usage: restockctl [--config DIR] [--url URL] status [--json] [--watch SECONDS] [--device ID]\n"
   "                  [--kind KIND] [--state STATE]\n"
   "asks restockd at --url, by default the config's http.listen\n"},
  {"orders", cmd_orders, "[SUB] [ID]", "list, show ID, approve ID, reject ID: history and decisions",
   "usage: restockctl [--config DIR] orders [list] [--json]\n"
   "       restockctl [--config DIR] orders show ID [--json]\n"
   "       restockctl [--config DIR] orders approve ID\n"
   "       restockctl [--config DIR] orders reject ID\n"},
  {"consumables", cmd_consumables, "SUB ID [N]",
   "stock-take: set-spares ID N, replaced ID, hold ID, release ID", NULL},
  {"check", cmd_check, "", "validate the whole config dir (same as restockd --check)",
   "usage: restockctl [--config DIR] check\n"},
  {"init-db", cmd_init_db, "", "create the database at storage.path (run it as restockd's user)",
   "usage: restockctl [--config DIR] init-db\n"},
  {"test-rules", cmd_test_rules, "FILE...", "run rule unit tests (docs/rules.md); exit 1 on a failure",
   NULL},
  {"replay", cmd_replay, "--readings F", "run prediction, rules and orders on recorded readings",
   NULL},
};


/* Width of the commands' "NAME ARGS" column in usage(); longer ones put their text below. */
#define USAGE_COL 26

/* The usage and the commands, each with its arguments and what it does, into f. */
static void usage(FILE *f)
{
  size_t i;
  fputs("usage: restockctl [--config DIR] [--url URL] COMMAND [ARGS]\n\ncommands:\n", f);
  for(i = 0; i < RS_ARRAY_LEN(commands); i++) {
    char head[128];
    if(rs_snprintf(head, sizeof(head), "%-11s %s", commands[i].name, commands[i].args) < 0 ||
       strlen(head) > USAGE_COL)
      fprintf(f, "  %s\n  %-*s  %s\n", head, USAGE_COL, "", commands[i].help);
    else
      fprintf(f, "  %-*s  %s\n", USAGE_COL, head, commands[i].help);
  }
}

/* restockctl without the exit's output check (main). */
static int run(int argc, char **argv)
{
  static const struct option opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"url", required_argument, NULL, 'u'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
  };
  struct ctl ctl = {RESTOCK_CONFDIR, NULL};
  const char *name;
  size_t i;
  int c;

  /* the core's notices ("order ... approved (cli)") are the daemon's journal lines: a command
     says what it did on stdout, and only errors and warnings go to stderr (SPEC 2) */
  log_set_level(LOG_LVL_WARNING);
  log_set_command("restockctl");
  /* '+': stop at the command name so each command parses its own options. */
  while((c = getopt_long(argc, argv, "+c:u:h", opts, NULL)) != -1) {
    switch(c) {
    case 'c':
      ctl.config_dir = optarg;
      break;
    case 'u':
      /* restockd's own HTTP address: no file://, ftp:// ... (libcurl reads them all) */
      if(strncasecmp(optarg, "http://", 7) && strncasecmp(optarg, "https://", 8)) {
        fprintf(stderr, "restockctl: --url '%s': only http:// and https:// URLs (restockd's "
                        "address, e.g. http://127.0.0.1:8080)\n",
                optarg);
        return 2;
      }
      ctl.url = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case 'V':
      printf("restockctl %s\n", rs_version());
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if(optind >= argc) {
    usage(stderr);
    return 2;
  }
  name = argv[optind];
  for(i = 0; i < RS_ARRAY_LEN(commands); i++) {
    if(strcmp(name, commands[i].name))
      continue;
    if(commands[i].usage && optind + 1 < argc &&
       (!strcmp(argv[optind + 1], "--help") || !strcmp(argv[optind + 1], "-h"))) {
      fputs(commands[i].usage, stdout);
      return 0;
    }
    return commands[i].run(&ctl, argc - optind, argv + optind);
  }
  {
    const char *names[RS_ARRAY_LEN(commands) + 1];
    const char *hint;
    for(i = 0; i < RS_ARRAY_LEN(commands); i++)
      names[i] = commands[i].name;
    names[i] = NULL;
    hint = rs_did_you_mean(name, names);
    fprintf(stderr, "restockctl: unknown command '%s'%s%s%s\n", name, hint ? " (did you mean '" : "",
            hint ? hint : "", hint ? "'?)" : "");
  }
  usage(stderr);
  return 2;
}

int main(int argc, char **argv)
{
  cli_ignore_fsize_signal();
  return cli_finish_output("restockctl", run(argc, argv));
}
