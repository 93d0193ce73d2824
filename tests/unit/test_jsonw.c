/* Unit tests for shim/base/jsonw.c: documents are parsed back with jansson (the
 * analyzer's parser) and values compared; escaping, nesting, number formats. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include "jsonw.h"

static json_t *parse(struct ps_jw *w)
{
    json_error_t e;
    cr_assert_eq(w->err, 0, "writer error");
    cr_assert_eq(w->depth, 0, "unclosed containers");
    json_t *j = json_loadb(w->buf, w->len, 0, &e);
    cr_assert_not_null(j, "not JSON (%s at %d): %s", e.text, e.position, w->buf);
    return j;
}

static json_t *one_string(const char *s, struct ps_jw *w)
{
    ps_jw_init(w);
    ps_jw_obj(w, NULL);
    ps_jw_str(w, "k", s);
    ps_jw_end(w);
    return parse(w);
}

Test(jsonw, escapes_quotes_and_backslash)
{
    struct ps_jw w;
    const char *s = "say \"hi\" \\ C:\\dir\\";
    json_t *j = one_string(s, &w);
    cr_expect_str_eq(json_string_value(json_object_get(j, "k")), s);
    cr_expect_not_null(strstr(w.buf, "\\\"hi\\\""), "%s", w.buf);
    json_decref(j);
    ps_jw_free(&w);
}

Test(jsonw, escapes_every_control_char)
{
    struct ps_jw w;
    char s[40];
    for (int i = 1; i < 32; i++)
        s[i - 1] = (char)i;
    s[31] = 0x7f;
    s[32] = 0;
    json_t *j = one_string(s, &w);
    cr_expect_str_eq(json_string_value(json_object_get(j, "k")), s);
    for (size_t i = 0; i < w.len; i++)
        cr_expect((unsigned char)w.buf[i] >= 0x20 && w.buf[i] != 0x7f, "raw control byte at %zu", i);
    cr_expect_not_null(strstr(w.buf, "\\u000a"), "%s", w.buf);
    cr_expect_not_null(strstr(w.buf, "\\u001f"), "%s", w.buf);
    json_decref(j);
    ps_jw_free(&w);
}

Test(jsonw, passes_utf8_through)
{
    struct ps_jw w;
    const char *s = "naïve – 线程 🧵";
    json_t *j = one_string(s, &w);
    cr_expect_str_eq(json_string_value(json_object_get(j, "k")), s);
    cr_expect_not_null(strstr(w.buf, s), "UTF-8 was escaped: %s", w.buf);
    json_decref(j);
    ps_jw_free(&w);
}

/* Thread names come from /proc comm, cut at 15 bytes, possibly inside a
 * multibyte character; the document must still be valid JSON. */
Test(jsonw, replaces_invalid_utf8)
{
    struct ps_jw w;
    const char *cases[] = { "worker-\xe7\xba", ("a\xff" "b"), "\xc3", "x\xed\xa0\x80y", "\xc0\xaf", "\xf4\x90\x80\x80" };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = one_string(cases[i], &w);
        const char *got = json_string_value(json_object_get(j, "k"));
        cr_expect_not_null(strstr(got, "\xef\xbf\xbd"), "case %zu: no U+FFFD in %s", i, got);
        json_decref(j);
        ps_jw_free(&w);
    }
    json_t *j = one_string("worker-\xe7\xba", &w);
    cr_expect_str_eq(json_string_value(json_object_get(j, "k")), "worker-\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(j);
    ps_jw_free(&w);
}

Test(jsonw, null_string_is_null)
{
    struct ps_jw w;
    json_t *j = one_string(NULL, &w);
    cr_expect(json_is_null(json_object_get(j, "k")));
    json_decref(j);
    ps_jw_free(&w);
}

