/* jget.c: forgiving typed accessors over untrusted JSON (see jget.h).
 * Pure functions, no state; used by every reader and renderer. */
#include "jget.h"
#include <stdio.h>
#include <math.h>
#include <string.h>

double an_num(const json_t *o, const char *key)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (json_is_integer(v)) return (double)json_integer_value(v);
    if (json_is_real(v)) return json_real_value(v);
    return NAN;
}

double an_num_path(const json_t *o, const char *path)
{
    char part[64];
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        if (!dot) return an_num(o, p);
        size_t n = (size_t)(dot - p);
        if (n >= sizeof part) return NAN;
        memcpy(part, p, n);
        part[n] = 0;
        o = an_obj(o, part);
        if (!o) return NAN;
        p = dot + 1;
    }
}

const char *an_str(const json_t *o, const char *key)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long an_int(const json_t *o, const char *key, long long dflt)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (json_is_integer(v)) return json_integer_value(v);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d > -9e15 && d < 9e15) return (long long)d;
    }
    return dflt;
}

json_t *an_arr(const json_t *o, const char *key)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_array(v) ? v : NULL;
}

json_t *an_obj(const json_t *o, const char *key)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

json_t *an_jnum(double v)
{
    if (!isfinite(v)) return json_null();
    if (v == floor(v) && fabs(v) < 9e15) return json_integer((json_int_t)v);
    return json_real(v);
}

void an_copy_scalar(json_t *dst, const json_t *src, const char *key)
{
    json_t *v = json_is_object(src) ? json_object_get(src, key) : NULL;
    if (!v) return;
    if (json_is_array(v) || json_is_object(v)) return;
    json_object_set(dst, key, v);
}

const char *an_pool_fn(const json_t *pool)
{
    const char *e = an_str(pool, "name");    /* the shim's label (reports since pools had one) */
    if (e) return e;
    e = an_str(pool, "entry");
    return e ? e : an_str(pool, "start_routine");
}

const char *an_pool_label(const json_t *doc, long long id, char *buf, size_t n)
{
    size_t i;
    json_t *p;
    json_array_foreach(an_arr(doc, "pools"), i, p)
        if (an_int(p, "id", -2) == id && an_pool_fn(p)) {
            snprintf(buf, n, "%s", an_pool_fn(p));
            return buf;
        }
    snprintf(buf, n, id >= 0 ? "pool %lld" : "not in a pool", id);
    return buf;
}
