/* symname.c: what to print for a function's symbol when it names a pool.
 * A pool's name is read by people and typed back into POOLSHIM_EXPAND and
 * POOLSHIM_POOL, so a C++ symbol is demangled and cut to the function's
 * qualified name: `thread_native_entry`, not `_ZL19thread_native_entryP6Thread`
 * nor `thread_native_entry(Thread*)` (overloads of one start routine are rare;
 * the parameters only make the name long).
 *
 * Demangling C++ in full is libstdc++'s job: __cxa_demangle is called only
 * when the process has it loaded already (any C++ program: HotSpot, node; we
 * add no library to someone else's process), and only on the agent or at
 * exit, since it allocates (freed with free, the family the process
 * allocates with). A few simple forms (a function or method of plain names)
 * are read here without it, so that a host thread choosing its pool at its
 * start (POOLSHIM_POOL, pool.c) and a program with a static libstdc++ read
 * them the same. Everything else stays as the symbol table says. */
#include "symname.h"
#include "log.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* Names longer than this read their template arguments as <...>. */
#define SHORT_MAX 96

struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && o->len + 1 < o->cap; i++)
        o->buf[o->len++] = s[i];
    if (o->cap)
        o->buf[o->len] = 0;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static int starts(const char *s, const char *p)
{
    return !strncmp(s, p, strlen(p));
}

static const char ANON[] = "(anonymous namespace)";

/* Index just past the bracketed group opened at s[i], or the end. */
static size_t close_of(const char *s, size_t i)
{
    int depth = 0;
    for (; s[i]; i++) {
        if (strchr("(<{[", s[i]))
            depth++;
        else if (strchr(")>}]", s[i]) && --depth == 0)
            return i + 1;
    }
    return i;
}

/* Where the name starts: after a return type ("void foo<int>(int)"), i.e.
 * after the last space outside brackets before the parameter list. */
static size_t name_start(const char *s)
{
    size_t start = 0;
    for (size_t i = 0; s[i];) {
        if (starts(s + i, ANON))
            i += sizeof ANON - 1;
        else if (starts(s + i, "operator()"))
            i += 10;
        else if (s[i] == '(')
            break;
        else if (strchr("<{[", s[i]))
            i = close_of(s, i);
        else if (s[i] == ' ' && !(i >= 8 && !strncmp(s + i - 8, "operator", 8)))
            start = ++i;
        else
            i++;
    }
    return start;
}

static int ends(const char *s, size_t n, const char *tail)
{
    size_t m = strlen(tail);
    return n >= m && !strncmp(s + n - m, tail, m);
}

static void shorten(const char *dm, struct out *o, int collapse)
{
    const char *s = dm + name_start(dm);
    for (size_t i = 0; s[i];) {
        if (starts(s + i, ANON)) {
            puts_(o, ANON);
            i += sizeof ANON - 1;
        } else if (starts(s + i, "operator()")) {
            puts_(o, "operator()");
            i += 10;
        } else if (s[i] == '(') {
            size_t j = close_of(s, i);
            if (!starts(s + j, "::"))
                break;              /* the function's own parameters, and what follows them (const, [clone]) */
            puts_(o, j == i + 2 ? "()" : "(...)");
            i = j;
        } else if (s[i] == '{') {
            size_t j = close_of(s, i);
            if (starts(s + i, "{lambda"))
                puts_(o, "{lambda}");
            else
                put(o, s + i, j - i);
            i = j;
        } else if (starts(s + i, "[abi:")) {
            i = close_of(s, i);
        } else if (s[i] == '<') {
            size_t j = close_of(s, i);
            if (collapse)
                puts_(o, "<...>");
            else
                put(o, s + i, j - i);
            i = j;
        } else {
            put(o, s + i, 1);
            i++;
        }
    }
    /* a closure's call operator, or the static function that calls it (its
     * conversion to a function pointer: GCC's _FUN, clang's __invoke), is the lambda */
    static const char *const calls[] = { "::operator()", "::_FUN", "::__invoke" };
    for (int k = 0; k < 3; k++)
        if (ends(o->buf, o->len, calls[k]) && ends(o->buf, o->len - strlen(calls[k]), "{lambda}"))
            o->buf[o->len -= strlen(calls[k])] = 0;
    /* Rust's legacy mangling ends each name with a hash: ::h and 16 hex digits */
    if (o->len > 19 && !strncmp(o->buf + o->len - 19, "::h", 3) &&
        strspn(o->buf + o->len - 16, "0123456789abcdef") == 16)
        o->buf[o->len -= 19] = 0;
}

/* std::thread's _M_run for a callable (entry.c: the third slot of its
 * state's vtable) says the callable in its template arguments:
 * "std::thread::_State_impl<std::thread::_Invoker<std::tuple<F, Args...> > >::_M_run()".
 * The thread runs F (a lambda, a functor's class): its name, into tmp.
 * Given a function (a pointer), entry.c finds it in the state itself. */
static const char STATE_RUN[] = "std::thread::_State_impl<std::thread::_Invoker<std::tuple<";
static const char *thread_callable(const char *dm, char *tmp, size_t cap)
{
    if (strncmp(dm, STATE_RUN, sizeof STATE_RUN - 1) || !strstr(dm, ">::_M_run"))
        return dm;
    const char *f = dm + sizeof STATE_RUN - 1;
    size_t i = 0;
    while (f[i] && f[i] != ',' && f[i] != '>')
        i = strchr("(<{[", f[i]) ? close_of(f, i) : i + 1;
    if (!i || i >= cap)
        return dm;
    memcpy(tmp, f, i);
    tmp[i] = 0;
    /* a function's type ("void (*)(int)") names no function: as it was */
    return strstr(tmp, "(*)") || strstr(tmp, "(&)") ? dm : tmp;
}

