#!/usr/bin/env python3
"""Flywheel at internet scale: node counts from measured per-node inputs (doc/scale.md).

    python3 bench/scale_model.py                         # the table for the default target
    python3 bench/scale_model.py --users 1e9 --items 1e8 --events-per-s 1e6 --recs-per-s 1e5
    python3 bench/scale_model.py --set node_mem_gib=512 --set events_per_user=20 --json out.json
    python3 bench/scale_model.py --inputs my_inputs.json # every input, overriding the defaults
    python3 bench/scale_model.py --write-inputs bench/scale_inputs.json   # regenerate that file

Every input is a named constant below with its kind (target, measured, assumed, code) and the
file or command that produced it; bench/results/scale_inputs.md is the table of the measured
ones with their commands. bench/scale_inputs.json holds the same values (a unit test checks that
the two agree); --inputs FILE and --set NAME=VALUE override them. Python 3 standard library only.

Measurement helpers (used for bench/results/scale_inputs.md):
    --sections SNAPSHOT            payload bytes per section of an engine snapshot (.fws)
    --bpr-touched SNAP1 SNAP2      bpr embedding rows that changed between two snapshots
    --measure-redis EVENTS N PER_ENTRY FSYNC   Redis Streams CPU, memory and AOF bytes per event
"""
import argparse
import json
import math
import os
import struct
import sys

MODELS = ("pop", "bpr", "twotower", "sasrec")
SCALE_MD = "bench/results/scale_inputs.md"


class Input:
    """One named input: value, unit, kind (target | measured | assumed | code) and source."""

    def __init__(self, value, unit, kind, source):
        self.value, self.unit, self.kind, self.source = value, unit, kind, source


def _m(value, unit, source):
    return Input(value, unit, "measured", source)


def _a(value, unit, source):
    return Input(value, unit, "assumed", source)


# Commands of bench/results/scale_inputs.md, named once.
RUN_INGEST = SCALE_MD + " 'CPU per event' (flywheel ingest + flywheel inspect, /usr/bin/time)"
RUN_RSS = SCALE_MD + " 'Memory' (serve --read-only VmRSS, 4 data sets, linear fit)"
RUN_SNAP = SCALE_MD + " 'Memory' (snapshot sections, --sections, linear fit)"
RUN_REC = SCALE_MD + " 'CPU per recommendation' (serve --read-only, /proc/PID/stat)"
RUN_REDIS = SCALE_MD + " 'Redis Streams' (redis-server 7.0.15, /proc/PID/stat, AOF size)"
RUN_TOUCH = SCALE_MD + " 'Touched item rows' (--bpr-touched between two snapshots)"

