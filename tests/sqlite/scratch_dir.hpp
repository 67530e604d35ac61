#pragma once
// A temporary directory for tests that write a lot and run many times: in memory (/dev/shm) when
// the machine has it, else under the system temp dir. Removed with everything in it on destruction.
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "sqlite/sqlite_test_support.hpp"

namespace treecrdt_test {

[[nodiscard]] inline std::filesystem::path scratch_base() {
  std::error_code ec;
  const std::filesystem::path shm("/dev/shm");
  return std::filesystem::is_directory(shm, ec) && access(shm.c_str(), W_OK) == 0
             ? shm
             : std::filesystem::temp_directory_path();
}

class scratch_dir : public temp_dir {
 public:
  scratch_dir() : temp_dir(scratch_base(), "treecrdt-test-") {}
};

}  // namespace treecrdt_test
