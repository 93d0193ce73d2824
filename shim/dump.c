/* dump.c: placeholder hook; saturation dumps land with issue 3. */
#include "dump.h"

void ps_dump_tick(uint64_t now_ns) { (void)now_ns; }