DEFAULT_INPUTS = {
    # --- targets (issue 19)
    "users": Input(1e9, "users", "target", "issue 19"),
    "items": Input(1e8, "items", "target", "issue 19"),
    "events_per_s": Input(1e6, "events/s", "target", "issue 19"),
    "recs_per_s": Input(1e5, "requests/s", "target", "issue 19"),
    # --- node shape and headroom (assumed: a common memory-optimised cloud machine)
    "node_cores": _a(32, "cores", "node shape"),
    "node_mem_gib": _a(256, "GiB", "node shape"),
    "node_nic_gbps": _a(25, "Gbit/s", "node shape"),
    "node_disk_mb_s": _a(1000, "MB/s", "node shape (NVMe sequential write for the AOF)"),
    "cpu_util": _a(0.5, "fraction", "headroom: peaks, catch-up after a restart at 2x"),
    "learner_thread_util": _a(0.5, "fraction", "headroom of the one learner thread per shard"),
    "mem_util": _a(0.7, "fraction", "headroom: allocator, snapshot verify, growth"),
    "net_util": _a(0.5, "fraction", "headroom of the NIC"),
    "disk_util": _a(0.5, "fraction", "headroom of the AOF disk"),
    "redis_cpu_util": _a(0.5, "fraction", "of the one core a redis-server process uses"),
    "redis_mem_util": _a(0.5, "fraction", "Redis memory: AOF rewrite fork copy-on-write"),
    "redis_procs_per_node": _a(8, "processes", "redis-server primaries per Redis machine"),
    "redis_replicas": _a(1, "replicas/primary", "Redis replication for node loss"),
    "aof_rewrite_factor": _a(2.0, "x", "AOF bytes rewritten per byte appended"),
    # --- workload (assumed unless stated)
    "events_per_user": _a(50, "events", "interactions kept per user (history <= 200; seen set capped)"),
    "positive_fraction": _m(0.444, "fraction", "synthetic stream: click+cart+purchase share"),
    "events_per_entry": _a(100, "events", "events per stream entry (one POST batch per XADD)"),
    "min_replicas": _a(2, "replicas/shard", "availability: one replica may be down"),
    "sync_interval_s": _a(60, "s", "touched-row sync period (design A, not built)"),
    "snapshot_interval_s": _a(3600, "s", "trainer snapshot period at scale"),
    "stream_retention_s": _a(7200, "s", "2 x snapshot interval: a replica bootstraps from a snapshot"),
    "event_bytes": _m(100.8, "B", "event JSON with a 14-character id (synthetic, wc -c / lines)"),
    "entry_bytes_per_event": _m(101.5, "B", RUN_REDIS + ", XADD of 100-event entries (RESP bytes)"),
    "response_bytes": _m(1150, "B", RUN_REC + ", k=10 with reasons"),
    "wal_bytes_per_event": _m(67.8, "B", RUN_INGEST + ", wal/ size / events, 14-char ids"),
    "dedup_bytes": _m(81.3e6, "B", SCALE_MD + " 'Memory': 1M-id window, RSS with ids minus without"),
    "snapshot_load_mb_s": _m(170, "MB/s", "bench/results/recovery.md: 102 MB opened in 0.60 s (idle)"),
    # --- Redis Streams (measured, redis-server 7.0.15 on this VM)
    "redis_xadd_us_per_entry": _m(10.8, "us", RUN_REDIS + ", unpipelined XADD, fit of 1- and 100-event entries"),
    "redis_xadd_us_per_event": _m(0.12, "us", RUN_REDIS + ", same fit"),
    "redis_always_entries_per_s": _m(3400, "entries/s", RUN_REDIS + ", appendfsync always, 16 clients, 3,249-3,616 (this VM's disk)"),
    "redis_read_us_per_event": _m(0.15, "us", RUN_REDIS + ", XREADGROUP COUNT 1000 + XACK, per group"),
    "redis_mem_bytes_per_event": _m(103.0, "B", RUN_REDIS + ", used_memory / events, 100-event entries"),
    "redis_aof_bytes_per_event": _m(101.5, "B", RUN_REDIS + ", AOF growth per event by XADD"),
    "redis_aof_bytes_per_event_group": _m(2.15, "B", RUN_REDIS + ", XREADGROUP (XCLAIM) + XACK per group"),
    # --- serving (measured at ~100k items; the scaling to the target is assumed)
    "rec_measured_items": _m(78882, "items", RUN_REC + ", bpr's indexed items"),
    "rec_ann_share": _m(0.55, "fraction", "perf record of bpr requests: hnsw + NegativeDot + filter"),
    "rec_cold_us": _m(210, "us", RUN_REC + ", unknown user (trending), bpr"),
    "rec_exact_us_bpr": _m(1190, "us", RUN_REC + ", bpr with pipeline.ann=none (exact scan)"),
    "edge_us_per_event": _m(10.4, "us", "load_bench ingest, pop: 11.6 us/event server CPU (median of 4) minus pop's learner 1.2"),
    # --- per model: CPU (marginal between two stream lengths; two runs each agree within 3 %)
    "pop.learner_us": _m(1.22, "us/event", RUN_INGEST + ", inspect replay"),
    "pop.ingest_us": _m(4.73, "us/event", RUN_INGEST + ", parse + dedup + log + learner"),
    "bpr.learner_us": _m(5.57, "us/event", RUN_INGEST + ", inspect replay"),
    "bpr.ingest_us": _m(8.77, "us/event", RUN_INGEST),
    "twotower.learner_us": _m(58.4, "us/event", RUN_INGEST + ", with item content"),
    "twotower.ingest_us": _m(68.3, "us/event", RUN_INGEST + ", with item content"),
    "sasrec.learner_us": _m(160.6, "us/event", RUN_INGEST + ", loss=sampled negatives=256"),
    "sasrec.ingest_us": _m(161.5, "us/event", RUN_INGEST + ", loss=sampled negatives=256"),
    # --- per model: memory (RSS of serve --read-only, pipeline.ann=none; ANN = hnsw minus none)
    "pop.user_bytes": _m(833, "B/user", RUN_RSS),
    "pop.user_bytes_per_event": _m(55.4, "B/event", RUN_RSS),
    "pop.item_bytes": _m(502, "B/item", RUN_RSS + " (catalogue, ids, counts)"),
    "pop.ann_bytes": Input(0, "B/item", "code", "pop has no item vectors"),
    "bpr.user_bytes": _m(1041, "B/user", RUN_RSS),
    "bpr.user_bytes_per_event": _m(77.2, "B/event", RUN_RSS),
    "bpr.item_bytes": _m(1344, "B/item", RUN_RSS),
    "bpr.ann_bytes": _m(1190, "B/item", RUN_RSS + ", hnsw minus none per indexed item"),
    "twotower.user_bytes": _m(1317, "B/user", RUN_RSS),
    "twotower.user_bytes_per_event": _m(71.9, "B/event", RUN_RSS),
    "twotower.item_bytes": _m(1849, "B/item", RUN_RSS),
    "twotower.ann_bytes": _m(1150, "B/item", RUN_RSS),
    "sasrec.user_bytes": _m(787, "B/user", RUN_RSS),
    "sasrec.user_bytes_per_event": _m(57.6, "B/event", RUN_RSS),
    "sasrec.item_bytes": _m(1258, "B/item", RUN_RSS),
    "sasrec.ann_bytes": _m(1790, "B/item", RUN_RSS),
    # --- per model: snapshot bytes (serialised state)
    "pop.snap_user_bytes": _m(67.0, "B/user", RUN_SNAP),
    "pop.snap_user_bytes_per_event": _m(23.9, "B/event", RUN_SNAP),
    "pop.snap_item_bytes": _m(183, "B/item", RUN_SNAP),
    "bpr.snap_user_bytes": _m(346, "B/user", RUN_SNAP),
    "bpr.snap_user_bytes_per_event": _m(24.8, "B/event", RUN_SNAP),
    "bpr.snap_item_bytes": _m(632, "B/item", RUN_SNAP),
    "twotower.snap_user_bytes": _m(460, "B/user", RUN_SNAP),
    "twotower.snap_user_bytes_per_event": _m(30.1, "B/event", RUN_SNAP),
    "twotower.snap_item_bytes": _m(676, "B/item", RUN_SNAP),
    "sasrec.snap_user_bytes": _m(63.6, "B/user", RUN_SNAP),
    "sasrec.snap_user_bytes_per_event": _m(24.1, "B/event", RUN_SNAP),
    "sasrec.snap_item_bytes": _m(955, "B/item", RUN_SNAP),
    # --- per model: serving CPU per personal request (hnsw, k=10)
    "pop.rec_us": _m(150, "us/request", RUN_REC + " (130-205 us in 4 runs; same at 20k items)"),
    "bpr.rec_us": _m(809, "us/request", RUN_REC + ", 78,882 indexed items, d=32"),
    "twotower.rec_us": _m(961, "us/request", RUN_REC + ", 100,000 indexed items, d=32"),
    "sasrec.rec_us": _m(1085, "us/request", RUN_REC + ", 45,085 indexed items, d=64"),
    # --- per model: item-table rows touched per positive event and their size on the wire
    #     (values only: 8-byte id + fp32 values; optimizer state stays with its owner)
    "pop.touch_rows": Input(1, "rows/positive", "code", "one count per event"),
    "pop.row_wire_bytes": Input(12, "B", "code", "id + f32 count"),
    "bpr.touch_rows": _m(25.2, "rows/positive", RUN_TOUCH + ": item table 20.3 + context 4.85"),
    "bpr.row_wire_bytes": Input(139, "B", "code", "8 + 4 x 33 (item) / 8 + 4 x 32 (context), weighted"),
    "twotower.touch_rows": _a(34, "rows/positive", "2 steps (event + replay) x (1 + 16 negatives)"),
    "twotower.row_wire_bytes": Input(136, "B", "code", "8 + 4 x 32"),
    "sasrec.touch_rows": _a(564, "rows/positive", "2 x (1 + 256 shared negatives) + 50 inputs"),
    "sasrec.row_wire_bytes": Input(264, "B", "code", "8 + 4 x 64"),
    "pop.dim": Input(0, "floats", "code", "no vectors"),
    "bpr.dim": Input(33, "floats", "code", "dim 32 + bias"),
    "twotower.dim": Input(32, "floats", "code", "default dim"),
    "sasrec.dim": Input(64, "floats", "code", "default dim"),
}


