/* Unit tests for shim/base/symname.c: C++ names cut to what names a pool,
 * the simple forms read without libstdc++, and the runtime entries that say
 * nothing about a pool. */
#include <criterion/criterion.h>
#include <string.h>
#include "symname.h"

static const char *cut(const char *dm)
{
    static char buf[160];
    ps_symname_shorten(dm, buf, sizeof buf);
    return buf;
}

Test(symname, shorten_drops_parameters_return_type_and_qualifiers)
{
    cr_expect_str_eq(cut("thread_native_entry(Thread*)"), "thread_native_entry");
    cr_expect_str_eq(cut("node::(anonymous namespace)::PlatformWorkerThread(void*)"),
                     "node::(anonymous namespace)::PlatformWorkerThread");
    cr_expect_str_eq(cut("void std::__invoke_impl<void, F>(std::__invoke_other, F&&)"), "std::__invoke_impl<void, F>");
    cr_expect_str_eq(cut("shop::Till::ring(int) const"), "shop::Till::ring");
    cr_expect_str_eq(cut("foo(int) [clone .constprop.0]"), "foo");
    cr_expect_str_eq(cut("std::string abi_thing[abi:cxx11](int)"), "abi_thing");
    cr_expect_str_eq(cut("plain_c_function"), "plain_c_function");
    cr_expect_str_eq(cut("Pool::operator()(Task&)"), "Pool::operator()");
}

Test(symname, shorten_reads_a_lambda_as_its_enclosing_function)
{
    cr_expect_str_eq(cut("node::worker::Worker::StartThread(v8::FunctionCallbackInfo<v8::Value> const&)::{lambda(void*)#1}::_FUN(void*)"),
                     "node::worker::Worker::StartThread(...)::{lambda}");
    cr_expect_str_eq(cut("node::WorkerThreadsTaskRunner::DelayedTaskScheduler::Start()::{lambda(void*)#1}::_FUN(void*)"),
                     "node::WorkerThreadsTaskRunner::DelayedTaskScheduler::Start()::{lambda}");
    cr_expect_str_eq(cut("main::{lambda(void*)#2}::operator()(void*) const"), "main::{lambda}");
    cr_expect_str_eq(cut("f()::{lambda(void*)#1}::__invoke(void*)"), "f()::{lambda}");
}

Test(symname, shorten_collapses_long_template_arguments_and_rust_hashes)
{
    const char *dm = "std::thread::_State_impl<std::thread::_Invoker<std::tuple<void (*)(shop::Queue&, int), "
                     "std::reference_wrapper<shop::Queue>, int> > >::_M_run()";
    cr_expect_str_eq(cut(dm), "std::thread::_State_impl<...>::_M_run");
    cr_expect_str_eq(cut("std::sys::unix::thread::Thread::new::thread_start::h8d5f3a0c1b2e4f60"),
                     "std::sys::unix::thread::Thread::new::thread_start");
}

Test(symname, shorten_stays_within_its_buffer)
{
    char small[8];
    ps_symname_shorten("a_long_function_name(int)", small, sizeof small);
    cr_expect_str_eq(small, "a_long_");
    ps_symname_shorten("unbalanced(<{[", small, sizeof small);
    cr_expect_str_eq(small, "unbalan");
}

