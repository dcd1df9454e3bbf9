#!/usr/bin/env python3
"""Size limits of product code (CONTRIBUTING.md): no file over 600 lines, no function over 80
lines, the engine facade (src/engine/engine.cc) under 400. Tests, benchmarks and third-party
code are exempt. A function is counted from a line at column 0 that opens a body ('{' at the end
of the signature) to the matching '}' at column 0; clang-format puts both there.

  scripts/check_sizes.py [--list]    exit 1 and list the offenders (--list: every function > 60)
"""
import subprocess
import sys

MAX_FILE, MAX_FUNCTION, MAX_FACADE = 600, 80, 400


def product_files():
    out = subprocess.run(["git", "ls-files", "src/*.cc", "src/*.h", "apps/*.cc", "apps/*.h",
                          "include/*.h"], capture_output=True, text=True, check=True).stdout
    for path in out.split():
        if path.endswith("_test.cc") or "_test_" in path or path.endswith("_benchmark.cc"):
            continue
        if path.endswith("test_util.h") or path.endswith("test_fixture.h"):
            continue
        yield path


def functions(lines):
    """(first line index, length) of each function body that starts at column 0."""
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line or line[0].isspace() or line.startswith(
                ("namespace", "class", "struct", "enum", "union", "extern", "#", "//", "}",
                 "template", "using", "static_assert")):
            i += 1
            continue
        j = i  # the signature may span lines: find where it opens a body or ends
        while j < len(lines) and not lines[j].rstrip().endswith(("{", ";", "}")):
            j += 1
        if j >= len(lines) or not lines[j].rstrip().endswith("{") or "(" not in "".join(
                lines[i:j + 1]):
            i = j + 1
            continue
        k = j + 1
        while k < len(lines) and not lines[k].startswith("}"):
            k += 1
        yield i, k - i + 1
        i = k + 1


def main():
    report = "--list" in sys.argv
    bad = []
    for path in product_files():
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        n = len(lines) - (1 if lines and lines[-1] == "" else 0)
        limit = MAX_FACADE if path == "src/engine/engine.cc" else MAX_FILE
        if n > limit:
            bad.append(f"{path}: {n} lines (limit {limit})")
        for start, length in functions(lines):
            if length > MAX_FUNCTION or (report and length > 60):
                bad.append(f"{path}:{start + 1}: function of {length} lines "
                           f"(limit {MAX_FUNCTION}): {lines[start].strip()[:70]}")
    for b in bad:
        print(b)
    over = [b for b in bad if "limit" in b and not (report and "function of" in b and
                                                     int(b.split("function of ")[1].split()[0])
                                                     <= MAX_FUNCTION)]
    print(f"check_sizes: {len(over)} over the limits")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
