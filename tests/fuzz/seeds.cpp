// Writes seed inputs for the fuzz harnesses, one file per input: <DIR>/<harness>/sample_<n>.
//   fuzz_seeds DIR checkpoint  the checkpoint harnesses' seeds, from the current checkpoint format
//                              (run by tests/fuzz/run_fuzzers.sh before fuzzing: not committed,
//                              because that format may change)
//   fuzz_seeds DIR all         also the seeds of the other harnesses, whose formats are fixed (JSON
//                              Lines, op body format 1, version vectors): tests/fuzz/corpus/ holds
//                              a copy of their output
// Exit status 1 on an I/O error or a seed that does not decode.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include "checkpoint_fixtures.hpp"
#include "treecrdt/json.hpp"
#include "treecrdt/op_codec.hpp"

namespace {

using namespace treecrdt;
using namespace treecrdt_fuzz;

class seed_writer {
 public:
  explicit seed_writer(std::filesystem::path dir) : dir_(std::move(dir)) {}

  void write(const std::string& harness, std::string_view content) {
    std::filesystem::create_directories(dir_ / harness);
    const auto path = dir_ / harness / ("sample_" + std::to_string(next_[harness]++));
    std::ofstream out(path, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
  }
  [[nodiscard]] std::size_t count() const {
    std::size_t n = 0;
    for (const auto& [h, c] : next_) n += c;
    return n;
  }

 private:
  std::filesystem::path dir_;
  std::map<std::string, std::size_t> next_;
};

void checkpoint_seeds(seed_writer& out) {
  std::size_t i = 0;
  for (const auto& history : sample_histories()) {
    const checkpoint_store s = fold_store(history);
    const std::string blob = encode_checkpoint(s, checkpoint_head, checkpoint_seq);
    checkpoint_store check;
    restore_checkpoint(check, blob, checkpoint_head, checkpoint_seq);
    if (export_canonical(check) != export_canonical(s))
      throw std::runtime_error("sample " + std::to_string(i) + " does not restore to the same tree");
    std::string snap;
    s.snapshot(snap);
    out.write("fuzz_checkpoint", blob);
    out.write("fuzz_checkpoint_body", snap);
    ++i;
  }
  // Delta bodies over the delta harness's base: what the rest of its history changed, in steps.
  const auto ops = delta_history();
  for (const std::size_t more : {std::size_t{1}, std::size_t{5}, std::size_t{12}, ops.size() - delta_base_ops}) {
    checkpoint_store s = delta_base_store();
    const std::uint64_t mark = s.mark_checkpoint();
    for (std::size_t j = delta_base_ops; j < delta_base_ops + more; ++j) apply_op(s, ops[j]);
    std::string delta;
    s.snapshot_since(mark, delta);
    checkpoint_store check = delta_base_store();
    check.restore_delta(delta);
    if (export_canonical(check) != export_canonical(s))
      throw std::runtime_error("a delta seed does not restore to the same tree");
    out.write("fuzz_delta_body", delta);
  }
}

void format_seeds(seed_writer& out) {
  const auto histories = sample_histories();
  // One op of each kind and shape: JSON lines, bodies, key + body.
  std::map<std::string, op<checkpoint_key>> shapes;
  for (const auto& history : histories)
    for (const auto& o : history) {
      const std::string shape = std::string(to_string(o.kind)) + (o.payload ? "+payload" : "") +
                                (o.known_state ? "+known" : "") + (o.order_key.size() > 1 ? "+long" : "");
      shapes.try_emplace(shape, o);
    }
  for (const auto& [shape, o] : shapes) {
    out.write("fuzz_json_op", json::encode_op(o));
    out.write("fuzz_op_body", encode_op_body(o));
    std::string keyed;
    detail::binary_writer w(keyed);
    encode_key(w, o.key);
    keyed += encode_op_body(o);
    out.write("fuzz_op_body", keyed);
    if (o.known_state) {
      out.write("fuzz_json_op", json::encode_version_vector(*o.known_state));
      std::string vv;
      detail::binary_writer vw(vv);
      encode_version_vector(vw, *o.known_state);
      encode_version_vector(vw, version_vector<bytes>{});
      out.write("fuzz_version_vector", vv);
    }
  }
  // A whole log as JSON Lines, and the export of every sample.
  std::string log;
  for (const auto& o : histories.back()) log += json::encode_op(o) + "\n";
  out.write("fuzz_json_op", log);
  for (const auto& history : histories)
    out.write("fuzz_json_export", json::encode_export(export_canonical(fold_store(history))));
  // Version vectors with gaps, next to each other and near the top of the counter space.
  version_vector<bytes> a;
  a.add_range(bytes("a"), 1, 5);
  a.add_range(bytes("a"), 9, 12);
  a.observe(bytes("a"), 40);
  a.observe(bytes("bb"), 3);
  version_vector<bytes> b;
  b.add_range(bytes("a"), 4, 10);
  b.add_range(bytes("c"), 1, ~std::uint64_t{0} - 1);
  b.observe(bytes("d"), ~std::uint64_t{0});
  std::string pair;
  detail::binary_writer pw(pair);
  encode_version_vector(pw, a);
  encode_version_vector(pw, b);
  out.write("fuzz_version_vector", pair);
  // The op-sequence harness reads its input as a program: a few pseudo-random ones.
  std::uint64_t x = 0x2545f4914f6cdd1dULL;
  for (std::size_t n : {16u, 64u, 200u, 400u}) {
    std::string program;
    for (std::size_t i = 0; i < n; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      program.push_back(static_cast<char>(x >> 24));
    }
    out.write("fuzz_op_sequence", program);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc == 3 ? argv[2] : "";
  if (mode != "checkpoint" && mode != "all") {
    std::cerr << "usage: " << argv[0] << " DIR checkpoint|all\n";
    return 2;
  }
  try {
    seed_writer out{std::filesystem::path(argv[1])};
    checkpoint_seeds(out);
    if (mode == "all") format_seeds(out);
    std::cout << "fuzz seeds: " << out.count() << " files in " << argv[1] << "\n";
  } catch (const std::exception& e) {
    std::cerr << "fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
