/* gendata: writes MB mebibytes of deterministic text-like data to stdout
 * (words from a fixed vocabulary chosen by an LCG, with digits and line
 * breaks), which gzip compresses about 3:1 like real logs or source text, so
 * the pigz benchmark does realistic work. Same bytes on every run.
 *
 *   gendata MB > file */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *words[] = {
    "pool", "thread", "worker", "queue", "task", "mutex", "wait", "signal", "read", "write",
    "the", "of", "and", "to", "in", "is", "for", "on", "with", "as", "by", "at", "from",
    "request", "response", "latency", "error", "timeout", "connection", "buffer", "offset",
    "compress", "stream", "block", "index", "value", "key", "table", "entry", "count",
};

int main(int argc, char **argv)
{
    long mb = argc > 1 ? atol(argv[1]) : 0;
    if (mb <= 0 || mb > 4096) {
        fprintf(stderr, "usage: gendata MB (1..4096) > file\n");
        return 2;
    }
    unsigned long long x = 88172645463325252ull, left = (unsigned long long)mb << 20;
    char line[256];
    const int nwords = (int)(sizeof words / sizeof words[0]);
    while (left) {
        int len = 0;
        for (int w = 0; w < 12 && len < 200; w++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            unsigned r = (unsigned)(x >> 33);
            if (r % 7 == 0)
                len += snprintf(line + len, sizeof line - len, "%u ", r % 100000);
            else
                len += snprintf(line + len, sizeof line - len, "%s ", words[r % nwords]);
        }
        line[len - 1] = '\n';
        size_t n = (unsigned long long)len < left ? (size_t)len : (size_t)left;
        if (fwrite(line, 1, n, stdout) != n)
            return 1;
        left -= n;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
