// The CUDA prover. Layouts are K-major throughout (A row-major n x K, B held
// as Bt row-major n x K), the "TN" form cuBLASLt's int8 IMMA kernels want;
// every committed byte comes from work.h, shared with the CPU prover.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gpux/verify/cuda_prover.h"
#include "protocol.h"
#include "work.h"

namespace gpux::verify {
namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}
void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(what) + ": cuBLASLt status " + std::to_string(status));
}

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count, const char* what) : count_(count) {
    check(cudaMalloc(&data_, count * sizeof(T)), what);
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    return *this;
  }
  T* get() const { return data_; }
  std::size_t size() const { return count_; }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

// A CUDA stream on `device`, which becomes this thread's current device.
class Stream {
 public:
  explicit Stream(int device) {
    check(cudaSetDevice(device), "cudaSetDevice");
    check(cudaStreamCreate(&stream_), "cudaStreamCreate");
  }
  ~Stream() { cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  operator cudaStream_t() const { return stream_; }

 private:
  cudaStream_t stream_{};
};

unsigned blocks_for(std::size_t threads, unsigned per_block) {
  return static_cast<unsigned>((threads + per_block - 1) / per_block);
}

// One thread per 16 bytes: a Philox block stored little-endian is exactly
// the 16 consecutive elements matrix_element() defines.
__global__ void fill_matrix(int8_t* out, PhiloxKey key, std::uint32_t tag, std::uint32_t n) {
  const std::size_t index = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const std::size_t blocks_per_row = n / 16;
  if (index >= std::size_t{n} * blocks_per_row) return;
  const auto row = static_cast<std::uint32_t>(index / blocks_per_row);
  const auto block = static_cast<std::uint32_t>(index % blocks_per_row);
  const Philox4 v = philox4x32_10(Philox4{{row, block, tag, 0}}, key);
  reinterpret_cast<uint4*>(out + std::size_t{row} * n)[block] =
      make_uint4(v.v[0], v.v[1], v.v[2], v.v[3]);
}

// mixed = mix(c) row-major (what the tiles commit) and next_a = mixed^T (the
// next step's input), through shared memory so both writes are coalesced.
constexpr unsigned kTranspose = 32;
__global__ void mix_transpose(const std::int32_t* c, int8_t* mixed, int8_t* next_a,
                              std::uint32_t n) {
  __shared__ int8_t tile[kTranspose][kTranspose + 1];
  const std::uint32_t x = blockIdx.x * kTranspose + threadIdx.x;
  const std::uint32_t y = blockIdx.y * kTranspose + threadIdx.y;
  for (unsigned j = 0; j < kTranspose; j += blockDim.y) {
    const std::size_t at = std::size_t{y + j} * n + x;
    const int8_t v = work::mix(c[at]);
    mixed[at] = v;
    tile[threadIdx.y + j][threadIdx.x] = v;
  }
  __syncthreads();
  const std::uint32_t tx = blockIdx.y * kTranspose + threadIdx.x;
  const std::uint32_t ty = blockIdx.x * kTranspose + threadIdx.y;
  for (unsigned j = 0; j < kTranspose; j += blockDim.y)
    next_a[std::size_t{ty + j} * n + tx] = tile[threadIdx.x][threadIdx.y + j];
}

__global__ void tile_leaves(const int8_t* mixed, Digest* leaves, std::uint32_t step,
                            std::uint32_t n, std::uint32_t t) {
  const std::uint32_t tiles = n / t;
  const std::size_t index = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (index >= std::size_t{tiles} * tiles) return;
  const auto ti = static_cast<std::uint32_t>(index / tiles),
             tj = static_cast<std::uint32_t>(index % tiles);
  leaves[work::tile_leaf_index(ti, tj, tiles)] =
      work::tile_leaf(step, ti, tj, mixed + (std::size_t{ti} * t * n + std::size_t{tj} * t), n, t);
}

__global__ void merkle_level(const Digest* below, Digest* level, std::size_t count) {
  const std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i < count) level[i] = work::merkle_parent(below[2 * i], below[2 * i + 1]);
}

