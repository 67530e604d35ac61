#pragma once
// A temporary directory for tests that write a lot and run many times: in memory (/dev/shm) when
// the machine has it, else under the system temp dir. Removed with everything in it on destruction.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace treecrdt_test {

class scratch_dir {
 public:
  scratch_dir() {
    std::error_code ec;
    const std::filesystem::path shm("/dev/shm");
    const auto base = std::filesystem::is_directory(shm, ec) && access(shm.c_str(), W_OK) == 0
                          ? shm
                          : std::filesystem::temp_directory_path();
    std::string pattern = (base / "treecrdt-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace treecrdt_test
