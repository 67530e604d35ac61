#pragma once
// Plumbing shared by the treecrdt command-line tools: exit codes, the two kinds of failure
// (usage vs. everything else), argument parsing and opening the input file.
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "treecrdt/op_key.hpp"

namespace treecrdt_cli {

/// The tool reads and writes logs with the default key (replica ids are arbitrary byte strings).
using key = treecrdt::default_op_key;

/// Exit statuses; scripts rely on them, so they are part of the interface (see --help).
enum exit_status : int {
  exit_ok = 0,
  exit_failure = 1,   // bad input file, database error, I/O error
  exit_usage = 2,     // bad command line
  exit_mismatch = 3,  // verify: the materialized state differs from a fresh fold
};

/// A bad command line: reported with the command's usage line, exit status 2.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Any other failure the tool reports itself (missing file, unwritable output), exit status 1.
class command_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A command's arguments after option parsing.
struct arguments {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> options;  // "--batch" -> "100"
  bool help = false;

  [[nodiscard]] std::optional<std::string_view> option(std::string_view name) const {
    const auto it = options.find(name);
    if (it == options.end()) return std::nullopt;
    return std::string_view(it->second);
  }
};

/// Splits `args` into positionals and the options named in `value_options` (each takes a value,
/// as `--name value` or `--name=value`). `-` alone is a positional (standard input); `--` ends
/// the options. Throws usage_error for an unknown option, a missing value or a repeated option.
[[nodiscard]] inline arguments parse_arguments(const std::vector<std::string_view>& args,
                                               const std::vector<std::string_view>& value_options) {
  arguments out;
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (options_done || a == "-" || a.empty() || a.front() != '-') {
      out.positional.emplace_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      out.help = true;
      continue;
    }
    const std::size_t eq = a.find('=');
    const std::string_view name = a.substr(0, eq);
    bool known = false;
    for (std::string_view o : value_options) known = known || o == name;
    if (!known) throw usage_error("unknown option " + std::string(name));
    std::string value;
    if (eq != std::string_view::npos) {
      value = std::string(a.substr(eq + 1));
    } else {
      if (i + 1 == args.size()) throw usage_error("option " + std::string(name) + " needs a value");
      value = std::string(args[++i]);
    }
    if (!out.options.emplace(std::string(name), std::move(value)).second)
      throw usage_error("option " + std::string(name) + " given twice");
  }
  return out;
}

/// A decimal count in [min, max] for option `name`; usage_error otherwise.
[[nodiscard]] inline std::uint64_t parse_count(std::string_view text, std::string_view name, std::uint64_t min,
                                               std::uint64_t max) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool digits_only = !text.empty() && end == text.data() + text.size();
  if (!digits_only || ec == std::errc::invalid_argument || text.front() == '+' || text.front() == '-')
    throw usage_error(std::string(name) + " expects a whole number, got \"" + std::string(text) + "\"");
  if (ec == std::errc::result_out_of_range || value < min || value > max)
    throw usage_error(std::string(name) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                      ", got " + std::string(text));
  return value;
}

/// An input named on the command line: a file, or standard input for "-".
class input_source {
 public:
  explicit input_source(const std::string& name) : name_(name == "-" ? "<stdin>" : name) {
    if (name == "-") {
      in_ = &std::cin;
      return;
    }
    std::error_code ec;
    if (std::filesystem::is_directory(name, ec)) throw command_error(name + ": is a directory, not an ops file");
    file_ = std::make_unique<std::ifstream>(name, std::ios::binary);
    if (!*file_) throw command_error(name + ": cannot open: " + std::strerror(errno));
    in_ = file_.get();
  }
  [[nodiscard]] std::istream& stream() noexcept { return *in_; }
  /// How messages name the input ("<stdin>" for "-").
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  std::unique_ptr<std::ifstream> file_;
  std::istream* in_ = nullptr;
};

/// Flushes standard output and turns a failed write (full disk, closed pipe) into an error:
/// a tool whose output was truncated must not exit 0.
inline void finish_output() {
  std::cout.flush();
  if (!std::cout) throw command_error("writing to standard output failed");
}

}  // namespace treecrdt_cli