// The launches, shared by the prover and the timings.
void launch_fill_matrix(int8_t* out, PhiloxKey key, std::uint32_t tag, std::uint32_t n,
                        cudaStream_t stream) {
  fill_matrix<<<blocks_for(std::size_t{n} * n / 16, 256), 256, 0, stream>>>(out, key, tag, n);
}
void launch_mix_transpose(const std::int32_t* c, int8_t* mixed, int8_t* next_a, std::uint32_t n,
                          cudaStream_t stream) {
  const dim3 block(kTranspose, 8), grid(n / kTranspose, n / kTranspose);
  mix_transpose<<<grid, block, 0, stream>>>(c, mixed, next_a, n);
}
void launch_tile_leaves(const int8_t* mixed, Digest* leaves, std::uint32_t step, std::uint32_t n,
                        std::uint32_t t, cudaStream_t stream) {
  const std::size_t tiles = std::size_t{n / t} * (n / t);
  tile_leaves<<<blocks_for(tiles, 64), 64, 0, stream>>>(mixed, leaves, step, n, t);
}

__global__ void make_cache(Philox4* cache, PhiloxKey key) {
  const std::uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < work::kCacheItems) cache[i] = work::cache_item(key, i);
}

__global__ void make_dataset(Philox4* dataset, std::uint64_t items, const Philox4* cache,
                             PhiloxKey key, std::uint32_t parents) {
  const std::uint64_t i = std::uint64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i < items) dataset[i] = work::dataset_item(key, cache, parents, i);
}

__global__ void walk_lanes(const Philox4* dataset, std::uint64_t items, PhiloxKey key,
                           std::uint32_t lanes, std::uint32_t reads, Philox4* results,
                           Digest* leaves) {
  const std::uint32_t lane = blockIdx.x * blockDim.x + threadIdx.x;
  if (lane >= lanes) return;
  Philox4 state = work::lane_start(key, lane);
  for (std::uint32_t r = 0; r < reads; ++r)
    state = work::lane_read(key, state, dataset[work::lane_index(state, items)]);
  results[lane] = state;
  leaves[lane] = work::lane_leaf(lane, state);
}

// A Merkle tree on the device: all levels in one buffer, leaves first.
class DeviceTree {
 public:
  DeviceTree() = default;
  explicit DeviceTree(std::size_t leaves)
      : leaves_(leaves), nodes_(2 * leaves - 1, "merkle tree") {}
  Digest* leaves() const { return nodes_.get(); }

  // Enqueues the levels above the leaves.
  void reduce(cudaStream_t stream) {
    std::size_t offset = 0;
    for (std::size_t count = leaves_; count > 1; count /= 2) {
      merkle_level<<<blocks_for(count / 2, 128), 128, 0, stream>>>(
          nodes_.get() + offset, nodes_.get() + offset + count, count / 2);
      offset += count;
    }
    check(cudaGetLastError(), "merkle kernel");
  }

  Digest build(cudaStream_t stream) {
    reduce(stream);
    Digest root;
    check(cudaMemcpyAsync(&root, nodes_.get() + nodes_.size() - 1, sizeof root,
                          cudaMemcpyDeviceToHost, stream),
          "copy root");
    check(cudaStreamSynchronize(stream), "merkle tree");
    return root;
  }

  protocol::MerkleTree to_host() const {
    std::vector<Digest> all(nodes_.size());
    check(cudaMemcpy(all.data(), nodes_.get(), all.size() * sizeof(Digest), cudaMemcpyDeviceToHost),
          "copy merkle tree");
    std::vector<std::vector<Digest>> levels;
    std::size_t offset = 0;
    for (std::size_t count = leaves_; count >= 1; count /= 2) {
      levels.emplace_back(all.begin() + offset, all.begin() + offset + count);
      offset += count;
    }
    return protocol::MerkleTree::from_levels(std::move(levels));
  }

 private:
  std::size_t leaves_ = 0;
  DeviceBuffer<Digest> nodes_;
};

