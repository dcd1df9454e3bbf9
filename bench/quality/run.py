#!/usr/bin/env python3
"""The quality table of issue 14 (bench/results/quality.md): every shared dataset, every model,
under protocol P (warm-up 0; warm-up 0.5 online; and warm-up 0.5 with
sasrec and default alone, online against frozen) and protocol L, through
`flywheel eval` (../shared/guides/evaluation.md). One JSON document per (dataset, run) under
--out; the table is generated from whatever JSON documents are there.

  python3 bench/quality/run.py run [--jobs 2] [--datasets a,b] [--runs P0,P50,P50raw,L]
  python3 bench/quality/run.py table [--write bench/results/quality.md]

`run` skips documents that already exist (delete one to rerun it); pre-training fits are cached
in --fit-cache so a rerun after a change to one model refits only that model.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "datasets")

# name -> (spec, runs that apply). seqfile datasets have no time: P is not a temporal replay.
DATASETS = {
    "ml-100k": ("movielens:{d}/ml-100k", "P0,P50,P50raw,L"),
    "ml-1m-partial": ("movielens:{d}/ml-1m-partial", "P0,P50,P50raw,L"),
    "ml-latest-small": ("movielens:{d}/ml-latest-small", "P0,P50,P50raw,L"),
    "ml-latest-small-dslabs": ("movielens:{d}/ml-latest-small-dslabs", "P0,P50,P50raw,L"),
    "taobao": ("taobao:{d}/taobao-userbehavior-head", "P0,P50,P50raw,L"),
    "lastfm": ("lastfm:{d}/lastfm-hetrec2011-2k", "P0,P50,P50raw,L"),
    "ml-1m-sasrec": ("seqfile:{d}/ml-1m-sasrec/ml-1m.txt", "L"),
    "beauty-s3rec": ("seqfile:{d}/amazon-beauty-s3rec/Beauty.txt", "L"),
}
SCHEDULE = ["ml-1m-sasrec", "ml-1m-partial", "beauty-s3rec", "taobao", "lastfm", "ml-latest-small",
            "ml-latest-small-dslabs", "ml-100k"]
BASELINES = ["pop", "recentpop", "itemknn", "bpr", "twotower"]
MODELS = BASELINES + ["sasrec", "default"]
RAW_COLUMNS = ["sasrec online", "sasrec frozen", "default online", "default frozen"]
RUNS = {
    "P0": ["--protocol", "prequential"],
    "P50": ["--protocol", "prequential", "--warmup", "0.5", "--update", "online"],
    # The model alone (frozen exists only there), online and frozen in one run.
    "P50raw": ["--protocol", "prequential", "--warmup", "0.5", "--raw-model", "--update",
               "online,frozen"],
    "L": ["--protocol", "loo"],
}
RUN_TITLES = {
    "P0": "P, all events online (warm-up 0)",
    "P50": "P, warm-up 0.5, online",
    "P50raw": "P, warm-up 0.5, the model alone (--raw-model): online vs frozen",
    "L": "L (leave-last-out, full ranking)",
}


def job_command(args, dataset, run):
    spec = DATASETS[dataset][0].format(d=DATA)
    models = "sasrec,default" if run == "P50raw" else args.models
    out = os.path.join(args.out, f"{dataset}.{run}.json")
    cmd = [args.binary, "eval", "--dataset", spec, "--models", models, "--json", out,
           "--no-progress", "--fit-cache", args.fit_cache] + RUNS[run]
    return cmd, out


def run_jobs(args):
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.fit_cache, exist_ok=True)
    jobs = []
    # Longest first, so that two workers finish together.
    order = sorted(args.datasets.split(","), key=lambda d: SCHEDULE.index(d))
    for dataset in order:
        for run in DATASETS[dataset][1].split(","):
            if run in args.runs.split(","):
                cmd, out = job_command(args, dataset, run)
                if not os.path.exists(out):
                    jobs.append((dataset, run, cmd, out))

    def one(job):
        dataset, run, cmd, out = job
        start = time.time()
        log = out[:-5] + ".log"
        with open(log, "w") as f:
            rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
        return dataset, run, rc, time.time() - start, " ".join(cmd)

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for dataset, run, rc, seconds, cmd in pool.map(one, jobs):
            print(f"{dataset} {run}: rc={rc} {seconds:.0f} s  ({cmd})", flush=True)
            failed += rc != 0
    return 1 if failed else 0


def fmt(x):
    return "" if x is None else f"{x:.4f}"


def table(args):
    lines = []
    summary = []
    for run in RUNS:
        block = []
        for dataset in DATASETS:
            path = os.path.join(args.out, f"{dataset}.{run}.json")
            if not os.path.exists(path):
                continue
            doc = json.load(open(path))
            res = {}
            for r in doc["results"]:
                key = r["model"] + (" " + r["update"] if run == "P50raw" else "")
                res[key] = r
            cells = []
            for m in (RAW_COLUMNS if run == "P50raw" else MODELS):
                r = res.get(m)
                if r is None:
                    cells.append("")
                    continue
                met = r["metrics"]
                cells.append(f"{met['hr']:.4f} / {met['ndcg']:.4f}")
            best = max((res[m]["metrics"]["hr"], m) for m in BASELINES if m in res) \
                if any(m in res for m in BASELINES) else None
            ratio = ""
            if run == "P50raw":
                on, off = res.get("sasrec online"), res.get("sasrec frozen")
                if on and off and off["metrics"]["hr"] > 0:
                    ratio = f"{on['metrics']['hr'] / off['metrics']['hr']:.2f}x"
            elif best and "default" in res and best[0] > 0:
                q = res["default"]["metrics"]["hr"] / best[0]
                ratio = f"{q:.2f}x {best[1]}"
                summary.append((dataset, run, q, best[1]))
            block.append(f"| {dataset} | {doc.get('events_scored', '')} | " + " | ".join(cells) +
                         f" | {ratio} |")
        if not block:
            continue
        models = RAW_COLUMNS if run == "P50raw" else MODELS
        lines.append(f"\n### {RUN_TITLES[run]}\n")
        lines.append("HR@10 / NDCG@10; last column: " +
                     ("sasrec's online HR@10 over its frozen self.\n" if run == "P50raw" else
                      "`default`'s HR@10 over the best of " + ", ".join(BASELINES) + ".\n"))
        last = "sasrec online / frozen" if run == "P50raw" else "default / best baseline"
        lines.append("| dataset | scored | " + " | ".join(models) + f" | {last} |")
        lines.append("|---|---|" + "---|" * len(models) + "---|")
        lines.extend(block)
    text = "\n".join(lines) + "\n"
    if args.write:
        with open(args.write) as f:
            doc = f.read()
        begin, end = "<!-- BEGIN GENERATED: bench/quality/run.py table -->", "<!-- END GENERATED -->"
        i, j = doc.index(begin), doc.index(end, doc.index(begin))
        doc = doc[:i + len(begin)] + "\n" + text + doc[j:]
        with open(args.write, "w") as f:
            f.write(doc)
    else:
        sys.stdout.write(text)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["run", "table"])
    p.add_argument("--binary", default=os.path.join(ROOT, "build/release/bin/flywheel"))
    p.add_argument("--out", default=os.path.join(ROOT, "out/quality"))
    p.add_argument("--fit-cache", default=os.path.join(ROOT, "out/quality/fit-cache"))
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--runs", default=",".join(RUNS))
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--write", help="replace the generated block of this markdown file")
    args = p.parse_args()
    for d in args.datasets.split(","):
        if d not in DATASETS:
            p.error(f"unknown dataset {d} (known: {', '.join(DATASETS)})")
    for r in args.runs.split(","):
        if r not in RUNS:
            p.error(f"unknown run {r} (known: {', '.join(RUNS)})")
    return run_jobs(args) if args.mode == "run" else table(args)


if __name__ == "__main__":
    sys.exit(main())
