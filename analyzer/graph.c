/* graph.c: wait-for graph analysis (see graph.h). Iterative algorithms only:
 * a hostile or huge dump must not overflow the stack. Sizes are bounded by the
 * input, which load.c caps. */
#include "graph.h"
#include "jget.h"
#include <stdlib.h>
#include <string.h>

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int an_graph_node(const struct an_graph *g, long long tid)
{
    long long *p = bsearch(&tid, g->tid, (size_t)g->n, sizeof *g->tid, cmp_ll);
    return p ? (int)(p - g->tid) : -1;
}

static int valid_tid(const json_t *o, const char *key, long long *tid)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) return 0;
    *tid = json_integer_value(v);
    return 1;
}

static int cmp_edge(const void *a, const void *b)
{
    const struct an_edge *x = a, *y = b;
    if (x->from != y->from) return x->from - y->from;
    return x->to - y->to;
}

/* Tarjan's SCC, iterative. Marks nodes of every SCC with a cycle (size > 1, or a self-edge). */
static void find_cycles(struct an_graph *g, const int *first)
{
    int n = g->n, idx = 0, sp = 0, cs = 0, ncyc = 0;
    int *index = malloc(sizeof(int) * (size_t)n), *low = malloc(sizeof(int) * (size_t)n);
    int *stack = malloc(sizeof(int) * (size_t)n), *on = calloc((size_t)n, sizeof(int));
    int *call = malloc(sizeof(int) * (size_t)n), *it = malloc(sizeof(int) * (size_t)n);
    g->cycles = json_array();
    if (!index || !low || !stack || !on || !call || !it) goto out;
    for (int i = 0; i < n; i++) index[i] = -1;
    for (int s = 0; s < n; s++) {
        if (index[s] >= 0) continue;
        call[cs++] = s;
        index[s] = low[s] = idx++;
        stack[sp++] = s;
        on[s] = 1;
        it[s] = first[s];
        while (cs) {
            int v = call[cs - 1];
            if (it[v] < first[v + 1]) {
                int w = g->e[it[v]++].to;
                if (index[w] < 0) {
                    index[w] = low[w] = idx++;
                    stack[sp++] = w;
                    on[w] = 1;
                    it[w] = first[w];
                    call[cs++] = w;
                } else if (on[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            cs--;
            if (cs && low[v] < low[call[cs - 1]]) low[call[cs - 1]] = low[v];
            if (low[v] != index[v]) continue;
            int bottom = sp;
            do bottom--; while (stack[bottom] != v);
            int size = sp - bottom, self = 0;
            for (int k = first[v]; k < first[v + 1]; k++) if (g->e[k].to == v) self = 1;
            if (size > 1 || self) {
                ncyc++;
                for (int k = bottom; k < sp; k++) g->cycle[stack[k]] = ncyc;
                /* Walk the cycle from its smallest tid along edges that stay inside it. */
                int start = v;
                for (int k = bottom; k < sp; k++) if (stack[k] < start) start = stack[k];
                json_t *c = json_array();
                int cur = start, steps = 0;
                do {
                    json_array_append_new(c, json_integer(g->tid[cur]));
                    int next = -1;
                    for (int k = first[cur]; k < first[cur + 1] && next < 0; k++)
                        if (g->cycle[g->e[k].to] == ncyc) next = g->e[k].to;
                    cur = next;
                } while (cur >= 0 && cur != start && ++steps < size);
                json_array_append_new(g->cycles, c);
            }
            for (int k = bottom; k < sp; k++) on[stack[k]] = 0;
            sp = bottom;
        }
    }
out:
    free(index); free(low); free(stack); free(on); free(call); free(it);
}

/* For each node, how many others reach it along wait edges (BFS on reversed edges). */
static void count_blocked(struct an_graph *g)
{
    int n = g->n;
    int *rfirst = calloc((size_t)n + 1, sizeof(int)), *radj = malloc(sizeof(int) * (size_t)(g->ne + 1));
    int *seen = calloc((size_t)n, sizeof(int)), *queue = malloc(sizeof(int) * (size_t)n + 1);
    if (!rfirst || !radj || !seen || !queue) goto out;
    for (int i = 0; i < g->ne; i++) rfirst[g->e[i].to + 1]++;
    for (int i = 0; i < n; i++) rfirst[i + 1] += rfirst[i];
    int *fill = malloc(sizeof(int) * (size_t)n + 1);
    if (!fill) goto out;
    memcpy(fill, rfirst, sizeof(int) * (size_t)n);
    for (int i = 0; i < g->ne; i++) radj[fill[g->e[i].to]++] = g->e[i].from;
    free(fill);
    for (int v = 0; v < n; v++) {
        g->direct[v] = 0;
        for (int k = rfirst[v]; k < rfirst[v + 1]; k++) g->direct[v] += radj[k] != v;   /* a self-wait holds up no one else */
        if (!g->direct[v]) continue;
        int head = 0, tail = 0, count = 0;
        queue[tail++] = v;
        seen[v] = v + 1;
        while (head < tail) {
            int u = queue[head++];
            for (int k = rfirst[u]; k < rfirst[u + 1]; k++) {
                int w = radj[k];
                if (seen[w] == v + 1) continue;
                seen[w] = v + 1;
                queue[tail++] = w;
                count++;
            }
        }
        g->blocked[v] = count;
    }
out:
    free(rfirst); free(radj); free(seen); free(queue);
}

int an_graph_build(struct an_graph *g, const json_t *dump)
{
    memset(g, 0, sizeof *g);
    json_t *threads = an_arr(dump, "threads"), *edges = an_arr(an_obj(dump, "wait_for"), "edges"), *e;
    size_t nt = threads ? json_array_size(threads) : 0, nedge = edges ? json_array_size(edges) : 0, i;
    size_t cap = nt + 2 * (nedge + nt) + 1;
    long long *all = malloc(sizeof *all * cap);
    if (!all) return -1;
    size_t k = 0;
    long long a, b;
    json_array_foreach(threads, i, e) {
        if (valid_tid(e, "tid", &a)) all[k++] = a;
        if (valid_tid(e, "tid", &a) && valid_tid(an_obj(e, "blocked_on"), "owner", &b)) all[k++] = b;
    }
    json_array_foreach(edges, i, e)
        if (valid_tid(e, "from", &a) && valid_tid(e, "to", &b)) all[k++] = a, all[k++] = b;
    qsort(all, k, sizeof *all, cmp_ll);
    size_t u = 0;
    for (i = 0; i < k; i++) if (!u || all[i] != all[u - 1]) all[u++] = all[i];
    g->tid = all;
    g->n = (int)u;
    g->e = malloc(sizeof *g->e * (nedge + nt + 1));
    g->direct = calloc(u + 1, sizeof(int));
    g->blocked = calloc(u + 1, sizeof(int));
    g->cycle = calloc(u + 1, sizeof(int));
    g->thread = calloc(u + 1, sizeof *g->thread);
    int *first = calloc(u + 2, sizeof(int));
    if (!g->e || !g->direct || !g->blocked || !g->cycle || !g->thread || !first) {
        free(first);
        an_graph_free(g);
        return -1;
    }
    json_array_foreach(threads, i, e) {
        int v = valid_tid(e, "tid", &a) ? an_graph_node(g, a) : -1;
        if (v >= 0 && !g->thread[v]) g->thread[v] = e;
    }
    json_array_foreach(edges, i, e)
        if (valid_tid(e, "from", &a) && valid_tid(e, "to", &b))
            g->e[g->ne++] = (struct an_edge){ an_graph_node(g, a), an_graph_node(g, b),
                                              an_str(e, "object"), an_str(e, "kind") };
    json_array_foreach(threads, i, e) {
        json_t *bo = an_obj(e, "blocked_on");
        if (valid_tid(e, "tid", &a) && valid_tid(bo, "owner", &b))
            g->e[g->ne++] = (struct an_edge){ an_graph_node(g, a), an_graph_node(g, b),
                                              an_str(bo, "object"), an_str(bo, "kind") };
    }
    qsort(g->e, (size_t)g->ne, sizeof *g->e, cmp_edge);
    int m = 0;
    for (int j = 0; j < g->ne; j++)
        if (!m || g->e[j].from != g->e[m - 1].from || g->e[j].to != g->e[m - 1].to) g->e[m++] = g->e[j];
    g->ne = m;
    for (int j = 0; j < g->ne; j++) first[g->e[j].from + 1]++;
    for (size_t v = 0; v < u; v++) first[v + 1] += first[v];
    first[u + 1] = first[u];
    find_cycles(g, first);
    count_blocked(g);
    free(first);
    return 0;
}

void an_graph_free(struct an_graph *g)
{
    free(g->tid); free(g->thread); free(g->e); free(g->direct); free(g->blocked); free(g->cycle);
    json_decref(g->cycles);
    memset(g, 0, sizeof *g);
}
