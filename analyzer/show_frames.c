/* show_frames.c: a dump's stack as the reader of `poolshim show` sees it
 * (show.h): one frame per function as a debugger lists them, so the calls
 * inlined at an address come first, each with its own file:line; the shim's
 * own frames (libpoolshim.so: our wrappers, lock_wait, the thread
 * trampoline) left out unless asked for. A frame's text names the function
 * and its line, and no offset when the line is known: threads stopped at the
 * same line of the same function are in the same place, whatever the
 * instruction. */
#include "show.h"
#include "jget.h"
#include <stdio.h>
#include <string.h>

static const char *base(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path;
}

int an_frame_is_shim(const json_t *frame)
{
    const char *m = base(an_str(frame, "module"));
    return m && !strncmp(m, "libpoolshim", 11);
}

/* "fn at file.c:12 (inlined)", "fn at file.c:12 (module)", or without a
 * line an_frame's "fn+0x1c (module)" (the offset is then all that tells two
 * places in fn apart). */
static json_t *vframe(const json_t *f, const char *fn, const char *file, json_int_t line, int inlined)
{
    char buf[600], fb[512];
    const char *mod = base(an_str(f, "module"));
    if (!fn) snprintf(buf, sizeof buf, "%s", an_frame(fb, sizeof fb, f));
    else if (file && line > 0)
        snprintf(buf, sizeof buf, "%s at %s:%lld (%s)", fn, base(file), (long long)line,
                 inlined ? "inlined" : mod ? mod : "?");
    else if (inlined) snprintf(buf, sizeof buf, "%s (inlined)", fn);
    else snprintf(buf, sizeof buf, "%s", an_frame(fb, sizeof fb, f));
    json_t *o = json_object();
    json_object_set_new(o, "text", json_string(buf));
    json_object_set_new(o, "function", fn ? json_string(fn) : json_null());
    json_object_set_new(o, "file", file ? json_string(file) : json_null());
    json_object_set_new(o, "line", line > 0 ? json_integer(line) : json_null());
    an_copy_scalar(o, f, "module");
    if (inlined) json_object_set_new(o, "inlined", json_true());
    else {
        an_copy_scalar(o, f, "addr");
        if (!(file && line > 0)) an_copy_scalar(o, f, "offset");
    }
    return o;
}

json_t *an_show_frames(const json_t *stack, unsigned flags)
{
    json_t *out = json_array(), *f, *in;
    size_t i, k;
    json_array_foreach(stack, i, f) {
        if (!json_is_object(f) || (!(flags & AN_SHOW_ALL_FRAMES) && an_frame_is_shim(f))) continue;
        json_array_foreach(an_arr(f, "inlined"), k, in)
            if (json_is_object(in) && an_str(in, "symbol"))
                json_array_append_new(out, vframe(f, an_str(in, "symbol"), an_str(in, "file"),
                                                  an_int(in, "line", 0), 1));
        json_array_append_new(out, vframe(f, an_str(f, "symbol"), an_str(f, "file"), an_int(f, "line", 0), 0));
    }
    return out;
}

json_t *an_show_dump_frames(const json_t *stack, unsigned flags)
{
    json_t *out = json_array(), *f;
    size_t i;
    json_array_foreach(stack, i, f)
        if (json_is_object(f) && ((flags & AN_SHOW_ALL_FRAMES) || !an_frame_is_shim(f))) json_array_append(out, f);
    return out;
}

json_t *an_show_frame_texts(const json_t *frames)
{
    json_t *out = json_array(), *f;
    size_t i;
    json_array_foreach(frames, i, f) json_array_append(out, json_object_get(f, "text"));
    return out;
}