def load_inputs(path=None, sets=()):
    """Values by name: the defaults, then the JSON file (name -> value or {"value": v}), then sets."""
    values = {name: inp.value for name, inp in DEFAULT_INPUTS.items()}
    if path:
        with open(path) as f:
            for name, v in json.load(f).items():
                if name not in values:
                    raise SystemExit("%s: unknown input %r" % (path, name))
                values[name] = v["value"] if isinstance(v, dict) else v
    for item in sets:
        name, _, text = item.partition("=")
        if name not in values:
            raise SystemExit("--set: unknown input %r (names: --list-inputs)" % name)
        values[name] = float(text)
    return values


def inputs_document():
    """The inputs as JSON-ready dicts (what --write-inputs writes)."""
    return {name: {"value": i.value, "unit": i.unit, "kind": i.kind, "source": i.source}
            for name, i in DEFAULT_INPUTS.items()}


# ---------------------------------------------------------------------------------------------
# The calculation. `v` is the dict of input values; every function returns plain numbers.

GIB = 1024.0 ** 3


def ceil_div(a, b):
    return int(math.ceil(a / b - 1e-9)) if b > 0 else math.inf


def user_bytes(v, m):
    """In-memory bytes of one user (engine state + the model's user rows)."""
    return v[m + ".user_bytes"] + v[m + ".user_bytes_per_event"] * v["events_per_user"]


def node_mem_budget(v):
    return v["node_mem_gib"] * GIB * v["mem_util"]


def node_net_budget(v):
    """Bytes/s one node may send (or receive) within its headroom."""
    return v["node_nic_gbps"] * 1e9 / 8 * v["net_util"]


def touched_fraction(v, touches_per_s, interval_s):
    """Share of the item rows touched at least once in interval_s when touches fall uniformly
    (an upper bound: skewed touches repeat rows more often)."""
    return 1.0 - math.exp(-touches_per_s * interval_s / v["items"])


def learner_shards(v, m):
    """Shards needed for the one learner thread per shard to keep up with its share."""
    per_shard = v["learner_thread_util"] * 1e6 / v[m + ".learner_us"]
    return ceil_div(v["events_per_s"], per_shard), per_shard


def shards_for_memory(v, m, item_bytes_per_node):
    """Shards so that users/S plus what every shard holds fits one node's budget."""
    room = node_mem_budget(v) - item_bytes_per_node - v["dedup_bytes"]
    if room <= 0:
        return math.inf
    return ceil_div(v["users"] * user_bytes(v, m), room)


def rec_us_at_target(v, m):
    """CPU per personal request at the target catalogue: the ANN share grows with log(items)
    (assumed, HNSW at fixed ef_search), the rest is independent of the catalogue."""
    scale = math.log(v["items"]) / math.log(v["rec_measured_items"])
    share = v["rec_ann_share"] if v[m + ".dim"] > 0 else 0.0
    return v[m + ".rec_us"] * ((1 - share) + share * scale)