/* A std::function's handler names the callable it holds in its second
 * template argument: "std::_Function_handler<void (), F>::_M_invoke(...)".
 * A std::thread given a std::function (rocksdb's table loaders, a lambda
 * in each) starts there (entry.c): it runs F. */
static const char FUNCTION_HANDLER[] = "std::_Function_handler<";
static const char *function_callable(const char *dm, char *tmp, size_t cap)
{
    if (strncmp(dm, FUNCTION_HANDLER, sizeof FUNCTION_HANDLER - 1))
        return dm;
    const char *f = dm + sizeof FUNCTION_HANDLER - 1;
    size_t i = 0;
    while (f[i] && f[i] != ',' && f[i] != '>')     /* the signature */
        i = strchr("(<{[", f[i]) ? close_of(f, i) : i + 1;
    if (f[i] != ',')
        return dm;
    f += i + 1 + (f[i + 1] == ' ');
    for (i = 0; f[i] && f[i] != '>';)
        i = strchr("(<{[", f[i]) ? close_of(f, i) : i + 1;
    if (!i || f[i] != '>' || i >= cap)
        return dm;
    memcpy(tmp, f, i);
    tmp[i] = 0;
    return tmp;
}

void ps_symname_shorten(const char *demangled, char *buf, size_t cap)
{
    struct out o = { buf, cap, 0 };
    if (!cap)
        return;
    buf[0] = 0;
    char callable[512], held[512];
    demangled = thread_callable(demangled, callable, sizeof callable);
    demangled = function_callable(demangled, held, sizeof held);
    shorten(demangled, &o, 0);
    if (o.len > SHORT_MAX) {
        o.len = 0;
        buf[0] = 0;
        shorten(demangled, &o, 1);
    }
}

/* <source-name>: a length and that many characters; NULL if sym ends first. */
static const char *source_name(const char *p, struct out *o)
{
    size_t n = 0;
    if (*p < '1' || *p > '9')
        return NULL;
    for (int d = 0; *p >= '0' && *p <= '9'; p++, d++) {
        if (d == 4)
            return NULL;
        n = n * 10 + (size_t)(*p - '0');
    }
    if (strnlen(p, n) < n)
        return NULL;
    if (n >= 10 && !strncmp(p, "_GLOBAL__N", 10))
        puts_(o, ANON);
    else
        put(o, p, n);
    return p + n;
}

int ps_symname_demangle_simple(const char *sym, char *buf, size_t cap)
{
    char name[256];
    struct out o = { name, sizeof name, 0 };
    name[0] = 0;
    if (!sym || strncmp(sym, "_Z", 2) || cap < 2)
        return -1;
    const char *p = sym + 2;
    if (*p == 'N') {
        p++;
        p += strspn(p, "rVK");              /* a method's cv-qualifiers */
        if (*p == 'R' || *p == 'O')
            p++;
        size_t last = 0;                    /* where the last component starts in name */
        for (int n = 0; *p != 'E'; n++) {
            if (*p == 'L')                  /* internal linkage (a static function) */
                p++;
            if (n)
                puts_(&o, "::");
            if ((*p == 'C' && p[1] >= '1' && p[1] <= '3') || (*p == 'D' && p[1] >= '0' && p[1] <= '2')) {
                if (!n)
                    return -1;
                char prev[128];
                size_t l = o.len - 2 - last < sizeof prev - 1 ? o.len - 2 - last : sizeof prev - 1;
                memcpy(prev, name + last, l);
                prev[l] = 0;
                if (*p == 'D')
                    puts_(&o, "~");
                puts_(&o, prev);
                p += 2;
                continue;
            }
            last = o.len;
            if (!(p = source_name(p, &o)))
                return -1;                  /* a template, a substitution, an operator: libstdc++'s job */
        }
        p++;
    } else {
        if (*p == 'L')
            p++;
        if (!(p = source_name(p, &o)))
            return -1;
    }
    if (*p == 'I')
        return -1;                          /* template arguments */
    ps_symname_shorten(name, buf, cap);
    return 0;
}

typedef char *cxa_demangle_fn(const char *, char *, size_t *, int *);

const char *ps_symname_show(const char *sym, int with_lib, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    if (!strncmp(sym, "_Z", 2)) {
        /* looked up each time: a program may dlopen libstdc++ late (pools are named once each) */
        cxa_demangle_fn *dm = with_lib ? (cxa_demangle_fn *)dlsym(RTLD_DEFAULT, "__cxa_demangle") : NULL;
        int st = -1;
        char *full = dm ? dm(sym, NULL, NULL, &st) : NULL;
        if (full && !st) {
            ps_symname_shorten(full, buf, cap);
            free(full);
            if (buf[0])
                return buf;
        } else if (full) {
            free(full);
        }
        if (!ps_symname_demangle_simple(sym, buf, cap))
            return buf;
    }
    ps_fmt(buf, cap, "%s", sym);
    return buf;
}

int ps_symname_is_generic(const char *sym, const char *shown)
{
    if (!strcmp(shown, "thread_native_entry"))          /* HotSpot: every Java thread */
        return 1;
    if (!strcmp(shown, "threadentry"))                  /* cgo: every thread of Go's runtime */
        return 1;
    /* Rust's std::thread: v0 symbols are not demangled here, legacy ones are */
    size_t n = strlen(sym);
    if (!strncmp(sym, "_R", 2) && strstr(sym, "3std") && n > 14 && !strcmp(sym + n - 14, "12thread_start"))
        return 1;
    n = strlen(shown);
    return !strncmp(shown, "std::", 5) && n > 14 && !strcmp(shown + n - 14, "::thread_start");
}
