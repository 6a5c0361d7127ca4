// The CUDA prover: cuBLASLt int8 tensor-core GEMMs for the chain, this
// module's own kernels for generation, mixing, transposing and hashing.
// Built only where nvcc is found; its results are bit-identical to the CPU
// prover's (ops/gpu-check checks that on a GPU).
#pragma once

#include <memory>
#include <string>

#include "gpux/verify/prover.h"

namespace gpux::verify {

// Throws std::runtime_error naming the CUDA call that failed, including an
// allocation of the memory phase that a GPU smaller than its class cannot make.
std::unique_ptr<Prover> make_cuda_prover(const Challenge& challenge, int device = 0);

std::string cuda_device_name(int device = 0);
int cuda_device_count();

// Raw cuBLASLt int8 GEMM on the prover's shape (n x n x n, TN, int32 out)
// with the same algorithm choice, back to back for about `seconds`: the
// baseline the prover's sustained rate is compared with. Operations per second.
double raw_gemm_ops_per_s(std::uint32_t n, double seconds, int device = 0);

// Where one step's GPU time goes: each of its kernels timed alone with CUDA
// events on the prover's shape, medians of `repeats` (at least 1), in ms. It
// attributes the gap between the prover and raw cuBLASLt before anyone
// optimises it.
struct StepKernelTimes {
  double gemm_ms = 0;
  double mix_transpose_ms = 0;  // int32 -> int8 mix, and the next step's transposed input
  double tile_leaves_ms = 0;    // one SHA-256 per committed tile
  double merkle_ms = 0;         // the levels above the leaves
};
StepKernelTimes step_kernel_times(std::uint32_t n, std::uint32_t tile, int repeats, int device = 0);

}  // namespace gpux::verify
