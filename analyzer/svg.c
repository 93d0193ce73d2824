/* svg.c: inline SVG charts for the HTML page (see svg.h). Plain arithmetic on
 * the answer's numbers; gaps (null, NaN) break lines instead of drawing zeros. */
#include "svg.h"
#include "jget.h"
#include "flame.h"
#include "timeline.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void an_html_esc(FILE *f, const char *s)
{
    if (!s) s = "-";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<') fputs("&lt;", f);
        else if (c == '>') fputs("&gt;", f);
        else if (c == '&') fputs("&amp;", f);
        else if (c == '"') fputs("&quot;", f);
        else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) fputc('?', f);
        else fputc(c, f);
    }
}

const char *an_palette(int i)
{
    static const char *const p[] = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                     "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac" };
    return p[(i % 10 + 10) % 10];
}

static double nice_step(double range, int ticks)
{
    if (!(range > 0) || !isfinite(range)) return 1;
    double raw = range / ticks, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

static void fmt_tick(char *b, size_t n, double v)
{
    if (fabs(v) >= 1000 || v == floor(v)) snprintf(b, n, "%.0f", v);
    else snprintf(b, n, "%.3g", v);
}

static double val(const json_t *a, size_t i)
{
    json_t *v = json_array_get(a, i);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

void an_svg_lines(FILE *f, const char *title, const char *ylabel, const struct an_series *s, int ns)
{
    const double W = 540, H = 270, L = 56, R = 12, T = 50, B = 40;
    double xmin = INFINITY, xmax = -INFINITY, ymax = 0;
    int points = 0;
    for (int k = 0; k < ns; k++)
        for (size_t i = 0; i < json_array_size(s[k].y); i++) {
            double x = val(s[k].x, i), y = val(s[k].y, i);
            if (!isfinite(x) || !isfinite(y)) continue;
            if (x < xmin) xmin = x;
            if (x > xmax) xmax = x;
            if (y > ymax) ymax = y;
            points++;
        }
    fprintf(f, "<svg class=\"chart\" data-points=\"%d\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "xmlns=\"http://www.w3.org/2000/svg\">\n", points, W, H, W, H);
    fprintf(f, "<text x=\"%.0f\" y=\"18\" class=\"title\">", L);
    an_html_esc(f, title);
    fprintf(f, "</text>\n");
    if (!points) {
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"note\">no history in this file</text></svg>\n", L, H / 2);
        return;
    }
    if (!(xmax > xmin)) xmax = xmin + 1;
    double ystep = nice_step(ymax > 0 ? ymax : 1, 5);
    double ytop = ystep * ceil((ymax > 0 ? ymax : 1) / ystep);
    double xstep = nice_step(xmax - xmin, 6);
#define PX(x) (L + ((x) - xmin) / (xmax - xmin) * (W - L - R))
#define PY(y) (H - B - (y) / ytop * (H - T - B))
    char tb[32];
    for (int k = 0; k <= 12; k++) {   /* counted: a degenerate step must not loop forever */
        double y = k * ystep;
        if (y > ytop + ystep / 2) break;
        fmt_tick(tb, sizeof tb, y);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>\n",
                L, W - R, PY(y), PY(y), L - 4, PY(y) + 4, tb);
    }
    for (int k = 0; k <= 12; k++) {
        double x = ceil(xmin / xstep) * xstep + k * xstep;
        if (!(x <= xmax + xstep * 1e-6)) break;
        fmt_tick(tb, sizeof tb, x);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%s</text>\n",
                PX(x), H - B + 16, tb);
    }
    fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>\n", L, W - R, H - B, H - B);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"tick\" text-anchor=\"middle\">seconds since start</text>\n",
            (L + W - R) / 2, H - 6);
    fprintf(f, "<text x=\"12\" y=\"%.0f\" class=\"tick\" transform=\"rotate(-90 12 %.0f)\" "
               "text-anchor=\"middle\">", (T + H - B) / 2, (T + H - B) / 2);
    an_html_esc(f, ylabel);
    fprintf(f, "</text>\n");
    double lx = L + 8, ly = 33;
    for (int k = 0; k < ns; k++) {
        const char *col = an_palette(k);
        fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s d=\"", col,
                s[k].dashed ? " stroke-dasharray=\"5 3\"" : "");
        int pen = 0, drawn = 0;
        for (size_t i = 0; i < json_array_size(s[k].y); i++) {
            double x = val(s[k].x, i), y = val(s[k].y, i);
            if (!isfinite(x) || !isfinite(y)) { pen = 0; continue; }
            fprintf(f, "%c%.1f %.1f ", pen ? 'L' : 'M', PX(x), PY(y));
            pen = 1;
            drawn++;
        }
        fprintf(f, "\"/>\n");
        if (drawn == 1)   /* a single point: make it visible */
            for (size_t i = 0; i < json_array_size(s[k].y); i++)
                if (isfinite(val(s[k].x, i)) && isfinite(val(s[k].y, i)))
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                            PX(val(s[k].x, i)), PY(val(s[k].y, i)), col);
        /* Legend under the title, wrapping to a second row; past that, the table above names them. */
        double lw = 22 + 6.2 * (double)strlen(s[k].name ? s[k].name : "-");
        if (lx + lw > W - R && lx > L + 8) lx = L + 8, ly += 13;
        if (ly <= T - 4) {
            fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"12\" height=\"3\" fill=\"%s\"/>"
                       "<text x=\"%.1f\" y=\"%.0f\" class=\"legend\">", lx, ly - 4, col, lx + 15, ly);
            an_html_esc(f, s[k].name);
            fprintf(f, "</text>\n");
        }
        lx += lw;
    }
