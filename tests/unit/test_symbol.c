/* Unit tests for shim/base/symbol.c: a static function of this test binary (not
 * exported, found only through the ELF .symtab: the binary is linked without
 * -rdynamic and not stripped) and an exported libc function (dladdr). */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "symbol.h"

__attribute__((noinline, used)) static int ps_unit_static_target(int x)
{
    volatile int y = x;
    for (int i = 0; i < 3; i++)
        y = y * 3 + i;
    return y;
}

/* A name longer than struct ps_sym keeps (C++: a std::function's handler of
 * a lambda, 200 characters and more), which cut short cannot be demangled. */
__attribute__((noinline, used)) static int ps_unit_a_function_whose_name_is_longer_than_the_one_hundred_and_twenty_seven_characters_a_symbols_name_is_kept_to_as_lambdas_handlers_are(int x)
{
    volatile int y = x;
    return y + 1;
}

/* libc's own qsort: RTLD_DEFAULT would find a sanitizer's interceptor first */
static void *libc_sym(const char *name)
{
    void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    cr_assert_not_null(h);
    return dlsym(h, name);
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

Test(symbol, names_a_static_function_of_the_executable)
{
    cr_assert_eq(ps_unit_static_target(1), 1 * 27 + 0 + 3 + 2);
    const char *addr = (const char *)ps_unit_static_target + 4;
    Dl_info info;
    cr_assert(dladdr(addr, &info));
    cr_assert_null(info.dli_sname, "exported after all (%s): the .symtab path is not tested", info.dli_sname);
    struct ps_sym s;
    cr_assert_eq(ps_symbolize(addr, &s), 0);
    cr_expect_str_eq(s.name, "ps_unit_static_target");
    cr_expect_eq(s.offset, 4);
    cr_expect(ends_with(s.module, "/unit_tests"), "module %s", s.module);
    cr_expect_eq(s.module[0], '/', "module path not absolute: %s", s.module);
    cr_expect_eq(s.module_offset, (uintptr_t)addr - (uintptr_t)info.dli_fbase);

    char buf[256];
    ps_symbol_string(addr, buf, sizeof buf);
    cr_expect_str_eq(buf, "ps_unit_static_target+0x4 (unit_tests)");
    ps_symbol_func(addr, buf, sizeof buf);
    cr_expect_str_eq(buf, "ps_unit_static_target");
}

Test(symbol, names_a_libc_function)
{
    void *fn = libc_sym("qsort");
    cr_assert_not_null(fn);
    const char *addr = (const char *)fn + 2;
    struct ps_sym s;
    cr_assert_eq(ps_symbolize(addr, &s), 0);
    cr_expect(ends_with(s.module, "libc.so.6"), "module %s", s.module);
    cr_expect_eq(s.offset, 2);
    cr_expect_eq(libc_sym(s.name), fn, "name %s does not resolve to qsort", s.name);
    char buf[256];
    ps_symbol_string(addr, buf, sizeof buf);
    char want[300];
    snprintf(want, sizeof want, "%s+0x2 (libc.so.6)", s.name);
    cr_expect_str_eq(buf, want);
}

Test(symbol, alternates_between_modules)
{
    /* the .symtab reader caches one module: switching back and forth must not mix them */
    struct ps_sym s;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ps_symbolize((const char *)ps_unit_static_target + 1, &s), 0);
        cr_expect_str_eq(s.name, "ps_unit_static_target");
        cr_assert_eq(ps_symbolize((const char *)libc_sym("qsort") + 1, &s), 0);
        cr_expect(ends_with(s.module, "libc.so.6"));
    }
}

Test(symbol, unknown_addresses_fall_back_to_hex)
{
    struct ps_sym s;
    int local;
    char buf[64], want[64];
    cr_expect_eq(ps_symbolize(NULL, &s), -1);
    cr_expect_eq(ps_symbolize(&local, &s), -1, "a stack address is in no module");
    cr_expect_str_empty(s.name);
    ps_symbol_string(&local, buf, sizeof buf);
    snprintf(want, sizeof want, "0x%lx", (unsigned long)(uintptr_t)&local);
    cr_expect_str_eq(buf, want);
    ps_symbol_func(NULL, buf, sizeof buf);
    cr_expect_str_eq(buf, "0x0");
}

/* Answers are remembered (symbol.c's memo): a second lookup of an address, by
 * any of the calls, says what the first said, a function's name never
 * answering for a data symbol at another address or the other way round. */
int ps_unit_data_target[8];
Test(symbol, remembered_answers_are_the_first_ones)
{
    char first[256], again[256];
    const char *fn = (const char *)ps_unit_static_target + 4;
    for (int i = 0; i < 2; i++) {
        ps_symbol_string(fn, i ? again : first, sizeof first);
        if (i)
            cr_expect_str_eq(again, first);
    }
    cr_expect_str_eq(first, "ps_unit_static_target+0x4 (unit_tests)");
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(ps_symbol_data(&ps_unit_data_target[3], i ? again : first, sizeof first), 1);
        if (i)
            cr_expect_str_eq(again, first);
    }
    cr_expect_str_eq(first, "ps_unit_data_target+0xc");
    ps_symbol_func(fn, again, sizeof again);
    cr_expect_str_eq(again, "ps_unit_static_target", "the data lookup in between did not answer for the function");
    int local;
    cr_expect_eq(ps_symbol_data(&local, again, sizeof again), 0, "a stack address is no data symbol, twice");
    cr_expect_eq(ps_symbol_data(&local, again, sizeof again), 0);
}

Test(symbol, a_function_name_longer_than_a_symbols_is_named_whole)
{
    cr_assert_eq(ps_unit_a_function_whose_name_is_longer_than_the_one_hundred_and_twenty_seven_characters_a_symbols_name_is_kept_to_as_lambdas_handlers_are(1), 2);
    const char *want = "ps_unit_a_function_whose_name_is_longer_than_the_one_hundred_and_twenty_seven_characters_a_symbols_name_is_kept_to_as_lambdas_handlers_are";
    cr_assert_gt(strlen(want), sizeof ((struct ps_sym *)0)->name);
    char buf[512];
    ps_symbol_func((const char *)ps_unit_a_function_whose_name_is_longer_than_the_one_hundred_and_twenty_seven_characters_a_symbols_name_is_kept_to_as_lambdas_handlers_are + 2, buf, sizeof buf);
    cr_expect_str_eq(buf, want);
    char small[64];              /* a caller's smaller buffer: cut, as any name */
    ps_symbol_func((const char *)ps_unit_a_function_whose_name_is_longer_than_the_one_hundred_and_twenty_seven_characters_a_symbols_name_is_kept_to_as_lambdas_handlers_are + 2, small, sizeof small);
    cr_expect_eq(strncmp(small, want, sizeof small - 1), 0, "%s", small);
}
