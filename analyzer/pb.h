/* pb.h: the smallest protocol-buffers encoder the exports need: varints,
 * length-delimited fields and nested messages, into one growable buffer.
 * A nested message reserves nothing: its length is known at its end, and the
 * body is moved up by the few bytes the length's varint takes (the Go
 * runtime's pprof writer and async-profiler do the same). Writers never fail
 * mid-way: on out-of-memory `err` is set and the rest is skipped, and the
 * caller checks it once at the end. */
#ifndef AN_PB_H
#define AN_PB_H
#include <stddef.h>
#include <stdint.h>

struct an_pb {
    unsigned char *buf;
    size_t len, cap;
    int err;                 /* out of memory: the message is incomplete */
};

void an_pb_free(struct an_pb *pb);
/* Field `field` as a varint (wire type 0); zero is written too (proto3
 * readers treat an absent field as 0, so callers may skip it). */
void an_pb_uint(struct an_pb *pb, int field, uint64_t v);
void an_pb_int(struct an_pb *pb, int field, int64_t v);
/* Length-delimited bytes (wire type 2): strings and byte arrays. */
void an_pb_bytes(struct an_pb *pb, int field, const void *p, size_t n);
void an_pb_str(struct an_pb *pb, int field, const char *s);
/* Packed repeated varints (wire type 2); nothing for n == 0. */
void an_pb_packed(struct an_pb *pb, int field, const uint64_t *v, size_t n);
/* A nested message: begin returns a mark to pass to end. */
size_t an_pb_begin(struct an_pb *pb, int field);
void an_pb_end(struct an_pb *pb, size_t mark);
#endif
