#!/usr/bin/env python3
"""Writes the hand-made text seed corpora of fuzz/corpus/ (taken from the unit tests' fixtures;
never from a licensed dataset). Re-run after editing: python3 fuzz/write_text_seeds.py"""
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SEP = b"\n=====\n"  # fuzz_util.h kPartSeparator


def seed(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def b(s):
    return s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s


# iso8601
for i, t in enumerate(["2023-11-14", "2023-11-14T22:13:20Z", "2023-11-14T22:13:20.123Z",
                       "2023-11-14T22:13:20+02:00", "2023-11-14 22:13:20", "1969-12-31T23:59:59.999-05:30",
                       "2024-02-29T00:00:00Z", "9999-12-31T23:59:59Z", "2023-11-14T22:13:20+99:99"]):
    seed("iso8601", f"t{i}", t)

# event_json
events = [
    '{"user": "u1", "item": "i9", "type": "click", "value": 1.0, "ts": 1700000000000, "id": "e-1", "context": {"device": "ios", "n": 3, "b": true}}',
    '{"user":"u2","item":"i1","type":"rating","value":4.5,"ts":"2023-11-14T22:13:20Z","id":"e-2"}',
    '{"user":"u3","item":"i2","type":"purchase","ts":1700000000,"ts_unit":"s"}',
    '{"user":"\\u00e9t\\u00e9","item":"i\\u0000","type":"view","ts":1700000000000}',
    '{"usr":"u1","item":"i9","type":"click","ts":1}',
    '{"user":"u1","item":"i2","type":"click","ts":1700000000000,"recommendation_id":"8c1f0e2a9b7d4c36","impressions":["i1","i2","i3"]}',
    '{"user":"u1","item":"i2","type":"click","ts":1700000000000,"impressions":["i1","i1",3],"recommendation_id":""}',
]
for i, e in enumerate(events):
    seed("event_json", f"e{i}", e)
seed("event_batch", "batch", '{"events": [' + ",".join(events[:3]) + "]}")
seed("event_batch", "array", "[" + ",".join(events) + "]")
seed("event_batch", "bad", '{"events": [1, "x", null, {"user": []}]}')

# catalog_json / item_batch
items = [
    '{"title": "Heat", "categories": ["crime", "drama"], "tags": ["1990s"], "attributes": {"year": "1995", "price": 12.5, "new": false}, "created": 1700000000000}',
    '{"title": "Caf\\u00e9", "created": "2023-11-14T22:13:20Z", "categories": ["a", "a"]}',
    '{"attributes": {"age": "25"}}',
    '{}',
]
for i, it in enumerate(items):
    seed("catalog_json", f"c{i}", it)
seed("item_batch", "batch", '{"items": [{"id": "i1", ' + items[0][1:] + ', {"id": "i2"}, {"id": "i1"}, {"title": 3}]}')
seed("item_batch", "array", '[{"id": "i1"}, {"id": ""}, 7]')

# serve_config
seed("serve_config", "full", '''{
  "server": {"host": "127.0.0.1", "port": 8080},
  "engine": {"durability": "interval:100"},
  "pipeline": {"candidates": 50, "exploration": 0.1},
  "models": ["pop", "itemknn"]
}''')
seed("serve_config", "empty", "{}")
seed("serve_config", "unknown", '{"keys": {"admn": "x"}, "pipeline": {"candidates": "50"}}')

# http_request
reqs = [
    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /v1/users/u%201/recommendations?k=10&model=pop&explain=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer read-key\r\nX-Request-Id: abc-1\r\n\r\n",
    "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer write-key\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    "PUT /v1/items/i%2F9 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: 0\r\n\r\n",
    "DELETE /v1/users/u1?x=%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-key\r\n\r\n",
    "GET /ui/app.js HTTP/1.0\r\n\r\n",
    "POST /v1/items:batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n0\r\n\r\n",
    "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /v1/stats/history?window=1h HTTP/1.1\r\nAuthorization: Bearer admin-key\r\n\r\n",
    "GET /v1/users/u1/recommendations?policy=greedy&record_impression=true HTTP/1.1\r\nHost: x\r\n\r\n",
    "POST /v1/impressions HTTP/1.1\r\nHost: x\r\nContent-Length: 68\r\n\r\n{\"user\": \"u1\", \"recommendation_id\": \"8c1f0e2a9b7d4c36\", \"items\": []}",
    "POST /v1/impressions HTTP/1.1\r\nHost: x\r\nContent-Length: 56\r\n\r\n{\"impressions\": [{\"user\": \"u1\", \"items\": [\"i1\", \"i2\"]}]}",
]
for i, r in enumerate(reqs):
    seed("http_request", f"r{i}", r)

# csv (first byte: separator index)
seed("csv", "quoted", b"\x00" + b'a,"b,c","d""e",,f')
seed("csv", "tab", b"\x01" + b"1\t2\t\"x\"\t4")
seed("csv", "spec", b"\x00" + b"synthetic:users=10,items=20,events=100,seed=1")
seed("csv", "spec2", b"\x00" + b"movielens:/tmp/x")

# catalog_file (first byte: even = csv, odd = jsonl)
seed("catalog_file", "csv", b"\x00" + b'id,title,categories,tags,created,year\ni1,Heat,crime|drama,1990s,1700000000000,1995\ni2,"A, B",,,2023-11-14,\n')
seed("catalog_file", "jsonl", b"\x01" + b'{"id":"i1","title":"Heat","categories":["crime"]}\n{"id":"i2"}\n# comment\n{"id":3}\n')

# events_file (first byte: bit 0 = json; bits 4-6 = skips)
seed("events_file", "jsonl", b"\x01" + b'# exported 2023-11-14\n{"user":"u1","item":"i9","type":"click","ts":1700000000000}\n\n   \r\n{"user":"u2","item":"i1","type":"rating","value":4.5,"ts":"2023-11-14T22:13:20Z","id":"e-2"}\r\n' + SEP + b'{"id":"i9","title":"Heat"}\n')
seed("events_file", "csv", b"\x00" + b'ts,type,item,user,value,id\r\n1700000000000,click,"sku,9",u1,,\r\n2023-11-14T22:13:20.5Z,rating,i2,u2,3.5,e-7\r\n')
seed("events_file", "csv-skips", b"\x30" + b"user,item,type,ts\nu,i,click,2023-13-99\nu,i,click,1700000000000\n")

# movielens (first byte: layout 0..4 in the low nibble, skips in bits 4-6)
def item_line(i, title, genres):
    flags = ["0"] * 19
    for g in genres:
        flags[g] = "1"
    return f"{i}|{title}|01-Jan-1995||http://x|" + "|".join(flags) + "\n"
seed("movielens", "ml-100k", b"\x00" + b"196\t242\t3\t881250949\n186\t302\t5\t891717742\n" + SEP + b(item_line(242, "Kolya (1996)", [5]) + item_line(302, "Mis\udce9rables, Les (1995)", [8, 16])) + SEP + b"unknown|0\nAction|1\n")
seed("movielens", "ml-1m", b"\x01" + b"1::1193::5::978300760\r\n2::3::4::1\r\n" + SEP + b"661::James and the Giant Peach (1996)::Animation|Children's|Musical\n1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n3::Caf\xe9 au lait (Gazon maudit) (1995)::Comedy\n")
seed("movielens", "latest", b"\x02" + b"userId,movieId,rating,timestamp\r\n1,11,4.0,964982703\r\n2,7789,0.5,964981247\r\n" + SEP + b'movieId,title,genres\n11,"American President, The (1995)",Comedy|Drama|Romance\n7789,"11\'09""01 - September 11 (2002)",Drama\n40697,Babylon 5,(no genres listed)\n' + SEP + b'userId,movieId,tag,timestamp\n2,11,funny,1445714994\n3,11,"sad, really",1\n5,999,orphan,1\n')
seed("movielens", "dslabs", b"\x03" + b'movieId,title,year,genres,userId,rating,timestamp\n31,Dangerous Minds,1995,Drama,1,2.5,1260759144\n11,"American President, The",1995,Comedy|Drama|Romance,1,3.0,1260759179\n108583,,,Comedy,73,5.0,1435472609\n')
seed("movielens", "sniffed-skips", b"\x24" + b"1\t1\t4\t1\n1\t2\tx\t2\n\n1\t3\t5\t3\n1\t4\n2\t1\t1\t4\n")

# taobao (first byte: skips)
seed("taobao", "plain", b"\x00" + b"1,2315,1464116,pv,1511544070\n1,2315,1464116,buy,1511561733\n2,7,8,cart,1511544071\r\n")
seed("taobao", "skips", b"\x30" + b"1,2,3,pv,1\n1,5,6,like,2\n1,4,3,buy,3\n1,7,8,pv\n")

# lastfm (first byte: skips)
seed("lastfm", "plays", b"\x00" + b"userID\tartistID\tweight\r\n2\t51\t13883\r\n2\t52\t11690\r\n3\t53\t1\r\n" + SEP + b"id\tname\turl\tpictureURL\n51\tDuran Duran\thttp://www.last.fm/music/Duran+Duran\thttp://x/1.jpg\n52\tMorcheeba\thttp://x\t\n53\t\"Weird Al\" Yankovi\xc4\x87\thttp://x\thttp://y\n")
seed("lastfm", "skips", b"\x30" + b"userID\tartistID\tweight\n2\t51\t7\n2\tx\t1\n2\t52\t-1\n")
print("text seeds written under", ROOT)
