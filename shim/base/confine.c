/* confine.c: see confine.h. */
#include "confine.h"

int ps_confined;
