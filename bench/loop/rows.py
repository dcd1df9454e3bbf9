#!/usr/bin/env python3
"""One table row per loop benchmark target, from the JSON reports of bench/loop/run.sh."""
import json
import math
import statistics
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def mean_ci(xs):
    m = statistics.mean(xs)
    if len(xs) < 2:
        return m, float("nan")
    return m, 1.96 * statistics.stdev(xs) / math.sqrt(len(xs))


def fmt(m, h):
    return f"{m:.4f} ± {h:.4f}" if not math.isnan(h) else f"{m:.4f}"


def ope(d, seeds, greedy_spec, boltz_spec):
    # The targets in the order run.sh passes them: greedy on the other model, then Boltzmann.
    # Truth: the counterfactual expected reward per list the logging run reports for each target
    # (same requests, same engine state); the on-policy runs' reward, when present, is printed
    # apart (it also differs by what the target would have learned from its own traffic).
    labels = [greedy_spec, boltz_spec]
    onpolicy_files = ["truth-greedy", "truth-boltzmann"]
    stats = {}  # (target, estimator) -> list of (rel_err, covered, width)
    truths = {}
    for s in range(1, seeds + 1):
        doc = load(f"{d}/ope-{s}.json")
        log = load(f"{d}/log-{s}.json")
        for n, t in enumerate(doc["targets"]):
            cf = log["counterfactual"][n]
            assert cf["target"] == labels[n], (cf["target"], labels[n])
            truth = cf["reward_per_list"]
            truths.setdefault(labels[n], []).append(truth)
            try:
                onp = load(f"{d}/{onpolicy_files[n]}-{s}.json")["overall"]["reward_per_list"]
                truths.setdefault(labels[n] + " (on-policy run)", []).append(onp)
            except OSError:
                pass
            for name, e in t["estimators"].items():
                v = e["values"]["reward"]
                if v["value"] is None:
                    continue
                rel = abs(v["value"] - truth) / truth if truth else float("nan")
                cov = v["low"] is not None and v["low"] <= truth <= v["high"]
                width = (v["high"] - v["low"]) if v["low"] is not None else float("nan")
                stats.setdefault((labels[n], name), []).append((rel, cov, width / truth))
        lists = doc["lists"]
    logged = [load(f"{d}/log-{s}.json")["overall"] for s in range(1, seeds + 1)]
    print(f"logging: {statistics.mean(o['reward_per_list'] for o in logged):.4f} "
          f"reward per list realised, "
          f"{statistics.mean(o['expected_reward'] / o['requests'] for o in logged):.4f} expected")
    for label, xs in truths.items():
        print(f"truth {label}: {fmt(*mean_ci(xs))} reward per list")
    print(f"| target | estimator | mean rel. error | max rel. error | 95% CI coverage | "
          f"mean CI width / truth | seeds | lists/seed |")
    print("|---|---|---|---|---|---|---|---|")
    for (target, name), rows in sorted(stats.items()):
        rel = [r[0] for r in rows]
        print(f"| {target} | {name} | {statistics.mean(rel):.3f} | {max(rel):.3f} | "
              f"{sum(r[1] for r in rows) / len(rows):.2f} | "
              f"{statistics.mean(r[2] for r in rows):.3f} | {len(rows)} | {lists} |")


def ratio_rows(d, seeds, a, b, key, label):
    xa = [load(f"{d}/{a}-{s}.json")["overall"][key] for s in range(1, seeds + 1)]
    xb = [load(f"{d}/{b}-{s}.json")["overall"][key] for s in range(1, seeds + 1)]
    ratios = [x / y if y else float("nan") for x, y in zip(xa, xb)]
    print(f"| {label} | {fmt(*mean_ci(xa))} | {fmt(*mean_ci(xb))} | {fmt(*mean_ci(ratios))} | "
          f"{seeds} |")


def impressions(d, seeds):
    print("| measure | with impressions | positives only | ratio | seeds |")
    print("|---|---|---|---|---|")
    ratio_rows(d, seeds, "on", "off", "ctr", "CTR")
    ratio_rows(d, seeds, "on", "off", "reward_per_list", "reward per list")