def rec_exact_us_at_target(v, m):
    """CPU per request scanning every item exactly (grows linearly with items x dim)."""
    per_item_dim = (v["rec_exact_us_bpr"] - v["rec_cold_us"]) / (v["rec_measured_items"] * 33)
    return v["rec_cold_us"] + per_item_dim * v["items"] * v[m + ".dim"]


def serving_replicas(v, m, shards, learn_us_per_event):
    """Replicas per shard: each replays its shard's stream (learning CPU) and serves its share."""
    learn_cores = v["events_per_s"] / shards * learn_us_per_event * 1e-6
    serve_cores = v["node_cores"] * v["cpu_util"] - learn_cores
    if serve_cores <= 0:
        return math.inf, learn_cores, 0.0
    per_replica = serve_cores / (rec_us_at_target(v, m) * 1e-6)
    need = ceil_div(v["recs_per_s"] / shards, per_replica)
    return max(int(v["min_replicas"]), need), learn_cores, per_replica


def redis_cluster(v, groups):
    """Redis machines for the streams: CPU, memory (retention), AOF disk and network."""
    e = v["events_per_s"]
    cores = 1e-6 * (e / v["events_per_entry"] * v["redis_xadd_us_per_entry"]
                    + e * v["redis_xadd_us_per_event"] + e * groups * v["redis_read_us_per_event"])
    primaries_cpu = ceil_div(cores, v["redis_cpu_util"])
    mem = e * v["stream_retention_s"] * v["redis_mem_bytes_per_event"]
    aof = e * (v["redis_aof_bytes_per_event"] + groups * v["redis_aof_bytes_per_event_group"])
    aof_disk = aof * v["aof_rewrite_factor"]
    net_out = e * v["entry_bytes_per_event"] * (groups + v["redis_replicas"])
    machines = max(ceil_div(primaries_cpu, v["redis_procs_per_node"]),
                   ceil_div(mem, v["node_mem_gib"] * GIB * v["redis_mem_util"]),
                   ceil_div(aof_disk, v["node_disk_mb_s"] * 1e6 * v["disk_util"]),
                   ceil_div(net_out, node_net_budget(v)), 1)
    primaries = max(primaries_cpu, machines)
    always = ceil_div(e / v["events_per_entry"], v["redis_always_entries_per_s"] * v["disk_util"])
    return {"cores": cores, "primaries": primaries, "machines": machines,
            "primaries_if_fsync_always": always,
            "machines_with_replicas": machines * (1 + int(v["redis_replicas"])),
            "memory_gib": mem / GIB, "aof_mb_s": aof / 1e6, "aof_disk_mb_s": aof_disk / 1e6,
            "net_out_gbit_s": net_out * 8 / 1e9,
            "aof_mb_s_per_machine": aof_disk / 1e6 / machines,
            "memory_gib_per_machine": mem / GIB / machines}


def design_replicated(v, m):
    """Design A: item tables on every learner and replica; touched-row sync between learners."""
    s_cpu, per_shard = learner_shards(v, m)
    items_mem = v["items"] * v[m + ".item_bytes"]
    s_mem = shards_for_memory(v, m, items_mem)
    shards = max(s_cpu, s_mem)
    if shards == math.inf:
        return {"fits": False, "item_tables_gib": items_mem / GIB,
                "learner_shards_cpu": s_cpu, "why": "item tables exceed the node's memory"}
    users_mem = v["users"] / shards * user_bytes(v, m)
    learner_mem = users_mem + items_mem + v["dedup_bytes"]
    e_shard = v["events_per_s"] / shards
    touches = v["events_per_s"] * v["positive_fraction"] * v[m + ".touch_rows"]
    t = v["sync_interval_s"]
    rows_in = touched_fraction(v, touches, t) * v["items"]
    rows_out = touched_fraction(v, touches / shards, t) * v["items"]
    sync_in = rows_in * v[m + ".row_wire_bytes"] / t
    sync_out = rows_out * v[m + ".row_wire_bytes"] / t
    ingest = e_shard * v["entry_bytes_per_event"]
    replicas, learn_cores, rec_cap = serving_replicas(v, m, shards, v[m + ".ingest_us"])
    replica_mem = learner_mem + v["items"] * v[m + ".ann_bytes"]
    replica_fits = replica_mem <= node_mem_budget(v)
    aggregator_traffic = max(shards * sync_out, shards * sync_in)
    aggregators = ceil_div(aggregator_traffic, node_net_budget(v)) if m != "pop" else 1
    replica_net = ingest + v["recs_per_s"] / shards / replicas * v["response_bytes"]
    snap = (v["users"] / shards * (v[m + ".snap_user_bytes"] + v[m + ".snap_user_bytes_per_event"]
                                   * v["events_per_user"]) + v["items"] * v[m + ".snap_item_bytes"])
    return {
        "fits": replica_fits, "why": "" if replica_fits else "replica (state + ANN) exceeds node memory",
        "learner_shards_cpu": s_cpu, "learner_shards_mem": s_mem, "learner_shards": shards,
        "events_per_s_per_shard": e_shard, "learner_capacity_events_per_s": per_shard,
        "learner_cores": e_shard * v[m + ".ingest_us"] * 1e-6,
        "user_state_gib": users_mem / GIB, "item_tables_gib": items_mem / GIB,
        "learner_mem_gib": learner_mem / GIB,
        "replica_mem_gib": replica_mem / GIB, "ann_gib": v["items"] * v[m + ".ann_bytes"] / GIB,
        "ingest_mbit_s": ingest * 8 / 1e6,
        "sync_rows_in_per_interval": rows_in, "sync_in_mbit_s": sync_in * 8 / 1e6,
        "sync_out_mbit_s": sync_out * 8 / 1e6, "sync_aggregators": aggregators,
        "replicas_per_shard": replicas, "replica_learn_cores": learn_cores,
        "replica_rec_capacity": rec_cap, "replicas": shards * replicas,
        "replica_net_mbit_s": replica_net * 8 / 1e6,
        "rec_us_target": rec_us_at_target(v, m), "rec_exact_us_target": rec_exact_us_at_target(v, m),
        "snapshot_gib_per_shard": snap / GIB,
        "snapshot_load_s": snap / (v["snapshot_load_mb_s"] * 1e6),
        "replay_after_snapshot_s": v["snapshot_interval_s"] * e_shard * v[m + ".learner_us"] * 1e-6,
        "wal_mb_s_per_shard": e_shard * v["wal_bytes_per_event"] / 1e6,
    }


