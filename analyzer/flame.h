/* flame.h: interactive flame graphs for the --html page. The caller builds a
 * tree of named values (each node's value is the sum of what was added along
 * paths through it); the page carries it as JSON and one small inline script
 * lays it out as nested boxes, zooms into a box on click (its ancestors stay
 * above, full width; clicking the root goes back) and names each box with its
 * value and share on hover. No network, no library. */
#ifndef AN_FLAME_H
#define AN_FLAME_H
#include <stdio.h>
#include <jansson.h>

/* A new tree: its root is named name. */
json_t *an_flame_new(const char *name);
/* Adds v to the root and to each node along names[0..depth-1] (created as needed). */
void an_flame_add(json_t *root, const char *const *names, int depth, double v);
/* The root's value. */
double an_flame_total(const json_t *root);
/* The graph's box and its data; id must be unique on the page. Frames
 * narrower than 0.1 % of the width are not drawn (their value stays in
 * their parent's). */
void an_flame_write(FILE *f, const char *id, const char *unit, const json_t *root);
/* The renderer and its CSS, once per page (after every an_flame_write). */
void an_flame_script(FILE *f);
/* The colour the page gives a state or cause ("running", "io", "lock", ...); NULL if none. */
const char *an_state_colour(const char *state);
#endif
