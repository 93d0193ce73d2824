/* cmd.h: the subcommands of the poolshim command and the options they share.
 * Each cmd_* returns the process exit status (0 ok, 1 command failed, 2 bad
 * input or usage) and prints its own errors, one line each. */
#ifndef AN_CMD_H
#define AN_CMD_H
#include <stdio.h>

/* The release `poolshim --version` names. */
#define AN_RELEASE "0.1.0"

struct an_opts {
    int json;            /* --json: machine-readable answer on stdout */
    int folded;          /* --folded: folded stacks (dumps) */
    const char *html;    /* --html FILE: one self-contained page */
    int all_frames;      /* --all-frames: keep the shim's own frames (show) */
};

/* "poolshim: FILE: msg" on stderr (FILE made printable); returns 2. */
int an_fail_file(const char *file, const char *msg);

int cmd_report(int argc, char **argv, const struct an_opts *o);
int cmd_show(int argc, char **argv, const struct an_opts *o);
int cmd_run(int argc, char **argv);
/* supervise.c: before run forks, the socket the shim asks for ptrace dumps on
 * (POOLSHIM_SUPERVISOR set; -1: none, the shim captures in-process); then
 * waiting for the program's end while answering those requests. */
int an_super_open(void);
int an_super_wait(int pid, int *status);
int cmd_dump(int argc, char **argv);
int cmd_export(int argc, char **argv);
/* `export trace` (trace_export.c); argv[1] is "trace". */
int cmd_export_trace(int argc, char **argv);
/* CMD's synopsis, options and exit status on f (main.c); 2 for an unknown CMD. */
int an_help(FILE *f, const char *cmd);
/* run's options, one line each (run.c owns the table). */
void an_run_options(FILE *f);
#endif