#undef PX
#undef PY
    fprintf(f, "</svg>\n");
}

void an_svg_stacked(FILE *f, const char *title, const char *unit, const char *const *labels, int nbars,
                    const char *const *cats, int ncat, const double *v)
{
    const double W = 1000, L = 200, R = 90, T = 50, BH = 24, GAP = 8;
    double H = T + nbars * (BH + GAP) + 30, max = 0;
    for (int b = 0; b < nbars; b++) {
        double sum = 0;
        for (int c = 0; c < ncat; c++) if (v[b * ncat + c] > 0) sum += v[b * ncat + c];
        if (sum > max) max = sum;
    }
    if (!(max > 0)) max = 1;
    int points = 0;
    for (int k = 0; k < nbars * ncat; k++) points += v[k] > 0;
    fprintf(f, "<svg class=\"chart\" data-points=\"%d\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "xmlns=\"http://www.w3.org/2000/svg\">\n<text x=\"10\" y=\"18\" class=\"title\">", points, W, H, W, H);
    an_html_esc(f, title);
    fprintf(f, "</text>\n");
    double lx = L;
    for (int c = 0; c < ncat; c++) {
        fprintf(f, "<rect x=\"%.0f\" y=\"30\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                   "<text x=\"%.0f\" y=\"40\" class=\"legend\">", lx, an_palette(c), lx + 16);
        an_html_esc(f, cats[c]);
        fprintf(f, "</text>\n");
        lx += 30 + 7 * (double)strlen(cats[c]);
    }
    for (int b = 0; b < nbars; b++) {
        double y = T + b * (BH + GAP) + 6, x = L, sum = 0;
        char lb[40];
        snprintf(lb, sizeof lb, "%.28s", labels[b] ? labels[b] : "-");
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"tick\" text-anchor=\"end\">", L - 8, y + BH / 2 + 4);
        an_html_esc(f, lb);
        fprintf(f, "</text>\n");
        for (int c = 0; c < ncat; c++) {
            double w = v[b * ncat + c] > 0 ? v[b * ncat + c] / max * (W - L - R) : 0;
            if (w <= 0) continue;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" fill=\"%s\"><title>",
                    x, y, w, BH, an_palette(c));
            an_html_esc(f, cats[c]);
            fprintf(f, ": %.3g %s</title></rect>\n", v[b * ncat + c], unit);
            x += w;
            sum += v[b * ncat + c];
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" class=\"tick\">%.3g %s</text>\n", x + 6, y + BH / 2 + 4, sum, unit);
    }
    fprintf(f, "</svg>\n");
}

/* Index of tid in tids (sorted ascending, as the graph answer lists nodes), or -1. */
static int node_of(const long long *tids, size_t n, long long tid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tids[mid] < tid) lo = mid + 1;
        else hi = mid;
    }
    if (lo < n && tids[lo] == tid) return (int)lo;
    for (size_t i = 0; i < n; i++) if (tids[i] == tid) return (int)i;   /* not sorted after all */
    return -1;
}

