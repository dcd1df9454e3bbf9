// ApplyEntries: one read's decoded stream entries into an Engine, in stream order
// (doc/stream.md, "Consuming"). Each run of event entries is one Engine::Ingest (one durable log
// append): Engine::Validate first sorts out the entries with an invalid event (an entry is
// refused whole, as a POST /v1/events batch is); should the run still be refused as invalid,
// its entries are ingested one by one. A catalogue entry goes through the engine's catalogue
// call (PutItems, DeleteItem, PutUser, ForgetUser) between the runs, so every node applies the
// same records in the same order. An entry refused on its own merits (kInvalidArgument,
// kNotFound) is returned with its reason, for the dead letters; any other failure (the log
// refuses writes) is returned as the error: nothing of the read may then be acknowledged.
//
// Threads: the consumer's reader thread (Engine is thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "flywheel/engine.h"

#include "stream/entry_codec.h"

namespace flywheel::stream {

struct AppliedEntries {
  uint64_t last_seq = 0;    // highest sequence number logged by this read (0: nothing new)
  uint64_t accepted = 0;    // new events logged
  uint64_t duplicates = 0;  // events dropped by the dedup window
  uint64_t catalog = 0;     // catalogue records applied
  std::vector<std::pair<size_t, std::string>> refused;  // entry index, reason
};

// `entries[i]` with `skip[i]` set (refused when decoding, or nothing to apply) are left alone.
// The events are moved out of `entries`.
Result<AppliedEntries> ApplyEntries(Engine* engine, std::vector<DecodedEntry>* entries,
                                    const std::vector<bool>& skip);

}  // namespace flywheel::stream