def retrieval_tier(v, m):
    """Item-sharded ANN tier: k shards (memory), every query searches all k (scatter-gather), each
    over items/k (log scaling, assumed); each item shard replicated for CPU and availability."""
    k = ceil_div(v["items"] * v[m + ".ann_bytes"], node_mem_budget(v)) if v[m + ".ann_bytes"] else 0
    if not k:
        return 0, 0, 0
    per_search_us = (v[m + ".rec_us"] * v["rec_ann_share"]
                     * math.log(v["items"] / k) / math.log(v["rec_measured_items"]))
    cores_per_item_shard = v["recs_per_s"] * per_search_us * 1e-6
    per_item_shard = max(int(v["min_replicas"]),
                         ceil_div(cores_per_item_shard, v["node_cores"] * v["cpu_util"]))
    return k, per_item_shard, k * per_item_shard


def design_item_sharded(v, m):
    """Design B: item tables on parameter servers (sharded by item), learners and replicas hold
    only their users; an item-sharded retrieval tier holds the ANN index."""
    s_cpu, per_shard = learner_shards(v, m)
    engine_items = v["items"] * v["pop.item_bytes"]          # ids + catalogue stay on learners
    s_mem = shards_for_memory(v, m, engine_items)
    shards = max(s_cpu, s_mem)
    model_item_bytes = v["items"] * max(0.0, v[m + ".item_bytes"] - v["pop.item_bytes"])
    per_event = v["positive_fraction"] * v[m + ".touch_rows"] * v[m + ".row_wire_bytes"] * 2
    ps_traffic = v["events_per_s"] * per_event
    ps = max(ceil_div(model_item_bytes, node_mem_budget(v)),
             ceil_div(ps_traffic, node_net_budget(v)), 1 if model_item_bytes else 0)
    k, per_item_shard, retrieval = retrieval_tier(v, m)
    rest_us = v[m + ".rec_us"] * (1 - (v["rec_ann_share"] if k else 0))
    users_mem = v["users"] / shards * user_bytes(v, m)
    learner_mem = users_mem + engine_items + v["dedup_bytes"]
    # Replicas replay the user side of the stream (engine apply, pop's cost) and ask the
    # retrieval tier; the model's user rows come from the learner with the stream (assumed).
    v2 = dict(v)
    v2[m + ".rec_us"] = rest_us
    v2["rec_ann_share"] = 0.0
    replicas, learn_cores, rec_cap = serving_replicas(v2, m, shards, v["pop.ingest_us"])
    return {
        "learner_shards": shards, "learner_shards_cpu": s_cpu, "learner_shards_mem": s_mem,
        "learner_mem_gib": learner_mem / GIB, "param_servers": ps,
        "param_server_mem_gib": model_item_bytes / GIB / max(ps, 1),
        "learner_param_mbit_s": ps_traffic / shards * 8 / 1e6,
        "param_server_mbit_s": ps_traffic / max(ps, 1) * 8 / 1e6,
        "retrieval_shards": k, "retrieval_nodes": retrieval,
        "retrieval_replicas_per_item_shard": per_item_shard, "replicas_per_shard": replicas,
        "replicas": shards * replicas, "replica_mem_gib": learner_mem / GIB,
    }


def edge_nodes(v):
    return ceil_div(v["events_per_s"] * v["edge_us_per_event"] * 1e-6, v["node_cores"] * v["cpu_util"])


