/* graph.h: the wait-for graph of a dump: who waits for whom, through which
 * object. Built from the dump's wait_for.edges plus each thread's
 * blocked_on.owner (so a dump with either is read right), with cycles
 * (deadlocks) found here by strongly connected components rather than
 * trusted from the file, and how many threads each thread holds up. */
#ifndef AN_GRAPH_H
#define AN_GRAPH_H
#include <jansson.h>

struct an_edge { int from, to; const char *object, *kind; };
struct an_graph {
    int n;                 /* nodes */
    long long *tid;        /* node -> tid, sorted */
    json_t **thread;       /* node -> the dump's thread object (first with that tid), or NULL */
    int ne;
    struct an_edge *e;     /* deduplicated on (from, to) */
    int *direct;           /* per node: threads waiting on it directly */
    int *blocked;          /* per node: threads waiting on it directly or through others */
    int *cycle;            /* per node: index of its cycle + 1, or 0 */
    json_t *cycles;        /* array of arrays of tids, each in wait order */
};

int an_graph_build(struct an_graph *g, const json_t *dump);
int an_graph_node(const struct an_graph *g, long long tid);   /* -1 if absent */
void an_graph_free(struct an_graph *g);
#endif
