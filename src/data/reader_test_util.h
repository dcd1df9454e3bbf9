// Test helpers shared by the *_reader_test.cc files: read a whole stream into compact strings.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "flywheel/event.h"
#include "flywheel/result.h"

#include "data/event_reader.h"

namespace flywheel::data::test_util {

// "user,item,type,value,ts_ms" with value printed as %g.
inline std::string DescribeEvent(const Event& e) {
  char value[32];
  std::snprintf(value, sizeof(value), "%g", e.value);
  return e.user + "," + e.item + "," + e.type + "," + value + "," + std::to_string(e.ts_ms);
}

// Reads every event of `reader`; the error of the first failing Next() otherwise.
inline Result<std::vector<std::string>> ReadAll(EventReader& reader) {
  std::vector<std::string> out;
  Event event;
  while (true) {
    Result<bool> got = reader.Next(&event);
    if (!got.ok()) {
      return got.status();
    }
    if (!*got) {
      return out;
    }
    out.push_back(DescribeEvent(event));
  }
}

}  // namespace flywheel::data::test_util
