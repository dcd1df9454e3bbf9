#!/usr/bin/env python3
"""clang-tidy 14 over the non-test sources, with a cache of clean results.

    scripts/tidy.py [--build-dir build/release] [--jobs N] [--cache DIR] [--no-cache] [FILE...]

A file's result depends only on its preprocessed text (every header it reaches), its compile
flags, .clang-tidy and the clang-tidy version. The script hashes those (the source root replaced
by a placeholder, so clones in other folders share entries) and skips a file whose hash was clean
before. Only clean results are cached: a file with findings is analysed again on every run, and
its findings are printed. Exit status 1 on any finding, 2 on a usage or set-up error.

The cache lives in $FLYWHEEL_TIDY_CACHE or ~/.cache/flywheel-tidy (one empty file per clean hash).
The hashes of the committed tree's clean files are also kept in the repository
(.ci/tidy-clean.txt, written by --write-known, which `make tidy` passes), so that a fresh CI
machine with the same compiler and headers skips the files nobody changed since; a file whose
preprocessed text differs there is analysed as usual.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_files():
    out = subprocess.run(["git", "ls-files", "src/*.cc", "apps/*.cc", "testing/*.cc"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    return [f for f in out if not f.endswith("_test.cc")]


def load_commands(build_dir):
    path = os.path.join(build_dir, "compile_commands.json")
    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
    except OSError as e:
        sys.exit(f"tidy: {path}: {e.strerror} (configure the release preset first)")
    return {os.path.realpath(e["file"]): e for e in entries}


def preprocess_args(entry):
    """The entry's compiler arguments turned into `clang++ -E` over the same flags."""
    args = entry.get("arguments") or shlex.split(entry["command"])
    # Drop a launcher, if any, and the compiler: keep what follows the compiler.
    i = 1 + next((k for k, a in enumerate(args)
                  if os.path.basename(a).rstrip("-0123456789").endswith(("c++", "clang++"))), 0)
    flags, skip = [], False
    for a in args[i:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD") or a == entry["file"]:
            continue
        flags.append(a)
    out = ["clang++", "-E", "-w", *flags, entry["file"]]
    return out, flags


def cache_key(rel, entry, config, version):
    cmd, flags = preprocess_args(entry)
    pre = subprocess.run(cmd, cwd=entry["directory"], capture_output=True)
    if pre.returncode != 0:
        return None  # let clang-tidy report the problem
    h = hashlib.sha256()
    for part in (version, config, rel.encode(), " ".join(flags).replace(ROOT, "@ROOT@").encode()):
        h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\0")
    h.update(pre.stdout.replace(ROOT.encode(), b"@ROOT@"))
    return h.hexdigest()


def check(rel, entry, args, config, version):
    key = None if args.no_cache else cache_key(rel, entry, config, version)
    marker = os.path.join(args.cache, key) if key else None
    if key and key in args.known_hashes:
        return rel, True, "", True, key
    if marker and os.path.exists(marker):
        return rel, True, "", True, key
    run = subprocess.run(["clang-tidy", "-p", args.build_dir, "--quiet", rel], cwd=ROOT,
                         capture_output=True, text=True)
    text = run.stdout + run.stderr
    clean = run.returncode == 0 and " warning: " not in text and " error: " not in text
    if clean and marker:
        os.makedirs(args.cache, exist_ok=True)
        open(marker, "w", encoding="utf-8").close()
    return rel, clean, text, False, key if clean else None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--cache", default=os.environ.get(
        "FLYWHEEL_TIDY_CACHE", os.path.expanduser("~/.cache/flywheel-tidy")))
    p.add_argument("--no-cache", action="store_true", help="analyse every file")
    p.add_argument("--known", default=os.path.join(ROOT, ".ci", "tidy-clean.txt"),
                   help="committed hashes of clean files (read; written with --write-known)")
    p.add_argument("--write-known", action="store_true",
                   help="rewrite --known with the hashes of this run's clean files (all files)")
    p.add_argument("files", nargs="*", help="sources relative to the repo (default: all non-test)")
    args = p.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    args.known_hashes = set()
    if not args.no_cache and os.path.exists(args.known):
        with open(args.known, encoding="utf-8") as f:
            args.known_hashes = {line.strip() for line in f if line.strip()}
    commands = load_commands(args.build_dir)
    with open(os.path.join(ROOT, ".clang-tidy"), encoding="utf-8") as f:
        config = f.read()
    version = subprocess.run(["clang-tidy", "--version"], capture_output=True, text=True).stdout
    files = args.files or default_files()
    jobs = []
    for rel in files:
        entry = commands.get(os.path.realpath(os.path.join(ROOT, rel)))
        if entry is None:
            print(f"tidy: {rel}: not in {args.build_dir}/compile_commands.json", file=sys.stderr)
            return 2
        jobs.append((rel, entry))
    bad, cached, clean_keys = [], 0, []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(check, rel, e, args, config, version) for rel, e in jobs]
        for fut in concurrent.futures.as_completed(futures):
            rel, clean, text, hit, key = fut.result()
            cached += hit
            if key:
                clean_keys.append(key)
            if not clean:
                bad.append(rel)
                print(text)
    print(f"clang-tidy: {len(jobs)} files, {cached} clean results from the cache, "
          f"{len(bad)} with findings")
    if args.write_known and not args.files:
        with open(args.known, "w", encoding="utf-8") as f:
            f.write("".join(k + "\n" for k in sorted(set(clean_keys))))
        print(f"clang-tidy: {len(set(clean_keys))} clean hashes written to {args.known}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