def compute(v, m):
    """Everything for one model."""
    a = design_replicated(v, m)
    b = design_item_sharded(v, m)
    groups_a = 1 + a.get("replicas_per_shard", int(v["min_replicas"]))
    groups_b = 1 + b["replicas_per_shard"]
    ra, rb = redis_cluster(v, groups_a if groups_a != math.inf else 1), redis_cluster(v, groups_b)
    edge = edge_nodes(v)
    total_a = (a["learner_shards"] + a["replicas"] + a["sync_aggregators"]
               + ra["machines_with_replicas"] + edge) if "replicas" in a else math.inf
    total_b = (b["learner_shards"] + b["param_servers"] + b["retrieval_nodes"] + b["replicas"]
               + rb["machines_with_replicas"] + edge)
    return {"replicated": a, "item_sharded": b, "redis_a": ra, "redis_b": rb,
            "edge_nodes": edge, "total_nodes_a": total_a, "total_nodes_b": total_b,
            "user_bytes": user_bytes(v, m),
            "user_state_tib": v["users"] * user_bytes(v, m) / 1024 ** 4}


# ---------------------------------------------------------------------------------------------
# Output

ROWS = [  # (label, path into compute()'s result, format)
    ("per-node inputs", None, None),
    ("learner CPU per event (us)", "in:learner_us", "{:.1f}"),
    ("node CPU per event, ingest path (us)", "in:ingest_us", "{:.1f}"),
    ("bytes per user in memory", "user_bytes", "{:,.0f}"),
    ("all users' state (TiB)", "user_state_tib", "{:,.1f}"),
    ("bytes per item: tables / ANN", "in:items", None),
    ("CPU per rec at target items (us)", "replicated.rec_us_target", "{:,.0f}"),
    ("  same, exact scan (ms)", "replicated.rec_exact_us_target", "ms"),
    ("learners (user-hashed shards)", None, None),
    ("learner capacity (events/s/shard)", "replicated.learner_capacity_events_per_s", "{:,.0f}"),
    ("shards for CPU", "replicated.learner_shards_cpu", "{}"),
    ("A: item tables replicated", None, None),
    ("  shards for memory", "replicated.learner_shards_mem", "{}"),
    ("  learner shards", "replicated.learner_shards", "{}"),
    ("  learner memory (GiB): users + items", "replicated.learner_mem_gib", "{:,.0f}"),
    ("  of which item tables (GiB)", "replicated.item_tables_gib", "{:,.0f}"),
    ("  ingest per shard (Mbit/s)", "replicated.ingest_mbit_s", "{:,.1f}"),
    ("  row sync in per shard (Mbit/s)", "replicated.sync_in_mbit_s", "{:,.0f}"),
    ("  row sync out per shard (Mbit/s)", "replicated.sync_out_mbit_s", "{:,.0f}"),
    ("  sync aggregator nodes", "replicated.sync_aggregators", "{}"),
    ("  snapshot per shard (GiB)", "replicated.snapshot_gib_per_shard", "{:,.0f}"),
    ("  snapshot load (s)", "replicated.snapshot_load_s", "{:,.0f}"),
    ("  replay after snapshot, worst (s)", "replicated.replay_after_snapshot_s", "{:,.0f}"),
    ("  replica memory incl. ANN (GiB)", "replicated.replica_mem_gib", "{:,.0f}"),
    ("  replica learning cores", "replicated.replica_learn_cores", "{:.1f}"),
    ("  replicas per shard", "replicated.replicas_per_shard", "{}"),
    ("  serving replicas", "replicated.replicas", "{}"),
    ("  replica network (Mbit/s)", "replicated.replica_net_mbit_s", "{:,.0f}"),
    ("  fits the node shape", "replicated.fits", "{}"),
    ("  Redis: primaries / machines (+replicas)", "redis_a", "redis"),
    ("  Redis primaries with appendfsync always", "redis_a.primaries_if_fsync_always", "{}"),
    ("  Redis memory per machine (GiB)", "redis_a.memory_gib_per_machine", "{:,.0f}"),
    ("  Redis AOF disk per machine (MB/s)", "redis_a.aof_mb_s_per_machine", "{:,.0f}"),
    ("  TOTAL nodes A", "total_nodes_a", "total_a"),
    ("B: item tables sharded by item", None, None),
    ("  learner shards", "item_sharded.learner_shards", "{}"),
    ("  learner memory (GiB)", "item_sharded.learner_mem_gib", "{:,.0f}"),
    ("  parameter servers", "item_sharded.param_servers", "{}"),
    ("  row pull+push per learner (Mbit/s)", "item_sharded.learner_param_mbit_s", "{:,.0f}"),
    ("  per parameter server (Mbit/s)", "item_sharded.param_server_mbit_s", "{:,.0f}"),
    ("  retrieval shards / nodes", "item_sharded", "retrieval"),
    ("  serving replicas", "item_sharded.replicas", "{}"),
    ("  Redis: primaries / machines (+replicas)", "redis_b", "redis"),
    ("  TOTAL nodes B", "total_nodes_b", "{}"),
    ("edge (producer) nodes, in both", "edge_nodes", "{}"),
]


def lookup(result, path):
    for part in path.split("."):
        result = result[part]
    return result


def cell(v, m, result, path, fmt):
    if path.startswith("in:"):
        name = path[3:]
        if name == "items":
            return "{:,.0f} / {:,.0f}".format(v[m + ".item_bytes"], v[m + ".ann_bytes"])
        return fmt.format(v[m + "." + name])
    value = lookup(result, path)
    if fmt == "redis":
        return "{} / {} ({})".format(value["primaries"], value["machines"],
                                     value["machines_with_replicas"])
    if fmt == "retrieval":
        return "{} / {}".format(value["retrieval_shards"], value["retrieval_nodes"])
    if fmt == "ms":
        return "{:,.0f}".format(value / 1000) if v[m + ".dim"] else "-"
    if fmt == "total_a":
        return "{}{}".format(value, "" if result["replicated"]["fits"] else " (no fit)")
    if value == math.inf:
        return "no fit"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return fmt.format(value)


