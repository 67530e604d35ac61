#pragma once
// A double-ended queue in one power-of-two array, for the undo journal: it pushes at the back,
// drops its oldest entries at the front and undoes at the back. Unlike std::deque it allocates only
// when it grows (to twice its capacity), never per block of entries, and dropping the oldest entry
// does not touch it: the slot is move-assigned over when the ring comes round to it, so the old
// entry's memory is released then, at a slot the push writes anyway, instead of being read back
// cold at the drop. Slots outside the live range hold such stale entries until they are reused or
// the ring is cleared; there are never more than its capacity, at most twice the most it held.
#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace treecrdt::detail {

/// T: default-constructible and move-assignable.
template <class T>
class ring {
 public:
  ring() = default;
  ring(const ring&) = default;
  ring& operator=(const ring&) = default;
  /// A moved-from ring is empty and usable (its counts go with the slots).
  ring(ring&& other) noexcept
      : slots_(std::move(other.slots_)), first_(std::exchange(other.first_, 0)), size_(std::exchange(other.size_, 0)) {}
  ring& operator=(ring&& other) noexcept {
    slots_ = std::move(other.slots_);
    other.slots_.clear();
    first_ = std::exchange(other.first_, 0);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  ~ring() = default;

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  /// The i-th live entry, 0 being the oldest.
  [[nodiscard]] T& operator[](std::size_t i) noexcept { return slots_[(first_ + i) & mask()]; }
  [[nodiscard]] const T& operator[](std::size_t i) const noexcept { return slots_[(first_ + i) & mask()]; }
  [[nodiscard]] T& front() noexcept { return (*this)[0]; }
  [[nodiscard]] const T& front() const noexcept { return (*this)[0]; }
  [[nodiscard]] T& back() noexcept { return (*this)[size_ - 1]; }
  [[nodiscard]] const T& back() const noexcept { return (*this)[size_ - 1]; }

  void push_back(T value) {
    if (size_ == slots_.size()) grow();
    (*this)[size_] = std::move(value);
    ++size_;
  }
  /// Drops the oldest entry; its slot keeps it (stale) until reused. Requires: !empty().
  void pop_front() noexcept {
    first_ = (first_ + 1) & mask();
    --size_;
  }
  /// Removes the newest entry and returns it. Requires: !empty().
  T take_back() {
    --size_;
    return std::move((*this)[size_]);
  }
  /// Empties the ring and releases every entry, stale ones included.
  void clear() noexcept {
    std::vector<T>().swap(slots_);
    first_ = size_ = 0;
  }

 private:
  [[nodiscard]] std::size_t mask() const noexcept { return slots_.size() - 1; }
  void grow() {
    std::vector<T> bigger(std::max<std::size_t>(16, 2 * slots_.size()));
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
    slots_.swap(bigger);
    first_ = 0;
  }

  std::vector<T> slots_;  // capacity: 0 or a power of two
  std::size_t first_ = 0;
  std::size_t size_ = 0;
};

}  // namespace treecrdt::detail
