#include "gpux/provider/node_class.h"

#include <algorithm>

namespace gpux::provider {
namespace {

// Where "-Nx" starts, N a whole number above 1 after a non-empty class; npos
// when there is none.
std::size_t node_suffix(const std::string& name) {
  if (name.size() < 4 || name.back() != 'x') return std::string::npos;
  const std::size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 2 >= name.size()) return std::string::npos;
  const std::string count = name.substr(dash + 1, name.size() - dash - 2);
  const bool digits =
      std::all_of(count.begin(), count.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (count.size() > 4 || !digits || std::stoi(count) < 2) return std::string::npos;
  return dash;
}

}  // namespace

std::string node_class(const std::string& gpu_class, std::uint32_t gpus_per_node) {
  return gpu_class + "-" + std::to_string(gpus_per_node) + "x";
}

std::string gpu_class_of(const std::string& product_class) {
  const std::size_t dash = node_suffix(product_class);
  return dash == std::string::npos ? product_class : product_class.substr(0, dash);
}

std::uint32_t gpus_per_node(const std::string& product_class) {
  const std::size_t dash = node_suffix(product_class);
  return dash == std::string::npos
             ? 1
             : static_cast<std::uint32_t>(std::stoul(product_class.substr(dash + 1)));
}

}  // namespace gpux::provider
