// The one source built per instruction set: names the core this executable links, and checks
// that CMake linked the core it meant to.
#include <string>

#include "helpers.hpp"

// FASTLAYERS_ISA comes with the core library; FASTLAYERS_TEST_ISA is what tests/cpp/CMakeLists.txt
// asked for.
const char* fltest::core_isa() { return FASTLAYERS_ISA; }

namespace {

using Isa = fltest::CoreTest;

TEST_F(Isa, LinksTheCoreOfThisExecutable) {
  EXPECT_EQ(std::string(fltest::core_isa()), FASTLAYERS_TEST_ISA);
  EXPECT_TRUE(fltest::cpu_runs_this_core());  // otherwise SetUp would have skipped
}

}  // namespace
