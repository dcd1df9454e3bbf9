// Dataset sources and in-memory datasets.
//
// A dataset is named by a spec "<kind>:<path or params>":
//   movielens:DIR|FILE   ml-100k (u.data + u.item), ml-1m (ratings.dat[.gz] + movies.dat),
//                        ml-latest-small (ratings.csv + movies.csv + tags.csv),
//                        dslabs movielens.csv
//   taobao:DIR|FILE      Taobao UserBehavior.csv (user,item,category,behavior,ts; no header)
//   lastfm:DIR|FILE      Last.fm HetRec user_artists.dat (+ artists.dat, tags); no timestamps
//   seqfile:FILE         benchmark sequence file, one line per user "user item item ..." in time
//                        order (SASRec's ml-1m.txt, S3-Rec's Beauty.txt); no timestamps
//   events:FILE          generic events: JSON Lines (.jsonl/.ndjson/.json) or CSV with a header
//                        naming columns user,item,type[,value][,ts][,id]
//   synthetic:users=N,items=M,events=E,seed=S[,...]   the embedded generator (data/synthetic.h)
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/event.h"
#include "flywheel/event_types.h"
#include "flywheel/result.h"

#include "data/event_reader.h"
#include "data/id_map.h"
#include "data/interaction.h"

namespace flywheel::data {

struct DatasetSpec {
  std::string kind;  // movielens, taobao, lastfm, seqfile, events, synthetic
  std::string path;  // for file kinds
  std::map<std::string, std::string> params;  // for synthetic (key=value list)
  std::string text;                           // the spec as given
};

Result<DatasetSpec> ParseDatasetSpec(std::string_view text);

// Opens a streaming reader for the spec. Malformed lines fail unless `skip` allows them.
Result<std::unique_ptr<EventReader>> OpenReader(const DatasetSpec& spec,
                                                const EventTypeTable& types, SkipPolicy skip);

// Reader factories (one per format; see the *_reader.cc files).
Result<std::unique_ptr<EventReader>> OpenMovieLens(const std::string& path, SkipPolicy skip);
Result<std::unique_ptr<EventReader>> OpenTaobao(const std::string& path, SkipPolicy skip);
Result<std::unique_ptr<EventReader>> OpenLastfm(const std::string& path, SkipPolicy skip);
Result<std::unique_ptr<EventReader>> OpenSeqFile(const std::string& path, SkipPolicy skip);
Result<std::unique_ptr<EventReader>> OpenEventsFile(const std::string& path,
                                                    const EventTypeTable& types, SkipPolicy skip);

// An in-memory dataset ready for replay: events validated, sorted by time (stable: ties keep
// input order), and ids re-numbered in order of first appearance in that sorted stream, so the
// items known at any moment form a prefix [0, n) of the item index space. Items that only appear
// in metadata get indices after all items that have events.
struct Dataset {
  std::string name;  // the spec text
  EventTypeTable types = EventTypeTable::Default();
  IdMap users;
  IdMap items;
  std::vector<Interaction> events;  // time-sorted
  std::vector<Item> item_meta;      // indexed by ItemIdx; id empty when no metadata
  bool has_timestamps = true;
  std::string default_positive = "all";
  std::vector<std::string> notes;
  ReadStats stats;
  int64_t num_items_with_events = 0;
};

// Reads the whole stream (validating event types against `types`) into a Dataset.
Result<Dataset> LoadDataset(EventReader& reader, const EventTypeTable& types, std::string name);

// Convenience: ParseDatasetSpec + OpenReader + LoadDataset.
Result<Dataset> LoadDataset(std::string_view spec_text, const EventTypeTable& types,
                            SkipPolicy skip);

}  // namespace flywheel::data