Test(jsonw, nests_objects_and_arrays_and_round_trips_values)
{
    struct ps_jw w;
    ps_jw_init(&w);
    ps_jw_obj(&w, NULL);
    ps_jw_u64(&w, "u", UINT64_C(18446744073709551615));
    ps_jw_i64(&w, "i", INT64_MIN);
    ps_jw_i64(&w, "i2", -7);
    ps_jw_u64(&w, "zero", 0);
    ps_jw_dbl(&w, "d", 3.25);
    ps_jw_bool(&w, "t", 1);
    ps_jw_bool(&w, "f", 0);
    ps_jw_null(&w, "n");
    ps_jw_hex(&w, "h", 0x7f00dead);
    ps_jw_arr(&w, "a");
    for (int i = 0; i < 3; i++) {
        ps_jw_obj(&w, NULL);
        ps_jw_i64(&w, "i", i);
        ps_jw_arr(&w, "empty");
        ps_jw_end(&w);
        ps_jw_end(&w);
    }
    ps_jw_u64(&w, NULL, 42);
    ps_jw_arr(&w, NULL);
    ps_jw_arr(&w, NULL);
    ps_jw_end(&w);
    ps_jw_end(&w);
    ps_jw_end(&w);
    ps_jw_obj(&w, "empty");
    ps_jw_end(&w);
    ps_jw_end(&w);
    /* jansson's integers are long long: check the u64 text directly */
    cr_expect_not_null(strstr(w.buf, "\"u\":18446744073709551615,"), "%s", w.buf);
    char *p = strstr(w.buf, "\"u\":");
    memcpy(p + 4, "1                   ", 20);       /* same length, now parseable */
    json_t *j = parse(&w);
    cr_expect_eq(json_integer_value(json_object_get(j, "i")), INT64_MIN);
    cr_expect_eq(json_integer_value(json_object_get(j, "i2")), -7);
    cr_expect_eq(json_integer_value(json_object_get(j, "zero")), 0);
    cr_expect_float_eq(json_number_value(json_object_get(j, "d")), 3.25, 1e-12);
    cr_expect(json_is_true(json_object_get(j, "t")));
    cr_expect(json_is_false(json_object_get(j, "f")));
    cr_expect(json_is_null(json_object_get(j, "n")));
    cr_expect_str_eq(json_string_value(json_object_get(j, "h")), "0x7f00dead");
    json_t *a = json_object_get(j, "a");
    cr_assert_eq(json_array_size(a), 5);
    for (int i = 0; i < 3; i++) {
        json_t *o = json_array_get(a, i);
        cr_expect_eq(json_integer_value(json_object_get(o, "i")), i);
        cr_expect_eq(json_array_size(json_object_get(o, "empty")), 0);
    }
    cr_expect_eq(json_integer_value(json_array_get(a, 3)), 42);
    cr_expect_eq(json_array_size(json_array_get(json_array_get(a, 4), 0)), 0);
    cr_expect_eq(json_object_size(json_object_get(j, "empty")), 0);
    cr_expect_eq(json_object_size(j), 11);
    json_decref(j);
    ps_jw_free(&w);
}

Test(jsonw, escapes_keys_too)
{
    struct ps_jw w;
    ps_jw_init(&w);
    ps_jw_obj(&w, NULL);
    ps_jw_u64(&w, "a\"b\n", 1);
    ps_jw_end(&w);
    json_t *j = parse(&w);
    cr_expect_eq(json_integer_value(json_object_get(j, "a\"b\n")), 1);
    json_decref(j);
    ps_jw_free(&w);
}

Test(jsonw, grows_past_the_first_mapping)
{
    struct ps_jw w;
    ps_jw_init(&w);
    ps_jw_arr(&w, NULL);
    for (int i = 0; i < 50000; i++)
        ps_jw_str(&w, NULL, "0123456789");
    ps_jw_end(&w);
    cr_expect_gt(w.cap, 65536);
    json_t *j = parse(&w);
    cr_expect_eq(json_array_size(j), 50000);
    cr_expect_str_eq(json_string_value(json_array_get(j, 49999)), "0123456789");
    json_decref(j);
    ps_jw_free(&w);
}

Test(jsonw, too_deep_or_unbalanced_sets_err)
{
    struct ps_jw w;
    ps_jw_init(&w);
    for (int i = 0; i < 63; i++)
        ps_jw_arr(&w, NULL);
    cr_expect_eq(w.err, 0, "63 levels are allowed");
    ps_jw_arr(&w, NULL);
    cr_expect_eq(w.err, 1);
    ps_jw_free(&w);
    ps_jw_init(&w);
    ps_jw_end(&w);
    cr_expect_eq(w.err, 1);
    ps_jw_free(&w);
}

static const char *fd(double v, int dec)
{
    static char b[64];
    ps_fmt_double(b, sizeof b, v, dec);
    return b;
}