/* Columns by distance to a thread that waits for nobody (holders left,
 * waiters to the right); threads in a cycle stay in column 0, in red. */
void an_svg_waitfor(FILE *f, const json_t *graph)
{
    json_t *nodes = an_arr(graph, "nodes"), *edges = an_arr(graph, "edges");
    size_t n = json_array_size(nodes), ne = json_array_size(edges);
    if (!ne) {
        fprintf(f, "<p class=\"note\">No thread waits for another thread (no lock owner known).</p>\n");
        return;
    }
    long long *tid = calloc(n + 1, sizeof *tid);
    int *from = calloc(ne + 1, sizeof(int)), *to = calloc(ne + 1, sizeof(int)), *depth = calloc(n + 1, sizeof(int));
    int *used = calloc(n + 1, sizeof(int)), *row = calloc(n + 1, sizeof(int));
    if (!tid || !from || !to || !depth || !used || !row) goto out;
    for (size_t i = 0; i < n; i++) tid[i] = an_int(json_array_get(nodes, i), "tid", -1);
    for (size_t e = 0; e < ne; e++) {
        json_t *x = json_array_get(edges, e);
        from[e] = node_of(tid, n, an_int(x, "from", -2));
        to[e] = node_of(tid, n, an_int(x, "to", -2));
        if (from[e] >= 0 && to[e] >= 0) used[from[e]] = used[to[e]] = 1;
    }
    /* Longest chain to a free holder, capped: relaxation terminates within 8 rounds of change. */
    for (int round = 0; round < 8; round++) {
        int changed = 0;
        for (size_t e = 0; e < ne; e++) {
            if (from[e] < 0 || to[e] < 0) continue;
            if (an_int(json_array_get(nodes, (size_t)from[e]), "in_cycle", 0)) continue;
            int d = depth[to[e]] + 1;
            if (d > 5) d = 5;
            if (d > depth[from[e]]) depth[from[e]] = d, changed = 1;
        }
        if (!changed) break;
    }
    int rows[6] = { 0 }, maxrows = 0;
    const int MAXROWS = 18;
    int hidden = 0;
    for (int pass = 0; pass < 2; pass++)   /* cycle members and big blockers first */
        for (size_t i = 0; i < n; i++) {
            if (!used[i]) continue;
            json_t *x = json_array_get(nodes, i);
            int first = an_int(x, "in_cycle", 0) || an_int(x, "blocks", 0) > 0;
            if (first != (pass == 0)) continue;
            int d = depth[i];
            if (rows[d] >= MAXROWS) { used[i] = 0; hidden++; continue; }
            row[i] = rows[d]++;
            if (rows[d] > maxrows) maxrows = rows[d];
        }
    const double CW = 330, RH = 40, BW = 150, BH = 26, L = 20, T = 20;   /* 180 px between columns: room for the edge labels */
    int ncol = 0;
    for (int d = 0; d < 6; d++) if (rows[d]) ncol = d + 1;
    double W = L + ncol * CW + 40, H = T + maxrows * RH + 30;
    if (W < 400) W = 400;
    fprintf(f, "<svg class=\"chart\" data-points=\"%zu\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "xmlns=\"http://www.w3.org/2000/svg\">\n<defs><marker id=\"arr\" viewBox=\"0 0 10 10\" refX=\"10\" "
               "refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
               "<path d=\"M0 0L10 5L0 10z\" fill=\"#555\"/></marker></defs>\n", n + ne, W, H, W, H);
#define NX(i) (L + depth[i] * CW)
#define NY(i) (T + row[i] * RH)
    for (size_t e = 0; e < ne; e++) {
        int a = from[e], b = to[e];
        if (a < 0 || b < 0 || !used[a] || !used[b]) continue;
        json_t *x = json_array_get(edges, e);
        int red = an_int(json_array_get(nodes, (size_t)a), "in_cycle", 0) && an_int(json_array_get(nodes, (size_t)b), "in_cycle", 0);
        const char *col = red ? "#d62728" : "#555";
        if (depth[a] == depth[b]) {   /* same column: arc on the right side */
            /* Downward arcs bulge less than upward ones so a 2-cycle shows two arrows. */
            double x0 = NX(a) + BW, y0 = NY(a) + BH / 2 + 4, y1 = NY(b) + BH / 2 - 4, bulge = row[a] < row[b] ? 25 : 45;
            fprintf(f, "<path d=\"M%.1f %.1f C%.1f %.1f %.1f %.1f %.1f %.1f\" fill=\"none\" stroke=\"%s\" "
                       "stroke-width=\"1.5\" marker-end=\"url(#arr)\">", x0, y0, x0 + bulge, y0, x0 + bulge, y1, x0, y1, col);
        } else {
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" "
                       "marker-end=\"url(#arr)\">", NX(a), NY(a) + BH / 2, NX(b) + BW, NY(b) + BH / 2, col);
        }
        fprintf(f, "<title>");
        an_html_esc(f, an_str(x, "kind"));
        fprintf(f, " ");
        an_html_esc(f, an_str(x, "object"));
        if (an_str(x, "name")) {
            fprintf(f, " ");
            an_html_esc(f, an_str(x, "name"));
        }
        fprintf(f, "</title>%s\n", depth[a] == depth[b] ? "</path>" : "</line>");
        /* the label: what the waiter waits for, by name when the dump knows it */
        /* the name (the kind is in the tooltip), cut to fit between columns */
        char lab[64];
        const char *nm = an_str(x, "name") ? an_str(x, "name") : an_str(x, "object") ? an_str(x, "object") : "";
        snprintf(lab, sizeof lab, strlen(nm) > 30 ? "%.29s\u2026" : "%s", nm);
        /* at the waiter's end of its arrow: waiters have rows of their own */
        double bulge = row[a] < row[b] ? 25 : 45;
        double lx = depth[a] == depth[b] ? NX(a) + BW + bulge + 4 : NX(a) - 6;
        double ly = depth[a] == depth[b] ? NY(a) + BH / 2 + (row[a] < row[b] ? 12 : -6) : NY(a) + BH / 2 - 4;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"edge-label\" text-anchor=\"%s\">", lx, ly,
                depth[a] == depth[b] ? "start" : "end");
        an_html_esc(f, lab);
        fprintf(f, "</text>\n");
    }
    for (size_t i = 0; i < n; i++) {
        if (!used[i]) continue;
        json_t *x = json_array_get(nodes, i);
        int red = an_int(x, "in_cycle", 0) > 0;
        char label[64];
        snprintf(label, sizeof label, "%lld %.14s", tid[i], an_str(x, "name") ? an_str(x, "name") : "");
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" rx=\"5\" fill=\"%s\" stroke=\"%s\" "
                   "stroke-width=\"%s\"/>", NX(i), NY(i), BW, BH, red ? "#fde0e0" : an_int(x, "blocks", 0) ? "#fff3d6" : "#eef3fa",
                red ? "#d62728" : "#777", red ? "2.5" : "1");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"node\">", NX(i) + 6, NY(i) + 17);
        an_html_esc(f, label);
        if (an_int(x, "blocks", 0)) fprintf(f, " (%lld)", an_int(x, "blocks", 0));
        fprintf(f, "</text>\n");
    }
    if (hidden) fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"note\">%d more threads not drawn</text>\n", L, H - 8, hidden);
