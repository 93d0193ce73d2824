/* load.c: reading and checking poolshim files (see load.h).
 * Order of checks: can the file be read at all (missing, directory, empty, too
 * big), is it text, is it JSON (truncated vs malformed), is it ours (object,
 * version, kind), then the structure the renderers iterate over. Each failure
 * is one plain sentence; the caller adds "poolshim: FILE: ". */
#include "load.h"
#include "jget.h"
#include "text.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AN_MAX_BYTES (1024L * 1024 * 1024)

/* Every known version is brought to the current shape here, one step at a
 * time; version 1 is current, so there is nothing to do yet. A future
 * version 2 reader adds "case 1: rename/convert ...; fallthrough". */
static int upgrade(json_t *root, int version, char *msg, size_t n)
{
    (void)root;
    switch (version) {
    case 1:
        return 0;
    default:
        if (version > AN_VERSION_MAX)
            return an_errmsg(msg, n, "format version %d is newer than this poolshim reads (%d..%d); "
                        "use a newer poolshim", version, AN_VERSION_MIN, AN_VERSION_MAX);
        return an_errmsg(msg, n, "unknown format version %d (this poolshim reads %d..%d)",
                    version, AN_VERSION_MIN, AN_VERSION_MAX);
    }
}

/* key, if present, must be an array whose elements are all objects. */
static int check_objects(const json_t *root, const char *key, int required, char *msg, size_t n)
{
    json_t *v = json_object_get(root, key);
    if (!v) return required ? an_errmsg(msg, n, "has no \"%s\" array", key) : 0;
    if (!json_is_array(v)) return an_errmsg(msg, n, "\"%s\" is not an array", key);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
        if (!json_is_object(e)) return an_errmsg(msg, n, "%s[%zu] is not an object", key, i);
    return 0;
}

/* Dumps name a blocked thread's object by address (string) or, for fds and
 * system calls, by number: make every object a string here so that the
 * renderers and the wait-for graph handle one type. */
static void object_to_string(json_t *o)
{
    json_t *v = json_is_object(o) ? json_object_get(o, "object") : NULL;
    if (!json_is_integer(v)) return;
    const char *kind = json_string_value(json_object_get(o, "kind"));
    char buf[48];
    snprintf(buf, sizeof buf, "%s %lld", kind && !strcmp(kind, "syscall") ? "nr" : "fd",
             (long long)json_integer_value(v));
    json_object_set_new(o, "object", json_string(buf));
}

static void normalize(json_t *root, int kind)
{
    if (kind != AN_DUMP) return;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(root, "threads"), i, e) object_to_string(json_object_get(e, "blocked_on"));
    json_array_foreach(json_object_get(json_object_get(root, "wait_for"), "edges"), i, e) object_to_string(e);
}

static int check_structure(json_t *root, int kind, char *msg, size_t n)
{
    if (kind == AN_REPORT) {
        if (check_objects(root, "pools", 1, msg, n)) return -1;
        if (check_objects(root, "threads", 0, msg, n)) return -1;
    } else {
        if (check_objects(root, "threads", 1, msg, n)) return -1;
        if (check_objects(root, "pools", 0, msg, n)) return -1;
        json_t *wf = json_object_get(root, "wait_for");
        if (wf && !json_is_object(wf) && !json_is_null(wf))
            return an_errmsg(msg, n, "\"wait_for\" is not an object");
        if (json_is_object(wf) && check_objects(wf, "edges", 0, msg, n)) return -1;
    }
    if (check_objects(root, "locks", 0, msg, n)) return -1;
    if (check_objects(root, "waits", 0, msg, n)) return -1;
    return 0;
}

int an_load_buffer(const char *buf, size_t len, unsigned kinds, struct an_doc *doc,
                   char *msg, size_t n)
{
    doc->root = NULL;
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')) i++;
    if (i == len) return an_errmsg(msg, n, len ? "only whitespace, not a poolshim file" : "empty file");
    if (memchr(buf, 0, len) || (buf[i] != '{' && buf[i] != '['))
        return an_errmsg(msg, n, "not JSON (binary or other data), not a poolshim file");
    json_error_t je;
    json_t *root = json_loadb(buf, len, 0, &je);
    if (!root) {
        /* jansson reports the position where it stopped: at the end means cut short. */
        if (je.position >= (int)len || strstr(je.text, "end of file") || strstr(je.text, "premature"))
            return an_errmsg(msg, n, "truncated JSON (input ends at line %d): file cut short or still being written",
                        je.line);
        return an_errmsg(msg, n, "invalid JSON at line %d column %d: %s", je.line, je.column, je.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return an_errmsg(msg, n, "JSON but not a poolshim file (top level is not an object)");
    }
    json_t *v = json_object_get(root, "version");
    const char *kind = an_str(root, "kind");
    int rc = -1;
    if (!v && !kind) {
        an_errmsg(msg, n, "JSON but not a poolshim file (no \"version\" nor \"kind\")");
    } else if (!json_is_integer(v)) {
        an_errmsg(msg, n, v ? "\"version\" is not an integer" : "has no \"version\"");
    } else if (json_integer_value(v) < -1000000 || json_integer_value(v) > 1000000) {
        an_errmsg(msg, n, "unknown format version %lld", (long long)json_integer_value(v));
    } else if (!kind) {
        an_errmsg(msg, n, "has no \"kind\" (expected \"report\" or \"dump\")");
    } else {
        doc->version = (int)json_integer_value(v);
        doc->kind = !strcmp(kind, "report") ? AN_REPORT : !strcmp(kind, "dump") ? AN_DUMP : 0;
        if (!doc->kind)
            an_errmsg(msg, n, "unknown kind \"%.40s\" (expected \"report\" or \"dump\")", kind);
        else if (!(doc->kind & kinds))
            an_errmsg(msg, n, doc->kind == AN_REPORT ? "is a report, not a dump: read it with `poolshim report`"
                                                : "is a dump, not a report: read it with `poolshim show`");
        else if (upgrade(root, doc->version, msg, n) == 0 && check_structure(root, doc->kind, msg, n) == 0) {
            normalize(root, doc->kind);
            rc = 0;
        }
    }
    if (rc) {
        json_decref(root);
        return -1;
    }
    doc->root = root;
    return 0;
}

int an_load(const char *path, unsigned kinds, struct an_doc *doc, char *msg, size_t n)
{
    doc->path = path;
    doc->root = NULL;
    /* O_NONBLOCK: opening a FIFO must not hang waiting for a writer (we refuse it below). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) return an_errmsg(msg, n, "no such file");
        return an_errmsg(msg, n, "cannot open: %s", strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return an_errmsg(msg, n, "cannot stat: %s", strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return an_errmsg(msg, n, "is a directory, expected a poolshim .json file");
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return an_errmsg(msg, n, "not a regular file");
    }
    if (st.st_size > AN_MAX_BYTES) {
        close(fd);
        return an_errmsg(msg, n, "too big (%lld bytes), not a poolshim file", (long long)st.st_size);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return an_errmsg(msg, n, "out of memory reading %lld bytes", (long long)st.st_size);
    }
    for (;;) {
        if (len == cap) {   /* the file grew while we read it */
            close(fd);
            free(buf);
            return an_errmsg(msg, n, "file changed while being read");
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            free(buf);
            return an_errmsg(msg, n, "read error: %s", strerror(e));
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    int rc = an_load_buffer(buf, len, kinds, doc, msg, n);
    free(buf);
    return rc;
}

void an_doc_free(struct an_doc *doc)
{
    json_decref(doc->root);
    doc->root = NULL;
}
