#pragma once
// A test VFS that injects I/O faults: it is layered over the default VFS (every method forwards to
// it, every file it opens gets io_methods that forward to the real file's), and counts the calls that
// touch data — xRead, xWrite, xSync, xTruncate — so that a scenario can be run once per call number
// with exactly that call failing.
//
// Open a database through it with an SQLite URI: sqlite_storage<>::open(fault_vfs::uri(path),
// {.uri = true}). The counters and the plan are process-wide (the VFS is registered once, not as the
// default); tests using it run on one thread.
//
// Plans, armed with arm(plan, n):
//   one_shot    the n-th counted call (any kind) fails once with the kind's extended code:
//               SQLITE_IOERR_READ, SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC, SQLITE_IOERR_TRUNCATE;
//               every other call goes through.
//   disk_full   the n-th xWrite and every later one answer SQLITE_FULL until disarm(); reads,
//               syncs and truncates go through (a full disk, then space freed).
// set_real_syncs(false) makes a sync that is not failed return SQLITE_OK without reaching the disk:
// the faults simulated here are failing calls, not power loss, and skipping fsync keeps a scenario
// that runs hundreds of times fast on any disk.
#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace treecrdt_test {

class fault_vfs {
 public:
  static constexpr const char* name = "treecrdt-fault";

  enum class call : unsigned char { read, write, sync, truncate };
  static constexpr std::array<const char*, 4> call_names{"read", "write", "sync", "truncate"};

  enum class plan : unsigned char { none, one_shot, disk_full };

  /// Registers the VFS (once per process) and returns its controls.
  static fault_vfs& get() {
    static fault_vfs instance;
    return instance;
  }

  /// "file:<path>?vfs=treecrdt-fault". `path` must not need URI escaping (test paths do not).
  [[nodiscard]] static std::string uri(const std::string& path) { return "file:" + path + "?vfs=" + name; }

  /// Zeroes the call counters and the injection counts of the current run, and disarms.
  void reset() {
    calls_ = {};
    total_ = 0;
    writes_ = 0;
    plan_ = plan::none;
    target_ = 0;
    fired_ = 0;
    last_fired_ = call::read;
  }
  void arm(plan p, std::uint64_t target) {
    plan_ = p;
    target_ = target;
  }
  void disarm() { plan_ = plan::none; }
  void set_real_syncs(bool on) { real_syncs_ = on; }

  /// Counted calls since reset(): all kinds, and one kind.
  [[nodiscard]] std::uint64_t total() const noexcept { return total_; }
  [[nodiscard]] std::uint64_t count(call c) const noexcept { return calls_[static_cast<std::size_t>(c)]; }
  /// Calls answered with an injected error since reset(), and the kind of the last one.
  [[nodiscard]] std::uint64_t fired() const noexcept { return fired_; }
  [[nodiscard]] call last_fired() const noexcept { return last_fired_; }

 private:
  // The wrapper's file: our sqlite3_file header, then the real VFS's file in the same allocation.
  struct file {
    sqlite3_file base;
    sqlite3_file* real;
  };
  static_assert(sizeof(file) % alignof(std::max_align_t) == 0, "the real file must stay aligned");

  fault_vfs() {
    real_ = sqlite3_vfs_find(nullptr);
    if (real_ == nullptr) throw std::runtime_error("fault_vfs: SQLite has no default VFS");
    vfs_ = {};
    vfs_.iVersion = real_->iVersion < 3 ? real_->iVersion : 3;
    vfs_.szOsFile = static_cast<int>(sizeof(file)) + real_->szOsFile;
    vfs_.mxPathname = real_->mxPathname;
    vfs_.zName = name;
    vfs_.pAppData = this;
    vfs_.xOpen = &open_file;
    vfs_.xDelete = [](sqlite3_vfs*, const char* n, int sync_dir) { return real()->xDelete(real(), n, sync_dir); };
    vfs_.xAccess = [](sqlite3_vfs*, const char* n, int flags, int* out) {
      return real()->xAccess(real(), n, flags, out);
    };
    vfs_.xFullPathname = [](sqlite3_vfs*, const char* n, int size, char* out) {
      return real()->xFullPathname(real(), n, size, out);
    };
    vfs_.xDlOpen = [](sqlite3_vfs*, const char* n) { return real()->xDlOpen(real(), n); };
    vfs_.xDlError = [](sqlite3_vfs*, int size, char* out) { real()->xDlError(real(), size, out); };
    vfs_.xDlSym = [](sqlite3_vfs*, void* h, const char* sym) { return real()->xDlSym(real(), h, sym); };
    vfs_.xDlClose = [](sqlite3_vfs*, void* h) { real()->xDlClose(real(), h); };
    vfs_.xRandomness = [](sqlite3_vfs*, int size, char* out) { return real()->xRandomness(real(), size, out); };
    vfs_.xSleep = [](sqlite3_vfs*, int us) { return real()->xSleep(real(), us); };
    vfs_.xCurrentTime = [](sqlite3_vfs*, double* out) { return real()->xCurrentTime(real(), out); };
    vfs_.xGetLastError = [](sqlite3_vfs*, int size, char* out) { return real()->xGetLastError(real(), size, out); };
    if (vfs_.iVersion >= 2)
      vfs_.xCurrentTimeInt64 = [](sqlite3_vfs*, sqlite3_int64* out) { return real()->xCurrentTimeInt64(real(), out); };
    if (vfs_.iVersion >= 3) {
      vfs_.xSetSystemCall = [](sqlite3_vfs*, const char* n, sqlite3_syscall_ptr p) {
        return real()->xSetSystemCall(real(), n, p);
      };
      vfs_.xGetSystemCall = [](sqlite3_vfs*, const char* n) { return real()->xGetSystemCall(real(), n); };
      vfs_.xNextSystemCall = [](sqlite3_vfs*, const char* n) { return real()->xNextSystemCall(real(), n); };
    }
    for (int v = 1; v <= 3; ++v) methods_[v - 1] = make_methods(v);
    const int rc = sqlite3_vfs_register(&vfs_, 0);
    if (rc != SQLITE_OK)
      throw std::runtime_error(std::string("fault_vfs: sqlite3_vfs_register: ") + sqlite3_errstr(rc));
  }