def print_table(v, results, out=sys.stdout):
    models = list(results)
    out.write("Target: {:,.0f} users, {:,.0f} items, {:,.0f} events/s, {:,.0f} recommendations/s\n"
              .format(v["users"], v["items"], v["events_per_s"], v["recs_per_s"]))
    out.write("Node: {:.0f} cores, {:.0f} GiB, {:.0f} Gbit/s; headroom: CPU {:.0%}, learner thread "
              "{:.0%}, memory {:.0%}, network {:.0%}; {:.0f} events kept per user\n\n"
              .format(v["node_cores"], v["node_mem_gib"], v["node_nic_gbps"], v["cpu_util"],
                      v["learner_thread_util"], v["mem_util"], v["net_util"], v["events_per_user"]))
    width = 42
    out.write("{:<{w}}".format("", w=width) + "".join("{:>16}".format(m) for m in models) + "\n")
    for label, path, fmt in ROWS:
        if path is None:
            out.write("-- " + label + "\n")
            continue
        cells = [cell(v, m, results[m], path, fmt) for m in models]
        out.write("{:<{w}}".format(label, w=width) + "".join("{:>16}".format(c) for c in cells) + "\n")


def json_safe(x):
    if isinstance(x, dict):
        return {k: json_safe(val) for k, val in x.items()}
    if isinstance(x, float) and math.isinf(x):
        return None
    return x


# ---------------------------------------------------------------------------------------------
# Measurement helpers: snapshot sections and touched bpr rows.

def snapshot_sections(path):
    """{section name: payload bytes} of an engine snapshot (doc/formats/snapshot.md)."""
    data = open(path, "rb").read()
    if data[:8] != b"FWSNAP01":
        raise SystemExit("%s: not an engine snapshot" % path)
    count = struct.unpack_from("<I", data, 12)[0]
    offset, out = 32, {}
    for _ in range(count):
        name_len = struct.unpack_from("<I", data, offset)[0]
        name = data[offset + 4:offset + 4 + name_len].decode()
        offset += 4 + name_len
        payload = struct.unpack_from("<Q", data, offset)[0]
        out[name] = (offset + 8, payload)
        offset += 8 + payload + 4
    return data, out


def embedding_rows(table):
    """{row id: values + optimizer state bytes} of an embedding table (embedding_table.md)."""
    dim, _, state = struct.unpack_from("<III", table, 16)
    rows = struct.unpack_from("<Q", table, 32)[0]
    per_block = struct.unpack_from("<I", table, 40)[0]
    size, offset, out = 16 + 4 * (dim + state), 120, {}
    for i in range(rows):
        out[struct.unpack_from("<Q", table, offset)[0]] = table[offset + 16:offset + size]
        offset += size
        if (i + 1) % per_block == 0 or i + 1 == rows:
            offset += 4   # block CRC
    return out


def bpr_tables(path):
    """The user, item and context tables of a snapshot's bpr state (doc/formats/bpr_state.md)."""
    data, sections = snapshot_sections(path)
    start, _ = sections["model/bpr"]
    pos = start + 8 + 8                         # body length, magic, version

    def skip_vector(elem):
        nonlocal pos
        pos += 8 + struct.unpack_from("<Q", data, pos)[0] * elem

    def string():
        nonlocal pos
        n = struct.unpack_from("<Q", data, pos)[0]
        pos += 8 + n
        return data[pos - n:pos]
    string()                                    # parameters
    pos += 32                                   # rng
    skip_vector(1); skip_vector(4)              # known, counts
    pos += 24                                   # total_count, num_known, rating_sum
    skip_vector(4); pos += 8                    # recent ring, next slot
    skip_vector(56); pos += 16                  # reservoir, positives_seen, steps
    return {name: embedding_rows(string()) for name in ("user", "item", "context")}


def bpr_touched(before, after):
    a, b = bpr_tables(before), bpr_tables(after)
    return {name: {"rows_before": len(a[name]), "rows_after": len(b[name]),
                   "changed_or_new": sum(1 for k, row in b[name].items() if a[name].get(k) != row)}
            for name in a}


