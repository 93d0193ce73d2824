/* modules.h: the module map of a dump: executable mappings from
 * /proc/self/maps with each object's GNU build ID (read from its PT_NOTE in
 * memory), so the analyzer can symbolize raw addresses offline and refuse a
 * binary that changed on disk. Agent thread only. */
#ifndef PS_MODULES_H
#define PS_MODULES_H
#include "jsonw.h"

void ps_modules_json(struct ps_jw *w);
#endif
