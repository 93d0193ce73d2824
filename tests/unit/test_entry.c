/* Unit tests for shim/record/entry.c: what a trampoline's argument says its thread
 * runs. An argument that is a function (lbzip2's) is the entry; else a
 * first word that points into loaded code; else a later word (up to the 4th,
 * APR's apr_thread_t) that starts a function of another object than the
 * routine's, in an object loaded before the constructor or dlopened after;
 * any other argument (NULL, a number, unmapped memory, a struct of data, a
 * pointer into the middle of a function) gives NULL without faulting, and
 * errno is left as it was. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include "entry.h"

/* init.c's, which the unit tests do not link (no constructor): 0 makes
 * ps_peek ask getpid(). */
int ps_pid;

static void *routine(void *arg) { return arg; }
static void real_work(void *arg) { (void)arg; }
static int some_data = 42;

struct capsule {                 /* pigz's yarn and GLib pass this shape */
    void (*fn)(void *);
    void *payload;
};

/* A trampoline of a library's (APR's dummy_worker is libapr's): jemalloc's
 * mallctl stands in for one, never called. Only a library's routine has its
 * struct searched past the first word. */
static void *lib_routine;
static void entry_init(void)
{
    ps_entry_init();
    lib_routine = dlsym(RTLD_DEFAULT, "mallctl");
    cr_assert_not_null(lib_routine, "%s", dlerror());
}

TestSuite(entry, .init = entry_init);

Test(entry, first_word_pointing_into_code_is_the_entry)
{
    struct capsule c = { real_work, &some_data };
    cr_expect_eq(ps_entry_of((void *)routine, &c), (void *)real_work);
}

Test(entry, an_argument_that_is_a_function_is_the_entry)
{
    cr_expect_eq(ps_entry_of((void *)routine, (void *)real_work), (void *)real_work);
    cr_expect_eq(ps_entry_of((void *)routine, (void *)ps_entry_init), (void *)ps_entry_init, "one of the program's");
    cr_expect_eq(ps_entry_of((void *)routine, (void *)getpid), (void *)getpid, "one of libc's");
    cr_expect_null(ps_entry_of((void *)routine, (void *)routine), "the routine itself is no entry");
}

Test(entry, a_pointer_into_code_that_starts_no_function_is_no_entry)
{
    /* inside real_work: code, but no function starts there; read as a struct
     * its first word is machine code, not a code address */
    cr_expect_null(ps_entry_of((void *)routine, (void *)((char *)real_work + 1)));
    cr_expect_null(ps_entry_of((void *)routine, (void *)((char *)ps_entry_of + 8)));
    cr_expect_null(ps_entry_of((void *)routine, (void *)"a string literal"));
}

Test(entry, arguments_that_are_not_a_trampoline_struct_give_null)
{
    struct { void *p; } data = { &some_data };
    uintptr_t self_ref = (uintptr_t)routine;
    cr_expect_null(ps_entry_of((void *)routine, NULL));
    cr_expect_null(ps_entry_of((void *)routine, (void *)(uintptr_t)7), "a small number, unaligned");
    cr_expect_null(ps_entry_of((void *)routine, (void *)(uintptr_t)0x1000), "unmapped page: no fault");
    cr_expect_null(ps_entry_of((void *)routine, &data), "first word points to data");
    cr_expect_null(ps_entry_of((void *)routine, &self_ref), "the routine itself is no entry");
}

struct apr_like {                /* APR 1.7's apr_thread_t */
    void *pool, *td, *data;
    void *func;
    int exitval;
};

Test(entry, a_later_word_that_starts_a_function_of_another_object_is_the_entry)
{
    struct apr_like t = { &some_data, &some_data, &some_data, (void *)getpid, 0 };
    cr_expect_eq(ps_entry_of(lib_routine, &t), (void *)getpid);
    /* a program's own routine is no trampoline there: its struct may hold a
     * library's function it only calls (a destructor such as free) */
    cr_expect_null(ps_entry_of((void *)routine, &t));
}

Test(entry, a_later_word_of_the_routines_own_object_or_inside_a_function_is_no_entry)
{
    /* a program's worker whose struct holds a callback of its own keeps its routine */
    struct apr_like own = { &some_data, &some_data, &some_data, (void *)real_work, 0 };
    cr_expect_null(ps_entry_of((void *)routine, &own));
    struct apr_like inside = { &some_data, &some_data, &some_data, (char *)getpid + 1, 0 };
    cr_expect_null(ps_entry_of(lib_routine, &inside));
    struct apr_like later = { &some_data, &some_data, &some_data, &some_data, 0 };
    cr_expect_null(ps_entry_of(lib_routine, &later));
}

/* httpd's ap_thread_create: the apr_thread_t's function (thread_start) runs
 * the {func, data} its data word points to */