def measure_redis(events_path, n, per_entry, fsync, port=6391):
    """Redis Streams cost per event on a private redis-server (AOF on, appendfsync `fsync`):
    server CPU (utime + stime of its process), used_memory and AOF growth for pipelined XADD of
    n events in entries of per_entry events, then XREADGROUP COUNT 1000 and XACK by one group,
    then 20,000 unpipelined XADDs from 16 clients (redis-benchmark). Needs redis-server,
    redis-cli and redis-benchmark on PATH."""
    import shutil
    import subprocess
    import tempfile
    import time
    work = tempfile.mkdtemp(prefix="fw-redis-")
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--dir", work, "--appendonly", "yes", "--appendfsync", fsync,
                               "--save", "", "--auto-aof-rewrite-percentage", "0",
                               "--logfile", os.path.join(work, "log")])

    def cli(*args, data=None):
        cmd = ["redis-cli", "-p", str(port)] + (["--pipe"] if data is not None else list(args))
        return subprocess.run(cmd, input=data, capture_output=True).stdout

    def cpu():
        fields = open("/proc/%d/stat" % server.pid).read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def used_memory():
        for line in cli("INFO", "memory").decode().splitlines():
            if line.startswith("used_memory:"):
                return int(line.split(":")[1])

    def aof_bytes():
        time.sleep(1.5)   # everysec: let the last second reach the file
        d = os.path.join(work, "appendonlydir")
        return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))

    def resp(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    try:
        while cli("PING").strip() != b"PONG":
            time.sleep(0.05)
        with open(events_path) as f:
            lines = [line.strip() for _, line in zip(range(n), f)]
        stream = "fw:{s0}"
        cli("XGROUP", "CREATE", stream, "g", "0", "MKSTREAM")
        entries = [lines[i:i + per_entry] for i in range(0, len(lines), per_entry)]
        ids = ["1700000000000-%d" % (i + 1) for i in range(len(entries))]
        field = "event" if per_entry == 1 else "events"
        xadd = b"".join(resp(["XADD", stream, i, field, e[0] if per_entry == 1 else
                              "[" + ",".join(e) + "]"]) for i, e in zip(ids, entries))
        out = {"events": len(lines), "events_per_entry": per_entry, "fsync": fsync,
               "json_bytes_per_event": sum(map(len, lines)) / len(lines),
               "xadd_protocol_bytes_per_event": len(xadd) / len(lines)}
        phases = [("xadd", xadd),
                  ("xreadgroup", b"".join(resp(["XREADGROUP", "GROUP", "g", "c", "COUNT", 1000,
                                                "STREAMS", stream, ">"])
                                          for _ in range(len(entries) // 1000 + 2))),
                  ("xack", b"".join(resp(["XACK", stream, "g"] + ids[k:k + 1000])
                                    for k in range(0, len(ids), 1000)))]
        before = (cpu(), used_memory(), aof_bytes())
        for name, data in phases:
            cli(data=data)
            after = (cpu(), used_memory(), aof_bytes())
            out[name + "_cpu_us_per_event"] = (after[0] - before[0]) / len(lines) * 1e6
            out[name + "_memory_bytes_per_event"] = (after[1] - before[1]) / len(lines)
            out[name + "_aof_bytes_per_event"] = (after[2] - before[2]) / len(lines)
            before = after
        value = lines[0] if per_entry == 1 else "[" + ",".join(lines[:per_entry]) + "]"
        c0, t0 = cpu(), time.time()
        subprocess.run(["redis-benchmark", "-p", str(port), "-n", "20000", "-c", "16", "-P", "1",
                        "-q", "XADD", "fw:{s1}", "*", field, value], capture_output=True)
        out["unpipelined_xadd_cpu_us_per_entry"] = (cpu() - c0) / 20000 * 1e6
        out["unpipelined_xadd_entries_per_s"] = 20000 / (time.time() - t0)
        out["load"] = open("/proc/loadavg").read().split()[0]
        return out
    finally:
        cli("SHUTDOWN", "NOSAVE")
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--inputs", default=os.path.join(here, "scale_inputs.json"),
                   help="inputs JSON (default bench/scale_inputs.json; 'none': built-in values)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--users", type=float)
    p.add_argument("--items", type=float)
    p.add_argument("--events-per-s", type=float)
    p.add_argument("--recs-per-s", type=float)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--json", metavar="FILE", help="write inputs and results as JSON")
    p.add_argument("--list-inputs", action="store_true")
    p.add_argument("--write-inputs", metavar="FILE")
    p.add_argument("--sections", metavar="SNAPSHOT")
    p.add_argument("--bpr-touched", nargs=2, metavar=("SNAP1", "SNAP2"))
    p.add_argument("--measure-redis", nargs=4, metavar=("EVENTS_JSONL", "N", "PER_ENTRY", "FSYNC"),
                   help="Redis Streams cost per event (see measure_redis)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.sections:
        _, sections = snapshot_sections(args.sections)
        print(json.dumps({k: size for k, (_, size) in sections.items()}, indent=1))
        return 0
    if args.bpr_touched:
        print(json.dumps(bpr_touched(*args.bpr_touched), indent=1))
        return 0
    if args.measure_redis:
        path, n, per_entry, fsync = args.measure_redis
        print(json.dumps(measure_redis(path, int(n), int(per_entry), fsync)))
        return 0
    if args.write_inputs:
        with open(args.write_inputs, "w") as f:
            json.dump(inputs_document(), f, indent=1)
            f.write("\n")
        return 0
    path = None if args.inputs == "none" or not os.path.exists(args.inputs) else args.inputs
    sets = list(args.set)
    for flag in ("users", "items", "events_per_s", "recs_per_s"):
        if getattr(args, flag) is not None:
            sets.append("%s=%r" % (flag, getattr(args, flag)))
    v = load_inputs(path, sets)
    if args.list_inputs:
        for name, i in DEFAULT_INPUTS.items():
            print("%-34s %12g %-14s %-9s %s" % (name, v[name], i.unit, i.kind, i.source))
        return 0
    models = [m for m in args.models.split(",") if m]
    results = {m: compute(v, m) for m in models}
    print_table(v, results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(json_safe({"inputs": v, "results": results}), f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
