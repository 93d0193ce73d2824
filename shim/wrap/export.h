/* export.h: marks the functions the shim interposes (everything else is hidden;
 * exports.map lists the same names so nothing else leaks into the host). */
#ifndef PS_EXPORT_H
#define PS_EXPORT_H
#define PS_EXPORT __attribute__((visibility("default")))
#endif
