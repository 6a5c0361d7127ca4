// Node classes: how an 8-GPU node product finds the profile its GPUs prove with.
#include "gpux/provider/node_class.h"

#include <doctest/doctest.h>

using gpux::provider::gpu_class_of;
using gpux::provider::gpus_per_node;
using gpux::provider::node_class;

TEST_CASE("a node class is its GPU's class with -Nx, and maps back") {
  CHECK(node_class("H100-SXM", 8) == "H100-SXM-8x");
  CHECK(gpu_class_of("H100-SXM-8x") == "H100-SXM");
  CHECK(gpu_class_of(node_class("A100", 4)) == "A100");
  CHECK(gpu_class_of("RTX-4090-16x") == "RTX-4090");
  CHECK(gpus_per_node("H100-SXM-8x") == 8);
  CHECK(gpus_per_node("H100-SXM") == 1);
  // Names that are no node class stay as they are.
  for (const char* name : {"H100-SXM", "RTX-4090", "H200", "B200-1x", "B200-0x", "B200-x", "-8x",
                           "H100-SXM-8", "H100-SXM-ax", "H100-SXM-99999x", ""}) {
    INFO(name);
    CHECK(gpu_class_of(name) == name);
    CHECK(gpus_per_node(name) == 1);
  }
}
