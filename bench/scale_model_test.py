"""Checks of bench/scale_model.py's arithmetic on small hand-computed cases.

    python3 -m unittest bench/scale_model_test.py      (or: cd bench && python3 -m unittest scale_model_test)
"""
import json
import math
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale_model as sm  # noqa: E402

GIB = 1024 ** 3


def tiny():
    """Round numbers, one model 'x', so every result below can be checked by hand."""
    v = {name: inp.value for name, inp in sm.DEFAULT_INPUTS.items()}
    v.update({
        "users": 1e7, "items": 1000, "events_per_s": 120000, "recs_per_s": 100,
        "node_cores": 4, "node_mem_gib": 1, "node_nic_gbps": 8, "node_disk_mb_s": 1000,
        "cpu_util": 0.5, "learner_thread_util": 0.5, "mem_util": 0.5, "net_util": 0.5,
        "disk_util": 0.5, "redis_cpu_util": 0.5, "redis_mem_util": 0.5,
        "redis_procs_per_node": 8, "redis_replicas": 1, "aof_rewrite_factor": 2,
        "events_per_user": 5, "positive_fraction": 0.5, "events_per_entry": 100,
        "min_replicas": 2, "sync_interval_s": 1, "stream_retention_s": 100,
        "entry_bytes_per_event": 100, "dedup_bytes": 36870912,   # budget 2^29 - this = 5e8
        "rec_measured_items": 10, "rec_ann_share": 0.5,
        "redis_xadd_us_per_entry": 10, "redis_xadd_us_per_event": 0.1,
        "redis_read_us_per_event": 0.2, "redis_mem_bytes_per_event": 100,
        "redis_aof_bytes_per_event": 100, "redis_aof_bytes_per_event_group": 2,
        "x.learner_us": 10, "x.ingest_us": 20, "x.user_bytes": 100,
        "x.user_bytes_per_event": 10, "x.item_bytes": 0, "x.ann_bytes": 0, "x.rec_us": 100,
        "x.dim": 8, "x.touch_rows": 2, "x.row_wire_bytes": 50, "x.snap_user_bytes": 50,
        "x.snap_user_bytes_per_event": 10, "x.snap_item_bytes": 0,
    })
    return v


