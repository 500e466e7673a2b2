// The optimizers' binding state and the update path shared by Optimizer.update(params, grads)
// and the fused Network train step.
#pragma once

#include <vector>

#include "arrays.hpp"
#include "fastlayers/optimizers.hpp"

namespace fastlayers::bind {

// Base of SGD, Momentum, AdaGrad and Adam. s1/s2 are the book's state dicts (key -> ndarray of the
// parameter's shape and dtype): Momentum.v, AdaGrad.h, Adam.m and Adam.v; None before the first update.
struct Optimizer {
  OptimizerConfig cfg;
  long long iter = 0;  // Adam's step count
  py::object s1 = py::none();
  py::object s2 = py::none();
  virtual ~Optimizer() = default;
};

// One parameter to update: params[key] (the caller's array) and its gradient.
struct UpdateItem {
  py::object key;
  py::object param;
  py::object grad;
};

// Checked, ready-to-run update. slots_* point into the caller's parameters (or into C-ordered work
// copies, for parameters that are not C-contiguous, written back by finish_update) and into the state.
struct PreparedUpdate {
  std::vector<ParamSlot<float>> f32;
  std::vector<ParamSlot<double>> f64;
  std::vector<void*> param_data;  // per item, the memory the kernels update (C order)
  std::vector<py::object> keep;   // keeps every array the slots point into alive
  std::vector<std::pair<py::array, py::array>> writeback;  // (caller's param, work copy)
};

// Checks every item (writable float32/float64 ndarray params; grads of the same shape and dtype),
// creates missing state, and returns the slots. Raises before anything is modified. GIL held.
PreparedUpdate prepare_update(Optimizer& opt, const std::vector<UpdateItem>& items, const std::string& where);
// The kernels; call with the GIL released.
void run_update(Optimizer& opt, PreparedUpdate& up);
// Copies work copies back into non-contiguous parameters. GIL held.
void finish_update(PreparedUpdate& up);

}  // namespace fastlayers::bind
