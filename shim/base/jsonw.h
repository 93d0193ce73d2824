/* jsonw.h: a small JSON writer into a growable buffer of mapped memory.
 * No malloc and no stdio, so reports and dumps can be written from the agent
 * or at exit whatever state the host's allocator is in. Keys are emitted in
 * call order; numbers are finite (NaN/inf become null). */
#ifndef PS_JSONW_H
#define PS_JSONW_H
#include <stddef.h>
#include <stdint.h>

struct ps_jw {
    char *buf;
    size_t len, cap;
    int err;                  /* set on out-of-memory: the document is incomplete */
    int depth;
    unsigned char first[64];  /* per depth: no element written yet */
    char close[64];           /* per depth: the closing bracket */
};

void ps_jw_init(struct ps_jw *w);
void ps_jw_free(struct ps_jw *w);
/* key is NULL inside arrays and for the root value. */
void ps_jw_obj(struct ps_jw *w, const char *key);
void ps_jw_arr(struct ps_jw *w, const char *key);
void ps_jw_end(struct ps_jw *w);             /* closes the innermost object/array */
void ps_jw_str(struct ps_jw *w, const char *key, const char *v);   /* v NULL: null */
void ps_jw_u64(struct ps_jw *w, const char *key, uint64_t v);
void ps_jw_i64(struct ps_jw *w, const char *key, int64_t v);
void ps_jw_dbl(struct ps_jw *w, const char *key, double v);
void ps_jw_bool(struct ps_jw *w, const char *key, int v);
void ps_jw_null(struct ps_jw *w, const char *key);
void ps_jw_hex(struct ps_jw *w, const char *key, uint64_t v);   /* "0x1f" */
/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 if it is not one. */
int ps_utf8_len(const unsigned char *p);
/* Formats v with up to `decimals` (0..9) digits after the point into buf; from
 * 1e18 on, 17 significant digits and an exponent. "null" if not finite or
 * cap < 32. */
size_t ps_fmt_double(char *buf, size_t cap, double v, int decimals);
#endif