Test(jsonw, fmt_double_rounds_to_the_decimals)
{
    cr_expect_str_eq(fd(0.125, 2), "0.13");
    cr_expect_str_eq(fd(2.5, 0), "3");
    cr_expect_str_eq(fd(1.0 / 3, 6), "0.333333");
    cr_expect_str_eq(fd(2.0 / 3, 6), "0.666667");
    cr_expect_str_eq(fd(0.9999996, 6), "1");
    cr_expect_str_eq(fd(1.5, 6), "1.5");          /* trailing zeros dropped */
    cr_expect_str_eq(fd(10, 6), "10");
    cr_expect_str_eq(fd(0, 6), "0");
    cr_expect_str_eq(fd(123456.789, 2), "123456.79");
    cr_expect_str_eq(fd(0.05, 1), "0.1");
    cr_expect_str_eq(fd(1.000001, 6), "1.000001");
    cr_expect_str_eq(fd(1.0000001, 6), "1");
}

Test(jsonw, fmt_double_negative)
{
    cr_expect_str_eq(fd(-2.5, 1), "-2.5");
    cr_expect_str_eq(fd(-0.001, 6), "-0.001");
    cr_expect_str_eq(fd(-1234.5678, 2), "-1234.57");
    cr_expect_str_eq(fd(-0.0, 6), "0");
    cr_expect_str_eq(fd(-1e-9, 6), "0");           /* rounds to zero: no "-0" */
}

Test(jsonw, fmt_double_tiny)
{
    cr_expect_str_eq(fd(1e-7, 6), "0");
    cr_expect_str_eq(fd(5e-7, 6), "0.000001");
    cr_expect_str_eq(fd(1e-300, 6), "0");
    cr_expect_str_eq(fd(4.9e-324, 6), "0");
}

/* Parses the text and checks it is v within relative tolerance. */
static void expect_value(double v, double rel)
{
    char b[64];
    ps_fmt_double(b, sizeof b, v, 6);
    json_error_t e;
    json_t *j = json_loads(b, JSON_DECODE_ANY, &e);
    cr_assert_not_null(j, "%g printed as \"%s\": not JSON (%s)", v, b, e.text);
    double got = json_number_value(j);
    cr_expect(fabs(got - v) <= rel * fabs(v), "%.17g printed as \"%s\" (%.17g)", v, b, got);
    json_decref(j);
}

Test(jsonw, fmt_double_huge_values_stay_true)
{
    expect_value(12345678.5, 1e-15);
    expect_value(1.8e13, 1e-15);
    expect_value(1e14 + 0.25, 1e-15);
    expect_value(9.2e12, 1e-15);
    expect_value(1e15, 1e-15);
    expect_value(123456789012345678.0, 1e-15);
    expect_value(1e18, 1e-12);
    expect_value(2.5e19, 1e-12);
    expect_value(-3.75e22, 1e-12);
    expect_value(1.7976931348623157e308, 1e-12);
    cr_expect_str_eq(fd(1e15, 6), "1000000000000000");
    cr_expect_str_eq(fd(1e14 + 0.25, 6), "100000000000000.3");     /* 1 decimal left at 2^53 */
    cr_expect_str_eq(fd(1e9 + 0.125, 6), "1000000000.125");
    cr_expect_str_eq(fd(2.5e19, 6), "2.5e19");
    cr_expect_str_eq(fd(-1e18, 6), "-1e18");
    cr_expect_str_eq(fd(1.7976931348623157e308, 6), "1.7976931348623157e308");
    cr_expect_str_eq(fd(999999999999999999.0, 6), "1e18");   /* that double is 1e18 */
}

Test(jsonw, fmt_double_non_finite_is_null)
{
    cr_expect_str_eq(fd(NAN, 6), "null");
    cr_expect_str_eq(fd(INFINITY, 6), "null");
    cr_expect_str_eq(fd(-INFINITY, 6), "null");
    struct ps_jw w;
    ps_jw_init(&w);
    ps_jw_arr(&w, NULL);
    ps_jw_dbl(&w, NULL, NAN);
    ps_jw_dbl(&w, NULL, 0.5);
    ps_jw_end(&w);
    cr_expect_str_eq(w.buf, "[null,0.5]");
    ps_jw_free(&w);
}

Test(jsonw, fmt_double_small_buffer_is_null_not_overflow)
{
    char b[40];
    memset(b, 'Q', sizeof b);
    ps_fmt_double(b, 8, 1234567.125, 6);
    cr_expect_str_eq(b, "null");
    cr_expect_eq(b[8], 'Q');
}
