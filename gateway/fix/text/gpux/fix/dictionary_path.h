// Where gpux's FIX dictionary (gpux-FIX44.xml) is, for gpuxd and the tools
// alike: what GPUX_FIX_DICTIONARY names when it is set; else the installed
// one, share/gpux/gpux-FIX44.xml under the prefix the running executable's
// bin/ is in; else the source tree's, as built. C++14, like gpux_fix_text.
#pragma once

#include <string>

namespace gpux {
namespace fix {

std::string fix_dictionary_path();

}  // namespace fix
}  // namespace gpux
