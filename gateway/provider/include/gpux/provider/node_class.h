// Node classes: products that trade whole N-GPU nodes. A node class is named
// after its GPU's class ("H100-SXM-8x", gpus_per_unit = 8); its GPUs qualify
// and answer challenges one by one as their own class. Providers register
// GPUs under the node class to sell them as nodes, under their class to sell
// them one by one; never both, so no GPU is sold twice.
#pragma once

#include <cstdint>
#include <string>

namespace gpux::provider {

std::string node_class(const std::string& gpu_class, std::uint32_t gpus_per_node);

// "H100-SXM-8x" -> "H100-SXM"; a class that names no node, unchanged.
std::string gpu_class_of(const std::string& product_class);

// N of a node class "X-Nx"; 1 for a class that names no node.
std::uint32_t gpus_per_node(const std::string& product_class);

}  // namespace gpux::provider
