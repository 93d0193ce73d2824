/* flame.c: the page's flame graphs (see flame.h). Nodes are jansson objects
 * {"n": name, "v": value, "c": [children]}; a child is found by a linear
 * scan, which is fine for the few hundred nodes a report gives. The data goes
 * into a <script type="application/json"> block with '<' escaped, so no
 * name from the program can close the block. */
#include "flame.h"
#include "svg.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

json_t *an_flame_new(const char *name)
{
    return json_pack("{s:s, s:f, s:[]}", "n", name ? name : "-", "v", 0.0, "c");
}

static json_t *child(json_t *node, const char *name)
{
    json_t *c = json_object_get(node, "c"), *x;
    size_t i;
    json_array_foreach(c, i, x)
        if (!strcmp(json_string_value(json_object_get(x, "n")), name)) return x;
    x = an_flame_new(name);
    json_array_append_new(c, x);
    return x;
}

static void add_value(json_t *node, double v)
{
    json_object_set_new(node, "v", json_real(json_real_value(json_object_get(node, "v")) + v));
}

void an_flame_add(json_t *root, const char *const *names, int depth, double v)
{
    if (!(v > 0) || !isfinite(v)) return;
    add_value(root, v);
    json_t *n = root;
    for (int d = 0; d < depth; d++) {
        n = child(n, names[d] ? names[d] : "-");
        add_value(n, v);
    }
}

double an_flame_total(const json_t *root)
{
    return json_real_value(json_object_get(root, "v"));
}

void an_flame_write(FILE *f, const char *id, const char *unit, const json_t *root)
{
    char *s = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
    fprintf(f, "<div class=\"flame\" id=\"%s\" data-unit=\"", id);
    an_html_esc(f, unit);
    fprintf(f, "\"></div>\n<script type=\"application/json\" id=\"%s-data\">", id);
    for (const char *p = s ? s : "{}"; *p; p++) {
        if (*p == '<') fputs("\\u003c", f);
        else fputc(*p, f);
    }
    fprintf(f, "</script>\n<p class=\"note\">Click a box to zoom into it, the top box to go back; "
               "hover for its value.</p>\n");
    free(s);
}

static const struct { const char *state, *colour; } colours[] = {
    { "running", "#59a14f" }, { "cpu", "#59a14f" }, { "runqueue", "#f28e2b" }, { "io", "#76b7b2" },
    { "sleep", "#4e79a7" }, { "lock", "#e15759" }, { "cond", "#b07aa1" }, { "idle", "#d3d3d3" },
    { "parked", "#7f7f7f" }, { "blocked (unwrapped)", "#edc948" },
    { "not recorded (ring overwritten)", "#ffffff" },
};

const char *an_state_colour(const char *state)
{
    for (size_t i = 0; state && i < sizeof colours / sizeof *colours; i++)
        if (!strcmp(colours[i].state, state)) return colours[i].colour;
    return NULL;
}

void an_flame_script(FILE *f)
{
    fputs("<style>\n"
          ".flame{position:relative;width:100%;max-width:1100px;margin:6px 0;font:11px/17px monospace}\n"
          ".fg-frame{position:absolute;height:17px;box-sizing:border-box;border:1px solid #fff;"
          "overflow:hidden;white-space:nowrap;text-overflow:ellipsis;padding:0 3px;cursor:pointer;color:#111}\n"
          ".fg-frame:hover{border-color:#000}\n"
          "</style>\n<script>\n(function(){\n"
          "var known={", f);
    for (size_t i = 0; i < sizeof colours / sizeof *colours; i++)
        fprintf(f, "%s\"%s\":\"%s\"", i ? "," : "", colours[i].state, colours[i].colour);
    fputs("};\n"
          "function colour(n,d){if(known[n])return known[n];var h=0;for(var i=0;i<n.length;i++)h=(h*31+n.charCodeAt(i))|0;"
          "var hue=[10,25,35,45][Math.abs(h)%4]+(Math.abs(h>>3)%15);return 'hsl('+hue+',80%,'+(62+Math.abs(h>>7)%14)+'%)';}\n"
          "function fmt(v,u){return (v>=100?v.toFixed(0):v>=1?v.toFixed(2):v.toPrecision(3))+' '+u;}\n"
          "document.querySelectorAll('div.flame').forEach(function(box){\n"
          " var root=JSON.parse(document.getElementById(box.id+'-data').textContent),unit=box.getAttribute('data-unit');\n"
          " (function up(n,p){n.p=p;(n.c||[]).forEach(function(c){up(c,n);});})(root,null);\n"
          " function depth(n){var d=0;(n.c||[]).forEach(function(c){d=Math.max(d,depth(c));});return d+1;}\n"
          " box.style.height=(depth(root)*17)+'px';\n"
          " function frame(n,x,w,d){var e=document.createElement('div');e.className='fg-frame';"
          "e.style.left=(x*100)+'%';e.style.width=(w*100)+'%';e.style.top=(d*17)+'px';"
          "e.style.background=colour(n.n,d);e.textContent=n.n;"
          "e.title=n.n+': '+fmt(n.v,unit)+' ('+(100*n.v/root.v).toFixed(1)+' % of all)';"
          "e.setAttribute('data-value',n.v);e.onclick=function(){draw(n===focus&&n.p?n.p:n);};box.appendChild(e);}\n"
          " var focus=root;\n"
          " function lay(n,x,w,d){if(w<0.001)return;frame(n,x,w,d);var cx=x;(n.c||[]).forEach(function(c){"
          "var cw=n.v>0?w*c.v/n.v:0;lay(c,cx,cw,d+1);cx+=cw;});}\n"
          " function draw(n){focus=n;box.innerHTML='';var a=[],p=n.p;while(p){a.unshift(p);p=p.p;}"
          "a.forEach(function(q,i){frame(q,0,1,i);});lay(n,0,1,a.length);}\n"
          " draw(root);\n"
          "});\n})();\n</script>\n", f);
}
