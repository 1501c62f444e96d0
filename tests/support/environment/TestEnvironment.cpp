// Linked into every boxoffice_test executable: tells tests where the build and
// source trees are, through the environment so that child processes see it too.
// (ctest's ENVIRONMENT property cannot carry two variables through
// gtest_discover_tests, which splits the list.)

#include <cstdlib>

namespace {

const bool environmentSet = [] {
    ::setenv("BOXOFFICE_BUILD_DIR", BOXOFFICE_TEST_BUILD_DIR, 0);
    ::setenv("BOXOFFICE_SOURCE_DIR", BOXOFFICE_TEST_SOURCE_DIR, 0);
    return true;
}();

} // namespace
