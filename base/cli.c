/* SPDX-License-Identifier: Apache-2.0 */
#include "base/cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/version.h"
#include "base/rs_util.h"

int cli_daemon_options(const char *prog, int argc, char **argv, struct cli_daemon *a,
                       void (*usage)(FILE *f))
{
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"check", no_argument, NULL, 'k'},
      {"time-scale", required_argument, NULL, 't'},
      {"log-level", required_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  int c;
  while((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
    switch(c) {
    case 'c':
      a->config = optarg;
      break;
    case 'k':
      a->check = true;
      break;
    case 't':
      if(clock_scale_option(prog, optarg, &a->time_scale))
        return 2;
      break;
    case 'l':
      if(log_level_option(prog, optarg, &a->level))
        return 2;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case 'V':
      printf("%s %s\n", prog, rs_version());
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  return -1;
}

void cli_ignore_fsize_signal(void)
{
  signal(SIGXFSZ, SIG_IGN);
}

const char *cli_fsize_note(char *buf, size_t size)
{
  struct rlimit fl;
  buf[0] = '\0';
  if(!getrlimit(RLIMIT_FSIZE, &fl) && fl.rlim_cur != RLIM_INFINITY &&
     rs_snprintf(buf, size,
                 "a file size limit of %llu bytes is set (ulimit -f, systemd's LimitFSIZE=)",
                 (unsigned long long)fl.rlim_cur))
    buf[0] = '\0';
  return buf;
}

const char *cli_write_error(int err, char *buf, size_t size)
{
  char note[128];
  if(err != EFBIG || !cli_fsize_note(note, sizeof(note))[0] ||
     rs_snprintf(buf, size, "%s: %s", strerror(err), note))
    (void)rs_strlcpy(buf, strerror(err), size);
  return buf;
}

/*
 * Why stdout failed when the failure came at an earlier flush (errno is
 * gone by now): a regular file at the file size limit is EFBIG, another
 * regular file EIO; 0 (unknown) when it is not a regular file.
 */
static int earlier_write_error(void)
{
  struct stat st;
  struct rlimit fl;
  if(fstat(STDOUT_FILENO, &st) || !S_ISREG(st.st_mode))
    return 0;
  if(!getrlimit(RLIMIT_FSIZE, &fl) && fl.rlim_cur != RLIM_INFINITY &&
     (uint64_t)st.st_size >= (uint64_t)fl.rlim_cur)
    return EFBIG;
  return EIO;
}

int cli_finish_output(const char *prog, int rc)
{
  char why[200];
  int e = 0;
  errno = 0;
  if(fflush(stdout))
    e = errno;
  if(!e && !ferror(stdout))
    return rc;
  if(!e)
    e = earlier_write_error();
  if(e == EPIPE)
    return rc; /* the reader stopped reading (restock-sim ignores SIGPIPE): its choice */
  if(!e)
    fprintf(stderr, "%s: cannot write the output (a write to it failed)\n", prog);
  else
    fprintf(stderr, "%s: cannot write the output: %s\n", prog,
            cli_write_error(e, why, sizeof(why)));
  return rc ? rc : 1;
}
