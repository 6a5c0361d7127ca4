#include "fix44_dictionary.h"

namespace gpux {
namespace fix {
namespace {

struct Fix44Field {
  int tag;
  const char* name;
};

// A message's layout: its tags in order, 0 at the end. A repeating group is
// -1, its count tag, its delimiter tag, its entries' layout, then -2.
struct Fix44Message {
  const char* type;
  const char* name;
  const int* layout;
};

const int kGroup = -1;
const int kGroupEnd = -2;

#include "fix44_catalog.inc"

// Adds the layout from `at` up to its end (0 or kGroupEnd, which it
// consumes) to `dictionary` as the fields and groups of `msg_type`.
void add_layout(FIX::DataDictionary& dictionary, const std::string& msg_type, const int*& at) {
  while (*at != 0) {
    const int entry = *at++;
    if (entry == kGroupEnd) return;
    if (entry == kGroup) {
      const int count = *at++;
      const int delimiter = *at++;
      FIX::DataDictionary entries;
      add_layout(entries, msg_type, at);
      dictionary.addMsgField(msg_type, count);
      dictionary.addGroup(msg_type, count, delimiter, entries);
    } else {
      dictionary.addField(entry);
      dictionary.addMsgField(msg_type, entry);
    }
  }
}

}  // namespace

std::shared_ptr<FIX::DataDictionary> completed_fix44_dictionary(const std::string& path) {
  auto dictionary = std::make_shared<FIX::DataDictionary>(path);
  for (const Fix44Field& field : kFix44Fields) {
    if (dictionary->isField(field.tag)) continue;
    dictionary->addField(field.tag);
    dictionary->addFieldName(field.tag, field.name);
    dictionary->addFieldType(field.tag, FIX::TYPE::String);
  }
  for (const Fix44Message& message : kFix44Messages) {
    if (dictionary->isMsgType(message.type)) continue;
    dictionary->addMsgType(message.type);
    dictionary->addValueName(FIX::FIELD::MsgType, message.type, message.name);
    const int* at = message.layout;
    add_layout(*dictionary, message.type, at);
  }
  return dictionary;
}

}  // namespace fix
}  // namespace gpux