#undef NX
#undef NY
    fprintf(f, "</svg>\n");
out:
    free(tid); free(from); free(to); free(depth); free(used); free(row);
}

/* Timeline states in the legend's order; a slice maps to one by name. */
static const char *const tl_states[] = { "running", "runqueue", "io", "sleep", "lock", "cond", "idle",
                                         "parked", "blocked (unwrapped)", "not recorded (ring overwritten)" };
#define TL_NSTATES (int)(sizeof tl_states / sizeof *tl_states)

static int tl_state_index(const char *name)
{
    for (int i = 0; i < TL_NSTATES; i++)
        if (!strcmp(tl_states[i], name)) return i;
    return TL_NSTATES - 2;
}

int an_svg_timeline(FILE *f, const struct an_timeline *tl, int max_rows)
{
    enum { PX = 900 };
    const double L = 190, T = 34, RH = 15, B = 40;
    int rows = (int)tl->nth < max_rows ? (int)tl->nth : max_rows;
    if (rows <= 0) return 0;
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    for (int r = 0; r < rows; r++) {
        if (tl->th[r].born < t0) t0 = tl->th[r].born;
        if (tl->th[r].end > t1) t1 = tl->th[r].end;
    }
    if (t1 <= t0) return 0;
    double *acc = malloc(sizeof *acc * PX * TL_NSTATES);
    if (!acc) return 0;
    double W = L + PX + 20, H = T + rows * RH + B, span = (double)(t1 - t0);
    long points = 0;
    for (int r = 0; r < rows; r++) points += (long)tl->th[r].n;
    fprintf(f, "<svg class=\"chart timeline\" data-points=\"%ld\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" xmlns=\"http://www.w3.org/2000/svg\">\n", points, W, H, W, H);
    fprintf(f, "<text x=\"%.0f\" y=\"16\" class=\"title\">Thread states over time (each pixel: the state that "
               "held most of it)</text>\n", L);
    double step = nice_step(span * 1e-9, 8);
    for (double s = ceil(t0 * 1e-9 / step) * step; s <= t1 * 1e-9 + 1e-12; s += step) {
        double x = L + (s * 1e9 - t0) / span * PX;
        char b[32];
        fmt_tick(b, sizeof b, s);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" class=\"grid\"/>"
                   "<text x=\"%.1f\" y=\"%.0f\" class=\"tick\" text-anchor=\"middle\">%s</text>\n",
                x, T - 4, x, T + rows * RH, x, T + rows * RH + 14, b);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"tick\">s since start</text>\n", L + PX - 70, T + rows * RH + 28);
    for (int r = 0; r < rows; r++) {
        const struct an_tthread *t = &tl->th[r];
        double y = T + r * RH;
        char label[96];
        snprintf(label, sizeof label, "%d %.20s", t->tid, t->name);
        fprintf(f, "<text x=\"4\" y=\"%.1f\" class=\"tick\">", y + RH - 4);
        an_html_esc(f, label);
        fprintf(f, "</text>\n");
        memset(acc, 0, sizeof *acc * PX * TL_NSTATES);
        for (size_t i = 0; i < t->n; i++) {
            const struct an_slice *s = &t->s[i];
            if (s->depth) continue;      /* a nested wake-up is inside its wait's time */
            int st = tl_state_index(an_slice_state(tl, s));
            double a = (double)(s->t0 - t0) / span * PX, b = (double)(s->t1 - t0) / span * PX;
            for (int px = (int)a; px <= (int)b && px < PX; px++) {
                double lo = a > px ? a : px, hi = b < px + 1 ? b : px + 1;
                if (hi > lo && px >= 0) acc[px * TL_NSTATES + st] += hi - lo;
            }
        }
        int run = -1, from = 0;
        for (int px = 0; px <= PX; px++) {
            int best = -1;
            double bv = 0;
            for (int k = 0; px < PX && k < TL_NSTATES; k++)
                if (acc[px * TL_NSTATES + k] > bv) bv = acc[px * TL_NSTATES + k], best = k;
            if (best == run && px < PX) continue;
            if (run >= 0)
                fprintf(f, "<rect class=\"tl-slice\" data-state=\"%s\" x=\"%.0f\" y=\"%.1f\" width=\"%d\" "
                           "height=\"%.0f\" fill=\"%s\"><title>%d: %s, %.3f-%.3f s</title></rect>\n",
                        tl_states[run], L + from, y + 1, px - from, RH - 2, an_state_colour(tl_states[run]),
                        t->tid, tl_states[run], (t0 + (double)from / PX * span) * 1e-9,
                        (t0 + (double)px / PX * span) * 1e-9);
            run = best;
            from = px;
        }
    }
    double lx = L;
    for (int k = 0; k < TL_NSTATES - 1; k++) {
        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"%s\" stroke=\"#999\"/>"
                   "<text x=\"%.0f\" y=\"%.0f\" class=\"legend\">%s</text>\n",
                lx, H - 12, an_state_colour(tl_states[k]), lx + 13, H - 3, tl_states[k]);
        lx += 13 + 7 * strlen(tl_states[k]) + 12;
    }
    fprintf(f, "</svg>\n");
    free(acc);
    return rows;
}
