#!/usr/bin/env python3
"""html_dom_check.py DOM.html KIND: checks the DOM headless Chromium rendered
(`chromium --headless --dump-dom`, so after the page's own script ran) of a
poolshim --html page. KIND: traced (a report recorded with POOLSHIM_TRACE=on
under the controller), locks (a report with contended locks and decisions),
dump (a dump with a wait-for graph).

Every page: each chart (<svg class="chart">) draws data (data-points > 0);
each flame graph was laid out by the script (boxes with values > 0); a chart
left out says why ("X: no chart, why."); no raw JSON.
traced: the thread-state timeline, with running and idle or parked states;
        the wait-by-cause flame graph has causes; the decisions table.
locks:  the lock table with hold time and owner sites; the contention flame
        graph by waiter site; the decisions table.
dump:   wait-for edges labelled with the lock's name; threads-by-stack flame.
Prints one line per check; exit 0 when all hold."""
import re
import sys
from html.parser import HTMLParser


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []          # (tag, attrs, text parts)
        self.elems = []          # (tag, attrs, text, ancestors' (tag, attrs))

    def handle_starttag(self, tag, attrs):
        e = (tag, dict(attrs), [])
        self.stack.append(e)
        if tag in ("rect", "line", "path", "marker", "br", "meta", "input"):   # void or self-closed here
            self.handle_endtag(tag)

    def handle_startendtag(self, tag, attrs):
        self.stack.append((tag, dict(attrs), []))
        self.handle_endtag(tag)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                t, a, txt = self.stack[i]
                anc = [(x[0], x[1]) for x in self.stack[:i]]
                text = "".join(txt)
                self.elems.append((t, a, text, anc))
                if i > 0:
                    self.stack[i - 1][2].append(text)
                del self.stack[i:]
                return

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)

    def find(self, tag=None, cls=None, inside_id=None):
        out = []
        for t, a, text, anc in self.elems:
            if tag and t != tag:
                continue
            if cls and cls not in a.get("class", "").split():
                continue
            if inside_id and not any(x[1].get("id") == inside_id for x in anc):
                continue
            out.append((t, a, text))
        return out


def main():
    path, kind = sys.argv[1], sys.argv[2]
    dom = Dom()
    dom.feed(open(path, encoding="utf-8", errors="replace").read())
    fails = []

    def check(ok, what):
        print(("ok: " if ok else "FAIL: ") + what)
        if not ok:
            fails.append(what)

    charts = dom.find("svg", "chart")
    empty = [a.get("data-points") for t, a, _ in charts if not a.get("data-points", "0").isdigit() or int(a["data-points"]) <= 0]
    check(not empty, "%d charts, none without data (%s)" % (len(charts), empty))
    flames = dom.find("div", "flame")
    for t, a, _ in flames:
        frames = dom.find("div", "fg-frame", inside_id=a["id"])
        vals = [float(x[1].get("data-value", "0")) for x in frames]
        check(len(frames) >= 3 and all(v > 0 for v in vals), "flame graph %s laid out: %d boxes" % (a["id"], len(frames)))
    notes = [x[2] for x in dom.find("p", "left-out")]
    check(all(re.match(r"^.+: no chart, .+\.$", n.strip()) for n in notes), "%d charts left out, each says why: %s" % (len(notes), notes))
    check(not any(x[2].lstrip().startswith("{") for x in dom.find("pre")), "no raw JSON")

    def flame_names(fid):
        return [x[2] for x in dom.find("div", "fg-frame", inside_id=fid)]

    if kind == "traced":
        tl = dom.find("svg", "timeline")
        states = {a.get("data-state") for _, a, _ in dom.find("rect", "tl-slice")}
        check(len(tl) == 1 and "running" in states and ("idle" in states or "parked" in states),
              "thread-state timeline with states %s" % sorted(s for s in states if s))
        names = flame_names("fg-waits-0")
        check(any(n in ("idle", "sleep", "cond", "lock", "io") for n in names), "wait-by-cause flame graph has causes")
        check(len(dom.find("table", "decisions")) == 1, "decisions table")
    elif kind == "locks":
        locks = dom.find("table", "locks")
        check(len(locks) == 1, "lock table")
        text = locks[0][2] if locks else ""
        check("hold s" in text and "every owner site" in text, "lock table has hold time and every owner site")
        names = flame_names("fg-locks-0")
        check(any(n.startswith("waited at ") for n in names), "contention flame graph by waiter site")
        check(len(dom.find("table", "decisions")) == 1, "decisions table")
    elif kind == "dump":
        labels = [x[2] for x in dom.find("text", "edge-label")]
        check(len(labels) >= 2 and any("lock taken at" in l for l in labels), "wait-for edges labelled: %s" % labels[:3])
        check(len(flame_names("fg-stacks")) >= 5, "threads-by-stack flame graph")
    else:
        check(False, "unknown kind " + kind)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
