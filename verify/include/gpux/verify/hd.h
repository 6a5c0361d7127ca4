// Marks functions that compile for both the host and, under nvcc, the device:
// the CPU prover, the verifier and the CUDA prover share one definition of
// every function that decides a committed byte.
#pragma once

#if defined(__CUDACC__)
#define GPUX_HD __host__ __device__ __forceinline__
#else
#define GPUX_HD inline
#endif
