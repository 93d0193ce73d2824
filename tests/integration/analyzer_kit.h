/* analyzer_kit.h: what the analyzer's tests share: running build/poolshim
 * (never under the shim) with arguments, paths of files in tests/data, and the
 * widest line of a text. Header-only so each test file stays self-contained. */
#ifndef AN_ANALYZER_KIT_H
#define AN_ANALYZER_KIT_H
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "harness.h"

/* Runs `poolshim ARGS...` (args NULL-terminated, at most 20), stdout/stderr captured. */
static inline void ak_poolshim(struct ps_run *a, char *const *args)
{
    char *argv[22] = { (char *)ps_build_path("poolshim") };
    int i = 0;
    while (args[i] && i < 20) { argv[i + 1] = args[i]; i++; }
    argv[i + 1] = NULL;
    cr_assert_eq(ps_run_ex(a, argv, NULL, 0, 60), 0);
}

/* Path of tests/data/NAME (the build directory sits in the repository). Four rotating buffers. */
static inline const char *ak_data(const char *name)
{
    static char buf[4][600];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", ps_build_path("../tests/data"), name);
    return p;
}

/* The widest line itself (for failure messages): static buffer. */
static inline const char *ak_widest(const char *text)
{
    static char line[512];
    size_t best = 0;
    line[0] = 0;
    for (const char *c = text; *c;) {
        const char *e = strchr(c, '\n');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n > best && n < sizeof line) {
            best = n;
            memcpy(line, c, n);
            line[n] = 0;
        }
        c += n + (e ? 1 : 0);
    }
    return line;
}

static inline int ak_width(const char *text)
{
    int width = 0, col = 0;
    for (const char *c = text; *c; c++) {
        col = *c == '\n' ? 0 : col + 1;
        if (col > width) width = col;
    }
    return width;
}
#endif