// cuBLASLt's int8 GEMM D (col-major) = Bt^T-view x A-view: with both inputs
// K-major this is C = A x Bt^T in row-major terms, exactly what work.h defines.
class Int8Gemm {
 public:
  Int8Gemm(std::uint32_t n, cudaStream_t stream) : n_(n), stream_(stream) {
    check(cublasLtCreate(&handle_), "cublasLtCreate");
    check(cublasLtMatmulDescCreate(&desc_, CUBLAS_COMPUTE_32I, CUDA_R_32I), "matmul desc");
    const cublasOperation_t transpose = CUBLAS_OP_T;
    check(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &transpose,
                                         sizeof transpose),
          "TRANSA");
    check(cublasLtMatrixLayoutCreate(&a_, CUDA_R_8I, n, n, n), "layout A");
    check(cublasLtMatrixLayoutCreate(&b_, CUDA_R_8I, n, n, n), "layout B");
    check(cublasLtMatrixLayoutCreate(&c_, CUDA_R_32I, n, n, n), "layout C");
    workspace_ = DeviceBuffer<std::uint8_t>(kWorkspace, "cuBLASLt workspace");
  }
  ~Int8Gemm() {
    cublasLtMatrixLayoutDestroy(c_);
    cublasLtMatrixLayoutDestroy(b_);
    cublasLtMatrixLayoutDestroy(a_);
    cublasLtMatmulDescDestroy(desc_);
    cublasLtDestroy(handle_);
  }

  // Times each algorithm cuBLASLt proposes and keeps the fastest: at large
  // sizes its first pick can be far from the best.
  void autotune(const int8_t* bt, const int8_t* a, std::int32_t* c) {
    cublasLtMatmulPreference_t preference;
    check(cublasLtMatmulPreferenceCreate(&preference), "preference");
    const std::size_t workspace = kWorkspace;
    check(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                               &workspace, sizeof workspace),
          "workspace preference");
    cublasLtMatmulHeuristicResult_t results[16];
    int found = 0;
    check(cublasLtMatmulAlgoGetHeuristic(handle_, desc_, a_, b_, c_, c_, preference, 16, results,
                                         &found),
          "algorithm heuristic");
    cublasLtMatmulPreferenceDestroy(preference);
    if (found == 0)
      throw std::runtime_error("cuBLASLt has no int8 algorithm for n = " + std::to_string(n_));
    cudaEvent_t start, stop;
    check(cudaEventCreate(&start), "event");
    check(cudaEventCreate(&stop), "event");
    float best = 1e30f;
    for (int i = 0; i < found; ++i) {
      if (results[i].state != CUBLAS_STATUS_SUCCESS) continue;
      algorithm_ = results[i].algo;
      run(bt, a, c);  // warm-up
      check(cudaEventRecord(start, stream_), "event");
      for (int r = 0; r < 3; ++r)
        run(bt, a, c);
      check(cudaEventRecord(stop, stream_), "event");
      check(cudaEventSynchronize(stop), "autotune");
      float ms = 0;
      check(cudaEventElapsedTime(&ms, start, stop), "event time");
      if (ms < best) {
        best = ms;
        best_index_ = i;
      }
    }
    algorithm_ = results[best_index_].algo;
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }

  void run(const int8_t* bt, const int8_t* a, std::int32_t* c) {
    const std::int32_t alpha = 1, beta = 0;
    check(cublasLtMatmul(handle_, desc_, &alpha, bt, a_, a, b_, &beta, c, c_, c, c_, &algorithm_,
                         workspace_.get(), kWorkspace, stream_),
          "cublasLtMatmul");
  }

 private:
  static constexpr std::size_t kWorkspace = 64u << 20;
  std::uint32_t n_;
  cudaStream_t stream_;
  cublasLtHandle_t handle_{};
  cublasLtMatmulDesc_t desc_{};
  cublasLtMatrixLayout_t a_{}, b_{}, c_{};
  cublasLtMatmulAlgo_t algorithm_{};
  int best_index_ = 0;
  DeviceBuffer<std::uint8_t> workspace_;
};

class CudaProver final : public Prover {
 public:
  CudaProver(const Challenge& challenge, int device)
      : c_(provable(challenge)),
        n_(challenge.matrix_size),
        t_(challenge.tile_size),
        tiles_(n_ / t_),
        stream_(device) {}

  MemoryCommitment run_memory_phase() override {
    const auto keys = protocol::memory_keys(c_.nonce);
    DeviceBuffer<Philox4> cache(work::kCacheItems, "memory cache");
    make_cache<<<blocks_for(work::kCacheItems, 256), 256, 0, stream_>>>(cache.get(), keys.cache);
    // The dataset is the claimed memory: a GPU without it fails here.
    DeviceBuffer<Philox4> dataset(c_.memory_items, "memory phase dataset (the class's memory)");
    make_dataset<<<blocks_for(c_.memory_items, 256), 256, 0, stream_>>>(
        dataset.get(), c_.memory_items, cache.get(), keys.dataset, c_.memory_parents);
    lane_results_ = DeviceBuffer<Philox4>(c_.memory_lanes, "lane results");
    lane_tree_ = DeviceTree(c_.memory_lanes);
    walk_lanes<<<blocks_for(c_.memory_lanes, 128), 128, 0, stream_>>>(
        dataset.get(), c_.memory_items, keys.lanes, c_.memory_lanes, c_.memory_reads,
        lane_results_.get(), lane_tree_.leaves());
    check(cudaGetLastError(), "memory phase kernels");
    const Digest root = lane_tree_.build(stream_);
    check(cudaStreamSynchronize(stream_), "memory phase");
    start_chain(root);
    return {c_.nonce, root};
  }

