/* pb.c: see pb.h. Wire format: a key is (field << 3) | wire type, as a
 * varint; varints are 7 bits per byte, least significant first, the high
 * bit set on every byte but the last. */
#include "pb.h"
#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

void an_pb_free(struct an_pb *pb)
{
    free(pb->buf);
    memset(pb, 0, sizeof *pb);
}

static int room(struct an_pb *pb, size_t n)
{
    if (pb->err) return 0;
    if (pb->len + n <= pb->cap) return 1;
    size_t cap = pb->cap ? pb->cap : 4096;
    while (cap < pb->len + n) cap *= 2;
    unsigned char *b = realloc(pb->buf, cap);
    if (!b) {
        pb->err = 1;
        return 0;
    }
    pb->buf = b;
    pb->cap = cap;
    return 1;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p = (unsigned char)v;
}

static void varint(struct an_pb *pb, uint64_t v)
{
    size_t n = varint_len(v);
    if (!room(pb, n)) return;
    put_varint(pb->buf + pb->len, v);
    pb->len += n;
}

static void key(struct an_pb *pb, int field, int wire)
{
    varint(pb, ((uint64_t)field << 3) | (uint64_t)wire);
}

void an_pb_uint(struct an_pb *pb, int field, uint64_t v)
{
    key(pb, field, WIRE_VARINT);
    varint(pb, v);
}

void an_pb_int(struct an_pb *pb, int field, int64_t v)
{
    an_pb_uint(pb, field, (uint64_t)v);     /* int64: two's complement, 10 bytes when negative */
}

void an_pb_bytes(struct an_pb *pb, int field, const void *p, size_t n)
{
    key(pb, field, WIRE_LEN);
    varint(pb, n);
    if (n && room(pb, n)) {
        memcpy(pb->buf + pb->len, p, n);
        pb->len += n;
    }
}

void an_pb_str(struct an_pb *pb, int field, const char *s)
{
    an_pb_bytes(pb, field, s ? s : "", s ? strlen(s) : 0);
}

void an_pb_packed(struct an_pb *pb, int field, const uint64_t *v, size_t n)
{
    if (!n) return;
    size_t mark = an_pb_begin(pb, field);
    for (size_t i = 0; i < n; i++) varint(pb, v[i]);
    an_pb_end(pb, mark);
}

size_t an_pb_begin(struct an_pb *pb, int field)
{
    key(pb, field, WIRE_LEN);
    return pb->len;
}

void an_pb_end(struct an_pb *pb, size_t mark)
{
    if (pb->err || mark > pb->len) return;
    size_t body = pb->len - mark, n = varint_len(body);
    if (!room(pb, n)) return;
    memmove(pb->buf + mark + n, pb->buf + mark, body);
    put_varint(pb->buf + mark, body);
    pb->len += n;
}
