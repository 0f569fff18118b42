#include "routes/table.h"

namespace cairn::routes {

bool declared(const http::Route& route) {
  for (const Route* r : kAll) {
    if (r == &route) return true;
  }
  return false;
}

const Route* find(std::string_view method, std::string_view path_template) {
  for (const Route* r : kAll) {
    if (r->method == method && r->path_template == path_template) return r;
  }
  return nullptr;
}

}  // namespace cairn::routes
