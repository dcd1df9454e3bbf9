// The SASRec architecture of model/sasrec.h written in LibTorch, for the side-by-side speed
// bench (torch_bench.cc) only: item embedding shared with the output layer (input scaled by
// sqrt(dim)), learned positions, `blocks` pre-LN blocks (causal single- or multi-head attention
// with a fused QKV projection, ReLU feed-forward of width dim, residuals, dropout after the
// embedding, the attention output and the feed-forward), a final layer norm, and BCE with
// negatives. Same shapes and the same FLOPs as Flywheel's encoder; autograd does the backward
// pass and torch::optim::Adam updates every parameter (dense, the usual LibTorch setup).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace flywheel::bench {

struct TorchBlock {
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::nn::Linear qkv{nullptr}, out{nullptr}, w1{nullptr}, w2{nullptr};
};

class TorchSasrec : public torch::nn::Module {
 public:
  TorchSasrec(int64_t items, int64_t dim, int64_t heads, int64_t blocks, int64_t max_len,
              double dropout)
      : dim_(dim), heads_(heads), dropout_(dropout) {
    items_ = register_module("items", torch::nn::Embedding(items, dim));
    positions_ = register_module("positions", torch::nn::Embedding(max_len, dim));
    torch::nn::init::normal_(items_->weight, 0.0, 0.05);
    torch::nn::init::normal_(positions_->weight, 0.0, 0.05);
    for (int64_t b = 0; b < blocks; ++b) {
      const std::string p = "b" + std::to_string(b) + "_";
      TorchBlock blk;
      blk.ln1 = register_module(p + "ln1", torch::nn::LayerNorm(std::vector<int64_t>{dim}));
      blk.qkv = register_module(p + "qkv", torch::nn::Linear(dim, 3 * dim));
      blk.out = register_module(p + "out", torch::nn::Linear(dim, dim));
      blk.ln2 = register_module(p + "ln2", torch::nn::LayerNorm(std::vector<int64_t>{dim}));
      blk.w1 = register_module(p + "w1", torch::nn::Linear(dim, dim));
      blk.w2 = register_module(p + "w2", torch::nn::Linear(dim, dim));
      blocks_.push_back(blk);
    }
    final_ = register_module("final", torch::nn::LayerNorm(std::vector<int64_t>{dim}));
  }

  const torch::Tensor& item_table() const { return items_->weight; }

  // seq: [B, T] int64 item ids (T <= max_len, the last token at position max_len - 1).
  // Returns the hidden states [B, T, dim].
  torch::Tensor Encode(const torch::Tensor& seq) {
    const int64_t t = seq.size(1);
    const int64_t max_len = positions_->weight.size(0);
    auto pos = torch::arange(max_len - t, max_len, torch::kLong);
    auto x = items_->forward(seq) * std::sqrt(static_cast<double>(dim_)) + positions_->forward(pos);
    x = torch::dropout(x, dropout_, is_training());
    auto causal = torch::ones({t, t}, torch::kBool).triu(1);
    for (auto& blk : blocks_) {
      x = x + torch::dropout(Attention(blk, blk.ln1->forward(x), causal), dropout_, is_training());
      auto f = blk.w2->forward(torch::relu(blk.w1->forward(blk.ln2->forward(x))));
      x = x + torch::dropout(f, dropout_, is_training());
    }
    return final_->forward(x);
  }

  // BCE with one uniform negative per target; targets/negatives: [B, T], mask: [B, T] float
  // (1 where the position has a target). Mean over the targets.
  torch::Tensor BceLoss(const torch::Tensor& hidden, const torch::Tensor& targets,
                        const torch::Tensor& negatives, const torch::Tensor& mask) {
    auto pos = (hidden * items_->forward(targets)).sum(-1);
    auto neg = (hidden * items_->forward(negatives)).sum(-1);
    auto loss = torch::softplus(-pos) + torch::softplus(neg);
    return (loss * mask).sum() / mask.sum();
  }

 private:
  torch::Tensor Attention(TorchBlock& blk, const torch::Tensor& h, const torch::Tensor& causal) {
    const int64_t b = h.size(0), t = h.size(1), hd = dim_ / heads_;
    auto qkv = blk.qkv->forward(h).view({b, t, 3, heads_, hd}).permute({2, 0, 3, 1, 4});
    auto scores = torch::matmul(qkv[0], qkv[1].transpose(-2, -1)) / std::sqrt(double(hd));
    auto probs = torch::softmax(scores.masked_fill(causal, -1e30), -1);
    auto a = torch::matmul(probs, qkv[2]).permute({0, 2, 1, 3}).reshape({b, t, dim_});
    return blk.out->forward(a);
  }

  int64_t dim_, heads_;
  double dropout_;
  torch::nn::Embedding items_{nullptr}, positions_{nullptr};
  std::vector<TorchBlock> blocks_;
  torch::nn::LayerNorm final_{nullptr};
};

}  // namespace flywheel::bench
