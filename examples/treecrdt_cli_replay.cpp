// `treecrdt-replay FILE|-`: the same as `treecrdt replay FILE|-` (ops JSON Lines in, canonical
// export JSON out), under the name scripts of the first release used.
#include <string_view>
#include <vector>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  std::vector<std::string_view> args{"replay"};
  args.insert(args.end(), argv + 1, argv + argc);
  return treecrdt_cli::run_tool(args);
}
