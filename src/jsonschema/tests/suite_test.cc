// Runs the official JSON-Schema-Test-Suite (Debian's json-schema-test-suite package), draft 7,
// through NamespaceSchemas::compiled + check: the code path apply uses. Prints every file's pass
// count. Files of supported keywords must pass completely; a group whose schema the compiler
// refuses is counted as "refused" (remote references, which Cairn never fetches) and must be in
// the documented list (docs/schemas.md, "Supported keywords").

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "jsonschema/namespace_schemas.h"

namespace cairn::jsonschema {
namespace {

namespace fs = std::filesystem;

const char* kSuite = "/usr/share/json-schema-test-suite/tests/draft7";

struct Count {
  int passed = 0;
  int total = 0;
  int refused_groups = 0;
  int refused_cases = 0;
  std::vector<std::string> failures;
};

Count run_file(const fs::path& file) {
  Count c;
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  Json groups = Json::parse(text.str());
  for (const auto& g : groups) {
    Json list = Json::array({Json{{"keys", "*"}, {"schema", g["schema"]}}});
    auto schemas = compiled(dump_compact(list), false);
    if (!schemas.ok()) {
      ++c.refused_groups;
      c.refused_cases += static_cast<int>(g["tests"].size());
      c.failures.push_back("refused: " + g["description"].get<std::string>() + ": " +
                           schemas.error().details);
      continue;
    }
    for (const auto& t : g["tests"]) {
      ++c.total;
      bool valid = (*schemas)->check("k", t["data"]).empty();
      if (valid == t["valid"].get<bool>()) {
        ++c.passed;
      } else {
        c.failures.push_back(g["description"].get<std::string>() + " / " +
                             t["description"].get<std::string>());
      }
    }
  }
  return c;
}

// Groups whose schema is refused on purpose, by file: they need a remote document.
const std::set<std::string> kRefusedOnPurpose = {
    "refRemote.json",
    "ref.json",  // "remote ref, containing refs itself" ($ref to the draft 7 meta-schema)
    "definitions.json",  // validates against the meta-schema by a remote $ref
};

TEST(OfficialSuite, Draft7) {
  if (!fs::exists(kSuite)) GTEST_SKIP() << "json-schema-test-suite is not installed";
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(kSuite)) {
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  int passed = 0, total = 0, refused = 0;
  for (const auto& f : files) {
    std::string name = fs::relative(f, kSuite).string();
    bool optional = name.rfind("optional/", 0) == 0;
    Count c = run_file(f);
    passed += c.passed;
    total += c.total;
    refused += c.refused_cases;
    std::cout << (optional ? "  (optional) " : "  ") << name << ": " << c.passed << "/" << c.total
              << (c.refused_cases ? " (" + std::to_string(c.refused_cases) +
                                        " cases in refused groups)"
                                  : "")
              << "\n";
    for (const auto& why : c.failures) std::cout << "      " << why << "\n";
    if (!optional) {
      EXPECT_EQ(c.passed, c.total) << name;
      if (c.refused_groups) {
        EXPECT_TRUE(kRefusedOnPurpose.count(name)) << name;
      }
    }
  }
  std::cout << "total: " << passed << "/" << total << " passed, " << refused
            << " cases in refused groups\n";
}

}  // namespace
}  // namespace cairn::jsonschema