Test(symname, simple_forms_are_read_without_a_library)
{
    char buf[160];
    cr_assert_eq(ps_symname_demangle_simple("_ZL19thread_native_entryP6Thread", buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "thread_native_entry");
    cr_assert_eq(ps_symname_demangle_simple("_ZN4shopL11till_workerEPv", buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "shop::till_worker");
    cr_assert_eq(ps_symname_demangle_simple("_ZN4node12_GLOBAL__N_1L20PlatformWorkerThreadEPv", buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "node::(anonymous namespace)::PlatformWorkerThread");
    cr_assert_eq(ps_symname_demangle_simple("_ZN4shop4TillC2Ev", buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "shop::Till::Till");
    cr_assert_eq(ps_symname_demangle_simple("_ZNK4shop4Till4ringEi", buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "shop::Till::ring");
    cr_assert_eq(ps_symname_demangle_simple("_ZN3std3sys4unix6thread6Thread3new12thread_start17h8d5f3a0c1b2e4f60E",
                                            buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "std::sys::unix::thread::Thread::new::thread_start");
    /* templates, local names, substitutions, truncated names: not here */
    cr_expect_eq(ps_symname_demangle_simple("_ZZN4shop6Bakery5startEvENUlPvE_4_FUNES1_", buf, sizeof buf), -1);
    cr_expect_eq(ps_symname_demangle_simple("_Z3maxIiET_S0_S0_", buf, sizeof buf), -1);
    cr_expect_eq(ps_symname_demangle_simple("_ZNSt6thread11_State_implE", buf, sizeof buf), -1);
    cr_expect_eq(ps_symname_demangle_simple("_ZN4shop99tooshort", buf, sizeof buf), -1);
    cr_expect_eq(ps_symname_demangle_simple("worker", buf, sizeof buf), -1);
}

Test(symname, show_leaves_c_rust_v0_and_addresses_alone)
{
    char buf[160];
    cr_expect_str_eq(ps_symname_show("worker", 1, buf, sizeof buf), "worker");
    cr_expect_str_eq(ps_symname_show("7z.so+0xd16c0", 1, buf, sizeof buf), "7z.so+0xd16c0");
    const char *v0 = "_RNvNvMs0_NtNtNtCsjrHSEGnQ3l9_3std3sys6thread4unixNtB7_6Thread3new12thread_start";
    cr_expect_str_eq(ps_symname_show(v0, 1, buf, sizeof buf), v0);
    /* without the library the simple form still reads */
    cr_expect_str_eq(ps_symname_show("_ZL19thread_native_entryP6Thread", 0, buf, sizeof buf), "thread_native_entry");
    /* with it (the runner links libstdc++), a lambda reads too */
    ps_symname_show("_ZZN4shop6Bakery5startEvENUlPvE_4_FUNES1_", 1, buf, sizeof buf);
    cr_expect(!strcmp(buf, "shop::Bakery::start()::{lambda}") || !strcmp(buf, "_ZZN4shop6Bakery5startEvENUlPvE_4_FUNES1_"),
              "%s", buf);
}

/* std::thread's state runs the callable named in its template arguments */
Test(symname, a_std_thread_state_reads_as_its_callable)
{
    char buf[160];
    ps_symname_shorten("std::thread::_State_impl<std::thread::_Invoker<std::tuple<Pool::start(int)::{lambda()#1}> > >"
                       "::_M_run()", buf, sizeof buf);
    cr_expect_str_eq(buf, "Pool::start(...)::{lambda}");
    ps_symname_shorten("std::thread::_State_impl<std::thread::_Invoker<std::tuple<shop::Oven, int, std::vector<int, "
                       "std::allocator<int> > > > >::_M_run()", buf, sizeof buf);
    cr_expect_str_eq(buf, "shop::Oven");
    /* a std::function it was given runs the callable the function holds */
    ps_symname_shorten("std::_Function_handler<void (), rocksdb::VersionBuilder::Rep::LoadTableHandlers("
                       "rocksdb::InternalStats*, int, bool, bool, std::shared_ptr<rocksdb::SliceTransform const> "
                       "const&, unsigned long)::{lambda()#1}>::_M_invoke(std::_Any_data const&)", buf, sizeof buf);
    cr_expect_str_eq(buf, "rocksdb::VersionBuilder::Rep::LoadTableHandlers(...)::{lambda}");
    ps_symname_shorten("std::_Function_handler<void (int), shop::Oven>::_M_invoke(std::_Any_data const&, int&&)", buf,
                       sizeof buf);
    cr_expect_str_eq(buf, "shop::Oven");
    /* anything else of std::thread's is left as it was */
    ps_symname_shorten("std::thread::_M_start_thread(std::unique_ptr<std::thread::_State>, void (*)())", buf, sizeof buf);
    cr_expect_str_eq(buf, "std::thread::_M_start_thread");
}

Test(symname, generic_runtime_entries_are_known)
{
    cr_expect(ps_symname_is_generic("_ZL19thread_native_entryP6Thread", "thread_native_entry"));
    cr_expect(ps_symname_is_generic("_RNvNvMs0_NtNtNtCsjrHSEGnQ3l9_3std3sys6thread4unixNtB7_6Thread3new12thread_start",
                                    "_RNvNvMs0_NtNtNtCsjrHSEGnQ3l9_3std3sys6thread4unixNtB7_6Thread3new12thread_start"));
    cr_expect(ps_symname_is_generic("_ZN3std3sys4unix6thread6Thread3new12thread_start17h8d5f3a0c1b2e4f60E",
                                    "std::sys::unix::thread::Thread::new::thread_start"));
    cr_expect(!ps_symname_is_generic("worker", "worker"));
    cr_expect(!ps_symname_is_generic("_ZN4shopL11till_workerEPv", "shop::till_worker"));
}
