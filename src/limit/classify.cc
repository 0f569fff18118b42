#include "limit/classify.h"

namespace cairn::limit {

bool is_valid_client_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char ch : id) {
    if (ch < 0x21 || ch > 0x7e) return false;
  }
  return true;
}

}  // namespace cairn::limit