  std::vector<LaneOpening> open_lanes(std::span<const std::uint32_t> lanes) override {
    const auto tree = lane_tree_.to_host();
    std::vector<LaneOpening> out;
    for (auto lane : lanes) {
      Philox4 result;
      check(cudaMemcpy(&result, lane_results_.get() + lane, sizeof result, cudaMemcpyDeviceToHost),
            "copy lane");
      out.push_back(protocol::open_lane(lane, result, tree.path(lane)));
    }
    return out;
  }

  StepCommitment run_step() override {
    const std::uint32_t step = next_step_++;
    std::swap(mixed_, previous_mixed_);
    std::swap(tree_, previous_tree_);
    gemm_->run(bt_.get(), a_.get(), c32_.get());
    launch_mix_transpose(c32_.get(), mixed_.get(), a_.get(), n_, stream_);
    launch_tile_leaves(mixed_.get(), tree_.leaves(), step, n_, t_, stream_);
    check(cudaGetLastError(), "step kernels");
    return {c_.nonce, step, tree_.build(stream_)};
  }

  StepOpening open_tiles(std::span<const TilePosition> tiles) override {
    const std::uint32_t step = next_step_ - 1;
    const auto tree = tree_.to_host();
    std::optional<protocol::MerkleTree> previous;
    if (step > 0) previous = previous_tree_.to_host();
    return protocol::open_step(step, tiles, [&](TileOpening& tile) {
      const std::size_t leaf = work::tile_leaf_index(tile.row, tile.col, tiles_);
      check(cudaMemcpy(&tile.leaf, tree_.leaves() + leaf, sizeof tile.leaf, cudaMemcpyDeviceToHost),
            "copy leaf");
      tile.path = tree.path(leaf);
      if (previous) {
        tile.strip.resize(std::size_t{n_} * t_);
        check(
            cudaMemcpy2D(tile.strip.data(), t_, previous_mixed_.get() + std::size_t{tile.row} * t_,
                         n_, t_, n_, cudaMemcpyDeviceToHost),
            "copy input strip");
        tile.strip_path = previous->path(tile.row, protocol::path_length(tiles_));
      }
    });
  }

 private:
  // Before any member is derived from it (tiles_ divides by the tile size).
  static const Challenge& provable(const Challenge& challenge) {
    if (auto error = validate(challenge)) throw std::invalid_argument(*error);
    // The transposing kernel works in 32 x 32 blocks (validate() admits 16).
    if (challenge.matrix_size % kTranspose != 0)
      throw std::invalid_argument("the CUDA prover needs matrix_size of at least 32");
    return challenge;
  }

  void start_chain(const Digest& memory_root) {
    const auto keys = protocol::chain_keys(c_.nonce, memory_root);
    const std::size_t elements = std::size_t{n_} * n_;
    a_ = DeviceBuffer<int8_t>(elements, "matrix A");
    bt_ = DeviceBuffer<int8_t>(elements, "matrix B");
    c32_ = DeviceBuffer<std::int32_t>(elements, "int32 product");
    mixed_ = DeviceBuffer<int8_t>(elements, "mixed output");
    previous_mixed_ = DeviceBuffer<int8_t>(elements, "previous mixed output");
    tree_ = DeviceTree(std::size_t{tiles_} * tiles_);
    previous_tree_ = DeviceTree(std::size_t{tiles_} * tiles_);
    gemm_ = std::make_unique<Int8Gemm>(n_, stream_);
    // Autotune on scratch inputs, then generate the real ones.
    gemm_->autotune(bt_.get(), a_.get(), c32_.get());
    launch_fill_matrix(a_.get(), keys.a, work::kTagA, n_, stream_);
    launch_fill_matrix(bt_.get(), keys.b, work::kTagB, n_, stream_);
    check(cudaGetLastError(), "fill kernels");
  }

