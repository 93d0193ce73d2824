/* load.h: the one reader of poolshim files (reports and dumps). It turns any
 * input into either a checked document or one line saying what is wrong, and
 * it is the only place that knows about format versions: older versions are
 * upgraded to the current shape here, so nothing downstream branches on it. */
#ifndef AN_LOAD_H
#define AN_LOAD_H
#include <stddef.h>
#include <jansson.h>

enum { AN_REPORT = 1, AN_DUMP = 2 };
#define AN_VERSION_MIN 1
#define AN_VERSION_MAX 1

struct an_doc {
    const char *path;   /* as given (not owned) */
    json_t *root;       /* upgraded to AN_VERSION_MAX's shape */
    int kind;           /* AN_REPORT or AN_DUMP */
    int version;        /* as found in the file */
};

/* Reads path; kinds is a mask of the kinds accepted. On error returns -1 and
 * writes one line (no file name, no newline) into msg. */
int an_load(const char *path, unsigned kinds, struct an_doc *doc, char *msg, size_t msglen);
/* The same checks on bytes in memory (the fuzzer's entry point). */
int an_load_buffer(const char *buf, size_t len, unsigned kinds, struct an_doc *doc,
                   char *msg, size_t msglen);
void an_doc_free(struct an_doc *doc);
#endif
