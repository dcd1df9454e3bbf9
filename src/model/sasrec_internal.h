// Sasrec's per-thread training buffers (private to sasrec*.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "model/sasrec.h"
#include "nn/encoder.h"
#include "nn/fp_env.h"

namespace flywheel::model {

struct Sasrec::ThreadState {
  nn::EncoderWorkspace ws;
  std::vector<float> x;           // tokens x dim encoder input
  std::vector<uint32_t> inputs;   // per token: its item
  std::vector<uint32_t> rows;     // tokens with a target
  std::vector<uint32_t> targets;  // their target items
  std::vector<float> h, dh, dhr;  // hidden rows with a target, d/d(all hidden), d/d(h)
  std::vector<float> logits, er;  // loss scratch
  std::vector<float> pos, neg, dpos, dneg, pos_logq, neg_logq;
  std::vector<uint8_t> hit;
  std::vector<uint32_t> neg_items;
  std::vector<float> item_grad;  // rows x dim; only touched rows are non-zero
  std::vector<uint8_t> touched;  // per row
  std::vector<uint32_t> touched_rows;

  void Touch(uint32_t row);
  // Sizes item_grad and touched for `rows` item rows (new rows zero).
  void Fit(size_t num_rows, int dim);
};

}  // namespace flywheel::model
