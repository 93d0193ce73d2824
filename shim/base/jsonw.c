/* jsonw.c: see jsonw.h. Memory comes from mmap/mremap so the writer works
 * with the host's malloc locked or broken; output is compact, one document. */
#include "jsonw.h"
#include "log.h"
#include <math.h>
#include <string.h>
#include <sys/mman.h>

void ps_jw_init(struct ps_jw *w)
{
    memset(w, 0, sizeof *w);
    w->first[0] = 1;
}

void ps_jw_free(struct ps_jw *w)
{
    if (w->buf)
        munmap(w->buf, w->cap);
    w->buf = NULL;
    w->cap = w->len = 0;
}

static void put(struct ps_jw *w, const char *s, size_t n)
{
    if (w->err)
        return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 65536;
        while (cap < w->len + n + 1)
            cap *= 2;
        void *p = w->buf ? mremap(w->buf, w->cap, cap, MREMAP_MAYMOVE)
                         : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            w->err = 1;
            return;
        }
        w->buf = p;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

static void puts_(struct ps_jw *w, const char *s) { put(w, s, strlen(s)); }

int ps_utf8_len(const unsigned char *p)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xbf;
    int n;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) { n = 3; if (c == 0xe0) lo = 0xa0; if (c == 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 4; if (c == 0xf0) lo = 0x90; if (c == 0xf4) hi = 0x8f; }
    else return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* Strings come from the host (thread names cut at 15 bytes, paths): bytes that
 * are not UTF-8 become U+FFFD so the document stays valid JSON. */
static void quoted(struct ps_jw *w, const char *s)
{
    put(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\'; esc[1] = (char)*p;
            put(w, esc, 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            put(w, esc, ps_fmt(esc, sizeof esc, "\\u00%c%c", "0123456789abcdef"[*p >> 4],
                               "0123456789abcdef"[*p & 15]));
        } else if (*p < 0x80) {
            put(w, (const char *)p, 1);
        } else {
            int n = ps_utf8_len(p);
            if (n) {
                put(w, (const char *)p, (size_t)n);
                p += n - 1;
            } else {
                put(w, "\xef\xbf\xbd", 3);
            }
        }
    }
    put(w, "\"", 1);
}

static void prefix(struct ps_jw *w, const char *key)
{
    if (!w->first[w->depth])
        put(w, ",", 1);
    w->first[w->depth] = 0;
    if (key) {
        quoted(w, key);
        put(w, ":", 1);
    }
}

static void open_(struct ps_jw *w, const char *key, const char *br)
{
    prefix(w, key);
    puts_(w, br);
    if (w->depth < 63) {
        w->first[++w->depth] = 1;
        w->close[w->depth] = br[0] == '{' ? '}' : ']';
    } else {
        w->err = 1;
    }
}

void ps_jw_obj(struct ps_jw *w, const char *key) { open_(w, key, "{"); }
void ps_jw_arr(struct ps_jw *w, const char *key) { open_(w, key, "["); }

void ps_jw_end(struct ps_jw *w)
{
    if (w->depth <= 0) {
        w->err = 1;
        return;
    }
    put(w, &w->close[w->depth], 1);
    w->depth--;
}

void ps_jw_str(struct ps_jw *w, const char *key, const char *v)
{
    prefix(w, key);
    if (v)
        quoted(w, v);
    else
        puts_(w, "null");
}

void ps_jw_u64(struct ps_jw *w, const char *key, uint64_t v)
{
    char b[24];
    prefix(w, key);
    put(w, b, ps_fmt(b, sizeof b, "%lu", (unsigned long)v));
}

void ps_jw_i64(struct ps_jw *w, const char *key, int64_t v)
{
    char b[24];
    prefix(w, key);
    put(w, b, ps_fmt(b, sizeof b, "%ld", (long)v));
}

void ps_jw_hex(struct ps_jw *w, const char *key, uint64_t v)
{
    char b[24];
    prefix(w, key);
    put(w, b, ps_fmt(b, sizeof b, "\"0x%lx\"", (unsigned long)v));
}

/* Below 1e18: fixed point, the decimals reduced where v x 10^decimals would
 * exceed 2^53 (past it a double's digits are noise, not the value).
 * From 1e18: 17 significant digits (enough for any double), truncated so
 * DBL_MAX does not round up out of range, and an exponent ("2.5e19"); scaled
 * in long double so the digits printed are the double's own. */
static size_t fmt_exp(char *b, size_t cap, double v)
{
    long double m = v;
    int e = 16;
    while (m >= 1e17L) {
        m /= 10;
        e++;
    }
    uint64_t d = (uint64_t)m;
    char digits[17];
    for (int i = 16; i >= 0; i--) {
        digits[i] = (char)('0' + d % 10);
        d /= 10;
    }
    int n = 17;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    size_t at = 0;
    b[at++] = digits[0];
    if (n > 1) {
        b[at++] = '.';
        memcpy(b + at, digits + 1, (size_t)n - 1);
        at += (size_t)n - 1;
    }
    return at + ps_fmt(b + at, cap - at, "e%d", e);
}

size_t ps_fmt_double(char *b, size_t cap, double v, int decimals)
{
    if (!isfinite(v) || cap < 32)
        return ps_fmt(b, cap, "null");
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)            /* keeps sign + 19 digits + point + decimals under 32 */
        decimals = 9;
    size_t at = 0;
    if (v < 0) {
        b[at++] = '-';
        v = -v;
    }
    if (v >= 1e18)
        return at + fmt_exp(b + at, cap - at, v);
    uint64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    while (decimals > 0 && v * (double)scale >= 9e15) {   /* 2^53: digits beyond are noise */
        decimals--;
        scale /= 10;
    }
    uint64_t fixed = (uint64_t)(v * (double)scale + 0.5);
    uint64_t ip = fixed / scale, fp = fixed % scale;
    at += ps_fmt(b + at, cap - at, "%lu", (unsigned long)ip);
    if (fp) {
        char digits[24];
        int n = decimals;
        for (int i = n - 1; i >= 0; i--) {
            digits[i] = (char)('0' + fp % 10);
            fp /= 10;
        }
        while (n > 0 && digits[n - 1] == '0')
            n--;
        b[at++] = '.';
        memcpy(b + at, digits, (size_t)n);
        at += (size_t)n;
        b[at] = 0;
    }
    if (at == 2 && b[0] == '-' && b[1] == '0')
        return ps_fmt(b, cap, "0");
    return at;
}

void ps_jw_dbl(struct ps_jw *w, const char *key, double v)
{
    char b[48];
    prefix(w, key);
    put(w, b, ps_fmt_double(b, sizeof b, v, 6));
}

void ps_jw_bool(struct ps_jw *w, const char *key, int v)
{
    prefix(w, key);
    puts_(w, v ? "true" : "false");
}

void ps_jw_null(struct ps_jw *w, const char *key)
{
    prefix(w, key);
    puts_(w, "null");
}
