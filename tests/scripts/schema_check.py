#!/usr/bin/env python3
"""schema_check.py: validates poolshim reports and dumps against docs/schema/.

Usage: schema_check.py [--expect-invalid] FILE_OR_DIR...
A directory stands for every poolshim.*.json under it (recursively). Each file
is validated against the schema its "kind" names (report or dump). Prints one
line per failing file with the first error's path and message; exits 1 if any
file fails (with --expect-invalid: if any file passes), 2 on bad usage or when
no file was given. Debian's python3-jsonschema (scripts/deps.sh) is enough:
only Draft 2020-12 and a RefResolver store are used, which 4.10 and later have.
"""
import json
import os
import sys
import warnings

try:
    import jsonschema
except ImportError:
    print("schema_check: python3-jsonschema is not installed (scripts/deps.sh installs it)", file=sys.stderr)
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_DIR = os.path.join(HERE, "..", "..", "docs", "schema")


def load_validators():
    store, schemas = {}, {}
    for kind in ("report", "dump"):
        with open(os.path.join(SCHEMA_DIR, kind + ".schema.json")) as f:
            s = json.load(f)
        jsonschema.Draft202012Validator.check_schema(s)
        store[s["$id"]] = s
        schemas[kind] = s
    validators = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # RefResolver: newer jsonschema prefers referencing
        for kind, s in schemas.items():
            resolver = jsonschema.RefResolver(base_uri=s["$id"], referrer=s, store=store)
            validators[kind] = jsonschema.Draft202012Validator(s, resolver=resolver)
    return validators


def files_of(args):
    for a in args:
        if os.path.isdir(a):
            for root, _, names in os.walk(a):
                for n in sorted(names):
                    if n.startswith("poolshim.") and n.endswith(".json"):
                        yield os.path.join(root, n)
        else:
            yield a


def first_error(validators, path):
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        return "not JSON: %s" % e
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if kind not in validators:
        return "kind %r is neither report nor dump" % (kind,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        errs = sorted(validators[kind].iter_errors(doc), key=lambda e: list(e.absolute_path))
    if not errs:
        return None
    e = errs[0]
    where = "/".join(str(p) for p in e.absolute_path) or "(top)"
    return "%s: %s (%d error%s)" % (where, e.message[:300], len(errs), "" if len(errs) == 1 else "s")


def main(argv):
    expect_invalid = "--expect-invalid" in argv
    args = [a for a in argv if a != "--expect-invalid"]
    validators = load_validators()
    n = bad = 0
    for path in files_of(args):
        n += 1
        err = first_error(validators, path)
        if err and not expect_invalid:
            bad += 1
            print("schema_check: %s: %s" % (path, err))
        elif not err and expect_invalid:
            bad += 1
            print("schema_check: %s: valid, but it should not be" % path)
    if n == 0:
        print("schema_check: no file to check", file=sys.stderr)
        return 2
    print("schema_check: %d of %d files %s" % (n - bad, n, "rejected as expected" if expect_invalid else "valid"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