Test(entry, a_closure_the_trampolines_function_is_handed_names_the_entry)
{
    void *closure[2] = { (void *)real_work, &some_data };
    struct apr_like t = { &some_data, &some_data, closure, (void *)getpid, 0 };
    cr_expect_eq(ps_entry_of(lib_routine, &t), (void *)real_work);
}

Test(entry, a_table_of_functions_the_trampolines_function_is_handed_is_no_closure)
{
    void *ops[2] = { (void *)real_work, (void *)routine };
    struct apr_like t = { &some_data, &some_data, ops, (void *)getpid, 0 };
    cr_expect_eq(ps_entry_of(lib_routine, &t), (void *)getpid);
    void *data[2] = { &some_data, &some_data };
    struct apr_like u = { &some_data, &some_data, data, (void *)getpid, 0 };
    cr_expect_eq(ps_entry_of(lib_routine, &u), (void *)getpid);
}

/* libuv: in deps.sh, and not linked into this runner (loaded here, after
 * the table was built, as LoadModule loads Apache's MPM) */
Test(entry, functions_of_an_object_dlopened_after_init_are_entries)
{
    void *h = dlopen("libuv.so.1", RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "%s", dlerror());
    void *fn = dlsym(h, "uv_version");
    cr_assert_not_null(fn);
    struct apr_like t = { &some_data, &some_data, &some_data, fn, 0 };
    cr_expect_eq(ps_entry_of(lib_routine, &t), fn, "4th word");
    struct capsule c = { (void (*)(void *))fn, NULL };
    cr_expect_eq(ps_entry_of((void *)routine, &c), fn, "first word");
    cr_expect_eq(ps_entry_of((void *)routine, fn), fn, "the argument itself");
    struct apr_like inside = { &some_data, &some_data, &some_data, (char *)fn + 1, 0 };
    cr_expect_null(ps_entry_of(lib_routine, &inside), "inside it");
    dlclose(h);
}

Test(entry, errno_is_preserved)
{
    errno = 1234;
    ps_entry_of((void *)routine, (void *)(uintptr_t)0x1000);   /* the read fails with EFAULT */
    cr_expect_eq(errno, 1234);
    struct capsule c = { real_work, NULL };
    ps_entry_of((void *)routine, &c);
    cr_expect_eq(errno, 1234);
}

/* std::thread: libstdc++ starts every one at a local routine of its own with
 * a std::thread::_State, a C++ object whose vtable's third slot (_M_run, after
 * the two destructors) runs the thread's callable. Only for libstdc++'s
 * routine: HotSpot's thread_native_entry (libjvm) is given a JavaThread,
 * whose third slot named its pool "JavaThread::~JavaThread". An Itanium
 * primary vtable: offset-to-top 0, typeinfo (here none: -fno-rtti), slots. */
static void state_d1(void *self) { (void)self; }
static void state_d0(void *self) { (void)self; }
static void state_run(void *self) { (void)self; }
static const uintptr_t state_vtable[5] = { 0, 0, (uintptr_t)state_d1, (uintptr_t)state_d0, (uintptr_t)state_run };
static const uintptr_t shifted_vtable[5] = { 16, 0, (uintptr_t)state_d1, (uintptr_t)state_d0, (uintptr_t)state_run };
static const uintptr_t data_vtable[5] = { 0, 0, (uintptr_t)state_d1, (uintptr_t)&some_data, (uintptr_t)state_run };
struct state {
    const uintptr_t *vptr;
    long captured[2];                /* a lambda's captures: data, no function */
};

/* libstdc++ loaded before the constructor's table is taken, as in any C++
 * program; one of its exported functions stands in for its local routine */
static void *stdcxx_routine;
static void stdcxx_init(void)
{
    cr_assert_not_null(dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL), "%s", dlerror());
    entry_init();
    stdcxx_routine = dlsym(RTLD_DEFAULT, "_ZNSt6thread4joinEv");
    cr_assert_not_null(stdcxx_routine, "%s", dlerror());
}

TestSuite(entry_std_thread, .init = stdcxx_init);

Test(entry_std_thread, libstdcxxs_routine_runs_its_states_third_slot)
{
    struct state s = { &state_vtable[2], { 7, 8 } };
    cr_expect_eq(ps_entry_of(stdcxx_routine, &s), (void *)state_run);
}

Test(entry_std_thread, another_librarys_routine_given_a_cxx_object_has_no_entry)
{
    struct state s = { &state_vtable[2], { 7, 8 } };
    cr_expect_null(ps_entry_of(lib_routine, &s));
}

Test(entry_std_thread, what_is_no_primary_vtable_of_code_gives_null)
{
    struct state s = { &shifted_vtable[2], { 7, 8 } };
    cr_expect_null(ps_entry_of(stdcxx_routine, &s), "offset-to-top not 0");
    s.vptr = &data_vtable[2];
    cr_expect_null(ps_entry_of(stdcxx_routine, &s), "a slot that is data");
    s.vptr = (const uintptr_t *)&some_data;
    cr_expect_null(ps_entry_of(stdcxx_routine, &s), "no vtable at all");
}
