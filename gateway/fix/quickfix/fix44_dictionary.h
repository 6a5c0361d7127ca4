// gpux's dictionary (gpux-FIX44.xml) defines exactly what the exchange
// supports. FIX asks more of a counterparty than that: a standard message
// type it does not support is answered with BusinessMessageReject 380=3,
// and a standard tag where the message does not take it with a session
// Reject 373=2 (373=0 is for tags FIX does not define). QuickFIX answers so
// only for what its dictionary holds, so the sessions' dictionary is gpux's
// completed with the rest of FIX 4.4, taken at build time from QuickFIX's
// own headers (tools/fix44_catalog.cpp). C++14, like every QuickFIX unit.
#pragma once

#include <quickfix/DataDictionary.h>

#include <memory>
#include <string>

namespace gpux {
namespace fix {

// gpux's dictionary from `path`, plus every FIX 4.4 field it lacks (as
// text) and every FIX 4.4 message type it lacks, with its fields and
// repeating groups. What gpux defines is unchanged. Throws FIX::ConfigError
// when `path` cannot be read.
std::shared_ptr<FIX::DataDictionary> completed_fix44_dictionary(const std::string& path);

}  // namespace fix
}  // namespace gpux
