/* jget.h: typed, forgiving reads of jansson values for the analyzer.
 * Input files are untrusted: every accessor checks the type it expects and
 * returns a neutral value (NAN, NULL, a default) instead of trusting the file,
 * so renderers never need their own checks and never crash on odd input. */
#ifndef AN_JGET_H
#define AN_JGET_H
#include <jansson.h>

/* Number (integer or real) at key, NAN when absent or not a number. */
double an_num(const json_t *o, const char *key);
/* Same through a dotted path: "wait_by_cause.io". */
double an_num_path(const json_t *o, const char *path);
/* String at key, or NULL. */
const char *an_str(const json_t *o, const char *key);
/* Integer at key (reals truncated), or dflt when absent, not a number or out of range. */
long long an_int(const json_t *o, const char *key, long long dflt);
/* The function a pool's threads run: its entry (what a trampoline start
 * routine calls, format 1.x reports may lack it), else its start routine. */
const char *an_pool_fn(const json_t *pool);
/* The function of pool id (an_pool_fn) among doc's "pools" (a file or an
 * answer), into buf; "pool ID" when none is known, "not in a pool" for id < 0. */
const char *an_pool_label(const json_t *doc, long long id, char *buf, size_t n);
/* Array / object at key, or NULL. */
json_t *an_arr(const json_t *o, const char *key);
json_t *an_obj(const json_t *o, const char *key);
/* A number as a json value: null for NAN/inf (JSON has no NaN). */
json_t *an_jnum(double v);
/* Copies key from src to dst if it holds a scalar (number, string, bool, null). */
void an_copy_scalar(json_t *dst, const json_t *src, const char *key);
#endif
