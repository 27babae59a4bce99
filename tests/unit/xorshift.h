#pragma once
// A small deterministic generator (Marsaglia's xorshift32) for the tests that mutate inputs at
// random: the same seed gives the same cases on every run.

#include <cstdint>

namespace zproxy::test {

class Xorshift32 {
 public:
  explicit Xorshift32(uint32_t seed) : state_(seed) {}
  uint32_t operator()() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }

 private:
  uint32_t state_;
};

}  // namespace zproxy::test