  Challenge c_;
  std::uint32_t n_, t_, tiles_;
  Stream stream_;
  DeviceBuffer<Philox4> lane_results_;
  DeviceTree lane_tree_;
  DeviceBuffer<int8_t> a_, bt_, mixed_, previous_mixed_;
  DeviceBuffer<std::int32_t> c32_;
  DeviceTree tree_, previous_tree_;
  std::unique_ptr<Int8Gemm> gemm_;
  std::uint32_t next_step_ = 0;
};

}  // namespace

std::unique_ptr<Prover> make_cuda_prover(const Challenge& challenge, int device) {
  return std::make_unique<CudaProver>(challenge, device);
}

int cuda_device_count() {
  int count = 0;
  check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  return count;
}

std::string cuda_device_name(int device) {
  cudaDeviceProp properties{};
  check(cudaGetDeviceProperties(&properties, device), "cudaGetDeviceProperties");
  return properties.name;
}

namespace {

// Generated inputs and a tuned GEMM of the prover's shape on a stream of
// their own: the setting of both timings below.
class GemmBench {
 public:
  GemmBench(std::uint32_t n, int device) : stream_(device) {
    const std::size_t elements = std::size_t{n} * n;
    a_ = DeviceBuffer<int8_t>(elements, "matrix A");
    bt_ = DeviceBuffer<int8_t>(elements, "matrix B");
    c_ = DeviceBuffer<std::int32_t>(elements, "int32 product");
    launch_fill_matrix(a_.get(), philox_key(1), work::kTagA, n, stream_);
    launch_fill_matrix(bt_.get(), philox_key(2), work::kTagB, n, stream_);
    gemm_ = std::make_unique<Int8Gemm>(n, stream_);
    gemm_->autotune(bt_.get(), a_.get(), c_.get());
    check(cudaStreamSynchronize(stream_), "GEMM setup");
  }

  void run_gemm() { gemm_->run(bt_.get(), a_.get(), c_.get()); }
  cudaStream_t stream() const { return stream_; }
  std::int32_t* product() const { return c_.get(); }
  int8_t* a() const { return a_.get(); }

 private:
  Stream stream_;
  DeviceBuffer<int8_t> a_, bt_;
  DeviceBuffer<std::int32_t> c_;
  std::unique_ptr<Int8Gemm> gemm_;
};

}  // namespace

double raw_gemm_ops_per_s(std::uint32_t n, double seconds, int device) {
  GemmBench bench(n, device);
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t runs = 0;
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 8; ++i)
      bench.run_gemm();
    check(cudaStreamSynchronize(bench.stream()), "raw gemm");
    runs += 8;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return 2.0 * n * n * static_cast<double>(n) * static_cast<double>(runs) / elapsed;
}

StepKernelTimes step_kernel_times(std::uint32_t n, std::uint32_t tile, int repeats, int device) {
  GemmBench bench(n, device);
  DeviceBuffer<int8_t> mixed(std::size_t{n} * n, "mixed output");
  DeviceTree tree(std::size_t{n / tile} * (n / tile));
  const cudaStream_t stream = bench.stream();
  cudaEvent_t marks[5];
  for (auto& mark : marks)
    check(cudaEventCreate(&mark), "event");
  std::vector<float> times[4];
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    check(cudaEventRecord(marks[0], stream), "event");
    bench.run_gemm();
    check(cudaEventRecord(marks[1], stream), "event");
    launch_mix_transpose(bench.product(), mixed.get(), bench.a(), n, stream);
    check(cudaEventRecord(marks[2], stream), "event");
    launch_tile_leaves(mixed.get(), tree.leaves(), 0, n, tile, stream);
    check(cudaEventRecord(marks[3], stream), "event");
    tree.reduce(stream);
    check(cudaEventRecord(marks[4], stream), "event");
    check(cudaEventSynchronize(marks[4]), "step kernels");
    for (int k = 0; k < 4; ++k) {
      float ms = 0;
      check(cudaEventElapsedTime(&ms, marks[k], marks[k + 1]), "event time");
      times[k].push_back(ms);
    }
  }
  for (auto& mark : marks)
    cudaEventDestroy(mark);
  const auto median = [](std::vector<float>& v) {
    std::sort(v.begin(), v.end());
    return double{v[v.size() / 2]};
  };
  return {median(times[0]), median(times[1]), median(times[2]), median(times[3])};
}

}  // namespace gpux::verify
