/* folded.c: `poolshim show --folded`: one line per distinct (pool, state,
 * stack) with its thread count, outermost frame first as flamegraph.pl and
 * speedscope expect. The frames are the reader's (show_frames.c: inlined
 * calls are frames, the shim's own are left out); the dump lists them
 * innermost first. A name is not repeated in a row (a wrapper and the
 * function it wraps, or two aliases, would read as one call twice).
 * Semicolons inside names would split frames, so they become ':'. */
#include "show.h"
#include "jget.h"
#include <stdlib.h>
#include <string.h>

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
    int sep = !strcmp(s, ";");
    size_t n = strlen(s);
    if (*len + n + 2 > *cap) {
        *cap = (*len + n + 2) * 2;
        char *b = realloc(*buf, *cap);
        if (!b) abort();
        *buf = b;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        (*buf)[(*len)++] = c == ';' && !sep ? ':' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    (*buf)[*len] = 0;
}

void an_show_folded(FILE *out, const json_t *dump, unsigned flags)
{
    json_t *counts = json_object(), *t;
    size_t i;
    json_array_foreach(an_arr(dump, "threads"), i, t) {
        char *line = NULL, pb[64];
        size_t len = 0, cap = 0;
        const char *pool = NULL;
        json_t *pid = json_object_get(t, "pool"), *p;
        size_t k;
        json_array_foreach(an_arr(dump, "pools"), k, p)
            if (json_is_integer(pid) && an_int(p, "id", -1) == json_integer_value(pid)) pool = an_pool_fn(p);
        if (!pool && json_is_integer(pid)) snprintf(pb, sizeof pb, "pool-%lld", (long long)json_integer_value(pid)), pool = pb;
        append(&line, &len, &cap, pool ? pool : "no-pool");
        append(&line, &len, &cap, ";");
        append(&line, &len, &cap, an_str(t, "state") ? an_str(t, "state") : "unknown");
        json_t *st = an_show_frames(an_arr(t, "stack"), flags);
        const char *prev = NULL;
        for (size_t f = json_array_size(st); f-- > 0;) {
            json_t *fr = json_array_get(st, f);
            /* Without the module: a flame graph merges by function. */
            const char *name = an_str(fr, "function") ? an_str(fr, "function") : an_str(fr, "text");
            if (!name || (prev && !strcmp(prev, name))) continue;
            append(&line, &len, &cap, ";");
            append(&line, &len, &cap, name);
            prev = name;
        }
        json_decref(st);
        json_object_set_new(counts, line, json_integer(an_int(counts, line, 0) + 1));
        free(line);
    }
    const char *key;
    json_t *v;
    json_object_foreach(counts, key, v) fprintf(out, "%s %lld\n", key, (long long)json_integer_value(v));
    json_decref(counts);
}
