// Links the installed SDK and makes one call that fails fast (nothing listens on port 1): proves
// the headers, the library and its dependencies resolve from the package alone.
#include <cairn/client.h>

#include <iostream>

int main() {
  cairn::ClientOptions options;
  options.endpoints = {"http://127.0.0.1:1"};
  options.max_rounds = 1;
  cairn::Client client(options);
  auto r = client.get("app", "key");
  if (r.ok() || r.error().code != cairn::ClientError::kTransport) {
    std::cerr << "unexpected answer\n";
    return 1;
  }
  std::cout << "consumer ok: " << r.error().to_string() << "\n";
  return 0;
}
