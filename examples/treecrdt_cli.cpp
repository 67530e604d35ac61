// `treecrdt`: build, inspect and check treecrdt documents from the command line.
// Run `treecrdt --help` for the commands; the code of each lives in cli/commands.hpp.
#include <string_view>
#include <vector>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  return treecrdt_cli::run_tool(args);
}
