/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restockctl: the operator's command-line tool (SPEC section 2).
 * Each command is one entry in a table: name, handler, one-line help.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/rs_util.h"
#include "gateway/check.h"
#include "gateway/version.h"

struct ctl {
  const char *config_dir;
  const char *url;
};

struct ctl_cmd {
  const char *name;
  int (*run)(struct ctl *ctl, int argc, char **argv);
  const char *args;
  const char *help;
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

static const struct ctl_cmd commands[] = {
  {"check", cmd_check, "", "validate the whole config dir (same as restockd --check)"},
};

/* Commands the contract names that later releases build (SPEC section 2). */
static const char *const planned[] = {"status", "orders", "probe", "test-rules", "replay", NULL};

static void usage(FILE *f)
{
  size_t i;
  fputs("usage: restockctl [--config DIR] [--url URL] COMMAND [ARGS]\n\ncommands:\n", f);
  for(i = 0; i < RS_ARRAY_LEN(commands); i++)
    fprintf(f, "  %-10s %-12s %s\n", commands[i].name, commands[i].args, commands[i].help);
}

int main(int argc, char **argv)
{
  static const struct option opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"url", required_argument, NULL, 'u'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
  };
  struct ctl ctl = {RESTOCK_CONFDIR, "http://127.0.0.1:8080"};
  const char *name;
  size_t i;
  int c;

  /* '+': stop at the command name so each command parses its own options. */
  while((c = getopt_long(argc, argv, "+c:u:h", opts, NULL)) != -1) {
    switch(c) {
    case 'c':
      ctl.config_dir = optarg;
      break;
    case 'u':
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
    if(!strcmp(name, commands[i].name))
      return commands[i].run(&ctl, argc - optind, argv + optind);
  }
  for(i = 0; planned[i]; i++) {
    if(!strcmp(name, planned[i])) {
      fprintf(stderr, "restockctl: '%s' is not available in restock %s yet\n", name,
              rs_version());
      return 2;
    }
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