class ArithmeticTest(unittest.TestCase):
    def test_user_bytes_adds_the_kept_events(self):
        self.assertEqual(sm.user_bytes(tiny(), "x"), 100 + 10 * 5)

    def test_learner_shards_from_the_single_thread_capacity(self):
        # 0.5 x 1e6 / 10 us = 50,000 events/s per shard; 120,000 events/s -> 3 shards.
        shards, per_shard = sm.learner_shards(tiny(), "x")
        self.assertEqual(per_shard, 50000)
        self.assertEqual(shards, 3)

    def test_shards_for_memory(self):
        v = tiny()
        # Room per node: 1 GiB x 0.5 - 36,870,912 = 500,000,000 B; 1e7 users x 150 B = 1.5e9.
        self.assertEqual(sm.shards_for_memory(v, "x", 0), 3)
        self.assertEqual(sm.shards_for_memory(v, "x", 250_000_000), 6)
        self.assertEqual(sm.shards_for_memory(v, "x", 500_000_000), math.inf)

    def test_touched_fraction_is_the_uniform_occupancy(self):
        v = tiny()   # 1,000 rows, 1,000 touches/s for 1 s: 1 - 1/e of the rows
        self.assertAlmostEqual(sm.touched_fraction(v, 1000, 1), 1 - math.exp(-1))
        self.assertAlmostEqual(sm.touched_fraction(v, 0, 1), 0.0)

    def test_rec_cost_scales_only_the_ann_share_with_log_items(self):
        v = tiny()
        v["items"] = 100      # log(100) / log(10) = 2: 100 us x (0.5 + 0.5 x 2)
        self.assertAlmostEqual(sm.rec_us_at_target(v, "x"), 150)

    def test_serving_replicas(self):
        v = tiny()
        # 3 shards: 40,000 events/s x 20 us = 0.8 cores learning; 4 x 0.5 - 0.8 = 1.2 cores left;
        # a request costs 100 x (0.5 + 0.5 x log(1000)/log(10)) = 200 us -> 6,000 requests/s.
        replicas, learn, capacity = sm.serving_replicas(v, "x", 3, v["x.ingest_us"])
        self.assertAlmostEqual(learn, 0.8)
        self.assertAlmostEqual(capacity, 6000)
        self.assertEqual(replicas, 2)           # min_replicas; 33 requests/s need < 1
        v["recs_per_s"] = 3 * 6000 * 3 + 1      # one request/s more than 3 replicas per shard
        self.assertEqual(sm.serving_replicas(v, "x", 3, v["x.ingest_us"])[0], 4)

    def test_redis_cluster(self):
        v = tiny()
        v.update(events_per_s=1e6, node_mem_gib=16, node_nic_gbps=25)
        r = sm.redis_cluster(v, 3)
        # CPU: 1e4 entries x 10 us + 1e6 x 0.1 us + 1e6 x 3 groups x 0.2 us = 0.8 cores.
        self.assertAlmostEqual(r["cores"], 0.8)
        # Memory: 1e6 x 100 s x 100 B = 1e10 B over 8 GiB per machine -> 2 machines.
        self.assertAlmostEqual(r["memory_gib"], 1e10 / GIB)
        self.assertEqual(r["machines"], 2)
        self.assertEqual(r["primaries"], 2)     # ceil(0.8 / 0.5) = 2 as well
        self.assertEqual(r["machines_with_replicas"], 4)
        # AOF: 1e6 x (100 + 3 x 2) B = 106 MB/s appended, 212 MB/s with rewrites.
        self.assertAlmostEqual(r["aof_mb_s"], 106)
        self.assertAlmostEqual(r["aof_disk_mb_s"], 212)
        # Out: 1e6 x 100 B x (3 groups + 1 replica) = 3.2 Gbit/s.
        self.assertAlmostEqual(r["net_out_gbit_s"], 3.2)
        # appendfsync always: 1e4 entries/s over 1,000 entries/s x 0.5 per primary -> 20.
        v["redis_always_entries_per_s"] = 1000
        self.assertEqual(sm.redis_cluster(v, 3)["primaries_if_fsync_always"], 20)

    def test_replicated_design_sync_traffic(self):
        v = tiny()
        a = sm.design_replicated(v, "x")
        self.assertEqual(a["learner_shards"], 3)
        # 120,000 events/s x 0.5 positive x 2 rows = 120,000 touches/s over 1,000 rows in 1 s:
        # every row (to 1e-52), 50 B each -> 50,000 B/s = 0.4 Mbit/s in per shard.
        self.assertAlmostEqual(a["sync_in_mbit_s"], 0.4)
        self.assertAlmostEqual(a["ingest_mbit_s"], 40000 * 100 * 8 / 1e6)
        # Snapshot: 1e7 / 3 users x (50 + 10 x 5) B; replay: 3,600 s x 40,000 events/s x 10 us.
        self.assertAlmostEqual(a["snapshot_gib_per_shard"], 1e7 / 3 * 100 / GIB)
        self.assertAlmostEqual(a["replay_after_snapshot_s"], 1440)

    def test_item_sharded_parameter_traffic(self):
        v = tiny()
        v.update({"pop.item_bytes": 0, "x.item_bytes": 100})   # 1,000 items x 100 B on the PS
        b = sm.design_item_sharded(v, "x")
        self.assertEqual(b["learner_shards"], 3)
        # Pull + push: 120,000 x 0.5 x 2 rows x 50 B x 2 = 12 MB/s = 96 Mbit/s over 3 learners.
        self.assertAlmostEqual(b["learner_param_mbit_s"], 32)
        self.assertEqual(b["param_servers"], 1)

    def test_default_inputs_give_the_documented_bpr_shards(self):
        v = sm.load_inputs(None)
        # 1e6 events/s / (0.5 x 1e6 / 5.57 us) = 11.14 -> 12 learner shards for CPU.
        self.assertEqual(sm.learner_shards(v, "bpr")[0], 12)


class InputsTest(unittest.TestCase):
    def test_json_file_matches_the_named_constants(self):
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scale_inputs.json")
        with open(path) as f:
            self.assertEqual(json.load(f), sm.inputs_document(),
                             "regenerate: python3 bench/scale_model.py --write-inputs " + path)

    def test_overrides(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"users": 5, "items": {"value": 7}}, f)
        try:
            v = sm.load_inputs(f.name, ["items=9", "recs_per_s=3"])
        finally:
            os.unlink(f.name)
        self.assertEqual((v["users"], v["items"], v["recs_per_s"]), (5, 9, 3))
        with self.assertRaises(SystemExit):
            sm.load_inputs(None, ["no_such_input=1"])


class HelpersTest(unittest.TestCase):
    def test_snapshot_sections(self):
        def section(name, payload):
            return struct.pack("<I", len(name)) + name + struct.pack("<Q", len(payload)) + payload + b"\0" * 4
        body = section(b"meta", b"{}") + section(b"model/pop", b"x" * 10)
        data = b"FWSNAP01" + struct.pack("<IIQII", 1, 2, 5, 0, 0) + body + b"FWSNEND1" + b"\0" * 8
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(data)
        try:
            _, sections = sm.snapshot_sections(f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual({k: n for k, (_, n) in sections.items()}, {"meta": 2, "model/pop": 10})

    def test_embedding_rows_skip_block_crcs(self):
        dim, state, per_block = 2, 2, 2
        header = bytearray(120)
        struct.pack_into("<III", header, 16, dim, 1, state)
        struct.pack_into("<Q", header, 32, 3)
        struct.pack_into("<I", header, 40, per_block)

        def row(i):
            return struct.pack("<Qq", i, 0) + struct.pack("<4f", i, i, i, i)
        table = bytes(header) + row(1) + row(2) + b"CRC1" + row(3) + b"CRC2"
        rows = sm.embedding_rows(table)
        self.assertEqual(sorted(rows), [1, 2, 3])
        self.assertEqual(rows[3], struct.pack("<4f", 3, 3, 3, 3))


if __name__ == "__main__":
    unittest.main()