def exploration(d, seeds, base, policy):
    print(f"| measure | {policy} | {base} | ratio | seeds |")
    print("|---|---|---|---|---|")
    ttfc = lambda p, s, k: load(f"{d}/{p}-{s}.json")["new_item_time_to_first_click"][k]
    for key in ("mean_hours", "median_hours"):
        xa = [ttfc(policy, s, key) for s in range(1, seeds + 1)]
        xb = [ttfc(base, s, key) for s in range(1, seeds + 1)]
        r = [y / x if x else float("nan") for x, y in zip(xa, xb)]
        print(f"| new-item time to first click, {key} (h; speed-up = {base}/{policy}) | "
              f"{fmt(*mean_ci(xa))} | {fmt(*mean_ci(xb))} | {fmt(*mean_ci(r))} | {seeds} |")
    share = lambda p, s: (ttfc(p, s, "clicked") / ttfc(p, s, "new_items")
                          if ttfc(p, s, "new_items") else float("nan"))
    xa = [share(policy, s) for s in range(1, seeds + 1)]
    xb = [share(base, s) for s in range(1, seeds + 1)]
    print(f"| new items with a first click before the run's end (share; never-clicked items "
          f"count at end - arrival in the hours above: a lower bound for {base}) | "
          f"{fmt(*mean_ci(xa))} | {fmt(*mean_ci(xb))} | | {seeds} |")
    day1 = lambda p, s: load(f"{d}/{p}-{s}.json")["days"][0]["reward"]
    xa = [day1(policy, s) for s in range(1, seeds + 1)]
    xb = [day1(base, s) for s in range(1, seeds + 1)]
    loss = [1 - x / y if y else float("nan") for x, y in zip(xa, xb)]
    print(f"| day-1 reward (loss = 1 - {policy}/{base}) | {fmt(*mean_ci(xa))} | "
          f"{fmt(*mean_ci(xb))} | loss {fmt(*mean_ci(loss))} | {seeds} |")
    ratio_rows(d, seeds, policy, base, "reward", "cumulative reward")


def reward(d, seeds):
    print("| measure | reward | greedy | ratio | seeds |")
    print("|---|---|---|---|---|")
    ratio_rows(d, seeds, "reward", "greedy", "reward", "cumulative reward")


def overhead(d, seeds):
    print("| measure | with impressions | without | ratio / difference | seeds |")
    print("|---|---|---|---|---|")
    lat = lambda p, s, k: load(f"{d}/{p}-{s}.json")["recommend_ms"][k]
    for k in ("mean", "p50", "p99"):
        xa = [lat("with", s, k) for s in range(1, seeds + 1)]
        xb = [lat("without", s, k) for s in range(1, seeds + 1)]
        r = [x / y for x, y in zip(xa, xb)]
        print(f"| recommend latency {k} (ms, in process) | {fmt(*mean_ci(xa))} | "
              f"{fmt(*mean_ci(xb))} | {fmt(*mean_ci(r))} | {seeds} |")
    per_item = []
    for s in range(1, seeds + 1):
        a, b = load(f"{d}/with-{s}.json"), load(f"{d}/without-{s}.json")
        per_item.append((a["target"]["log_bytes"] - b["target"]["log_bytes"]) /
                        a["overall"]["shown"])
    print(f"| log bytes per shown item (with - without) / shown | | | {fmt(*mean_ci(per_item))} "
          f"| {seeds} |")


def overhead_http(d, seeds):
    print("| measure (HTTP round trip, ms) | posted when shown | recorded in the request | "
          "no impressions | ratios to none (posted; in request) | seeds |")
    print("|---|---|---|---|---|---|")
    lat = lambda p, s, k: load(f"{d}/{p}-{s}.json")["recommend_ms"][k]
    for k in ("mean", "p50", "p99"):
        xs = {a: [lat(a, s, k) for s in range(1, seeds + 1)] for a in ("with", "incall", "without")}
        r1 = [x / y for x, y in zip(xs["with"], xs["without"])]
        r2 = [x / y for x, y in zip(xs["incall"], xs["without"])]
        print(f"| recommend latency {k} | {fmt(*mean_ci(xs['with']))} | "
              f"{fmt(*mean_ci(xs['incall']))} | {fmt(*mean_ci(xs['without']))} | "
              f"{fmt(*mean_ci(r1))}; {fmt(*mean_ci(r2))} | {seeds} |")


if __name__ == "__main__":
    row, d, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    args = sys.argv[4:]
    {"ope": ope, "impressions": impressions, "exploration": exploration, "reward": reward,
     "overhead": overhead, "overhead_http": overhead_http}[row](d, seeds, *args)