  static sqlite3_vfs* real() { return get().real_; }
  static sqlite3_file* inner(sqlite3_file* f) { return reinterpret_cast<file*>(f)->real; }

  // Counts one call and says whether it must fail (0: go through; else the code to answer).
  int decide(call c) {
    ++calls_[static_cast<std::size_t>(c)];
    ++total_;
    if (c == call::write) ++writes_;
    int code = SQLITE_OK;
    if (plan_ == plan::one_shot && total_ == target_) {
      static constexpr std::array<int, 4> codes{SQLITE_IOERR_READ, SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC,
                                                SQLITE_IOERR_TRUNCATE};
      code = codes[static_cast<std::size_t>(c)];
    } else if (plan_ == plan::disk_full && c == call::write && writes_ >= target_) {
      code = SQLITE_FULL;
    }
    if (code != SQLITE_OK) {
      ++fired_;
      last_fired_ = c;
    }
    return code;
  }

  static int open_file(sqlite3_vfs*, const char* n, sqlite3_file* f, int flags, int* out_flags) {
    auto* w = reinterpret_cast<file*>(f);
    w->real = reinterpret_cast<sqlite3_file*>(w + 1);
    w->real->pMethods = nullptr;
    const int rc = real()->xOpen(real(), n, w->real, flags, out_flags);
    // SQLite calls xClose exactly when pMethods is set, so mirror the real file's.
    w->base.pMethods = w->real->pMethods == nullptr ? nullptr : &get().methods_for(w->real->pMethods->iVersion);
    return rc;
  }

  const sqlite3_io_methods& methods_for(int version) const {
    return methods_[static_cast<std::size_t>(version < 1 ? 1 : version > 3 ? 3 : version) - 1];
  }

  static sqlite3_io_methods make_methods(int version) {
    sqlite3_io_methods m{};
    m.iVersion = version;
    m.xClose = [](sqlite3_file* f) {
      sqlite3_file* r = inner(f);
      const int rc = r->pMethods->xClose(r);
      f->pMethods = nullptr;
      return rc;
    };
    m.xRead = [](sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
      if (const int rc = get().decide(call::read)) return rc;
      return inner(f)->pMethods->xRead(inner(f), buf, amount, offset);
    };
    m.xWrite = [](sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
      if (const int rc = get().decide(call::write)) return rc;
      return inner(f)->pMethods->xWrite(inner(f), buf, amount, offset);
    };
    m.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
      if (const int rc = get().decide(call::truncate)) return rc;
      return inner(f)->pMethods->xTruncate(inner(f), size);
    };
    m.xSync = [](sqlite3_file* f, int flags) {
      if (const int rc = get().decide(call::sync)) return rc;
      return get().real_syncs_ ? inner(f)->pMethods->xSync(inner(f), flags) : SQLITE_OK;
    };
    m.xFileSize = [](sqlite3_file* f, sqlite3_int64* out) { return inner(f)->pMethods->xFileSize(inner(f), out); };
    m.xLock = [](sqlite3_file* f, int level) { return inner(f)->pMethods->xLock(inner(f), level); };
    m.xUnlock = [](sqlite3_file* f, int level) { return inner(f)->pMethods->xUnlock(inner(f), level); };
    m.xCheckReservedLock = [](sqlite3_file* f, int* out) {
      return inner(f)->pMethods->xCheckReservedLock(inner(f), out);
    };
    m.xFileControl = [](sqlite3_file* f, int op, void* arg) {
      return inner(f)->pMethods->xFileControl(inner(f), op, arg);
    };
    m.xSectorSize = [](sqlite3_file* f) { return inner(f)->pMethods->xSectorSize(inner(f)); };
    m.xDeviceCharacteristics = [](sqlite3_file* f) { return inner(f)->pMethods->xDeviceCharacteristics(inner(f)); };
    if (version >= 2) {
      m.xShmMap = [](sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
        return inner(f)->pMethods->xShmMap(inner(f), page, page_size, extend, out);
      };
      m.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
        return inner(f)->pMethods->xShmLock(inner(f), offset, n, flags);
      };
      m.xShmBarrier = [](sqlite3_file* f) { inner(f)->pMethods->xShmBarrier(inner(f)); };
      m.xShmUnmap = [](sqlite3_file* f, int delete_flag) {
        return inner(f)->pMethods->xShmUnmap(inner(f), delete_flag);
      };
    }
    if (version >= 3) {
      // No memory-mapped pages: every page read goes through xRead, where it is counted.
      m.xFetch = [](sqlite3_file*, sqlite3_int64, int, void** out) {
        *out = nullptr;
        return SQLITE_OK;
      };
      m.xUnfetch = [](sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; };
    }
    return m;
  }

  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
  std::array<sqlite3_io_methods, 3> methods_{};
  std::array<std::uint64_t, 4> calls_{};
  std::uint64_t total_ = 0;
  std::uint64_t writes_ = 0;
  plan plan_ = plan::none;
  std::uint64_t target_ = 0;
  std::uint64_t fired_ = 0;
  call last_fired_ = call::read;
  bool real_syncs_ = true;
};

}  // namespace treecrdt_test
