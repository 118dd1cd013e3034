// SharedSegment: the shared-memory layout behind SharedContext.
// See docs/format/shared_segment.md for the layout and the recovery rules.
#include "atomik/shared_context.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <new>
#include <string>

namespace atomik::detail {
namespace {

// Written to shared memory; never change. "ATMKSHM1" read as little-endian.
constexpr std::uint64_t kMagic = 0x314D48534B4D5441ULL;
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kMaxWriters = 4096;

struct alignas(64) CellRec {
  std::atomic<std::uint64_t> value;
  std::atomic<std::uint64_t> count;
  std::atomic<std::int32_t> owner;  // pid of the owning process, 0 = free
};
static_assert(sizeof(CellRec) == 64);

struct BaseRec {
  std::uint64_t value;
  std::uint64_t count;
};

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

Status check_name(std::string_view name) {
  if (name.size() < 2 || name.size() > 255 || name[0] != '/' ||
      name.find('/', 1) != std::string_view::npos) {
    return Status::invalid_argument(
        "SharedContext",
        "segment name '" + std::string(name) +
            "' must be '/' followed by 1 to 254 characters without '/'");
  }
  return Status();
}

}  // namespace

struct SharedSegment::Layout {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint8_t word_bits;
  std::uint8_t group_id;
  std::uint16_t reserved;
  std::uint32_t max_writers;
  std::uint32_t header_size;
  std::uint64_t segment_size;
  std::atomic<std::uint32_t> ready;  // 0 while the creator initialises, then 1
  alignas(64) pthread_mutex_t mu;  // process-shared, robust: control plane only
  alignas(
      64) std::atomic<std::uint32_t> active;  // which baseline copy is in force
  std::uint64_t reference[2];
  std::uint64_t base_shared_value[2];
  std::uint64_t base_shared_count[2];
  alignas(64)
      std::atomic<std::uint64_t> shared_value;  // fallback cell, many writers
  std::atomic<std::uint64_t> shared_count;

  CellRec* cells() {
    return reinterpret_cast<CellRec*>(reinterpret_cast<char*>(this) +
                                      header_size);
  }
  // Baseline copy k (0 or 1), max_writers entries.
  BaseRec* bases(std::uint32_t k) {
    char* after_cells =
        reinterpret_cast<char*>(cells()) + sizeof(CellRec) * max_writers;
    return reinterpret_cast<BaseRec*>(after_cells) +
           static_cast<std::size_t>(k) * max_writers;
  }
  static std::size_t size_for(std::size_t writers) {
    return round_up(sizeof(Layout), 64) + writers * sizeof(CellRec) +
           2 * writers * sizeof(BaseRec);
  }
};

Result<std::unique_ptr<SharedSegment>> SharedSegment::create(
    std::string_view name, unsigned bits, std::uint8_t group_id,
    std::uint64_t initial_state, const SharedContextOptions& options) {
  ATOMIK_RETURN_IF_ERROR(check_name(name));
  if (options.max_writers == 0 || options.max_writers > kMaxWriters) {
    return Status::invalid_argument(
        "SharedContext::create",
        "max_writers " + std::to_string(options.max_writers) + " outside 1.." +
            std::to_string(kMaxWriters));
  }
  const std::string sname(name);
  const int fd = ::shm_open(sname.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status::failed_precondition(
          "SharedContext::create",
          "segment '" + sname +
              "' already exists (open it, or unlink it first)");
    }
    return Status::from_errno("SharedContext::create: shm_open '" + sname + "'",
                              errno);
  }
  const std::size_t size = Layout::size_for(options.max_writers);
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::shm_unlink(sname.c_str());
    return Status::from_errno(
        "SharedContext::create: " + std::string(what) + " '" + sname + "'",
        err);
  };
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return fail("ftruncate");
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return fail("mmap");

  auto* l = new (base) Layout{};
  l->magic = kMagic;
  l->version = kVersion;
  l->word_bits = static_cast<std::uint8_t>(bits);
  l->group_id = group_id;
  l->max_writers = static_cast<std::uint32_t>(options.max_writers);
  l->header_size = static_cast<std::uint32_t>(round_up(sizeof(Layout), 64));
  l->segment_size = size;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&l->mu, &attr);
  pthread_mutexattr_destroy(&attr);
  const std::uint64_t mask = bits >= 64 ? ~0ULL : ((1ULL << bits) - 1);
  l->reference[0] = l->reference[1] = initial_state & mask;
  for (std::size_t i = 0; i < options.max_writers; ++i) {
    new (&l->cells()[i]) CellRec{};
  }
  std::memset(static_cast<void*>(l->bases(0)), 0,
              2 * options.max_writers * sizeof(BaseRec));
  l->ready.store(1, std::memory_order_release);

  std::unique_ptr<SharedSegment> seg(new SharedSegment());
  seg->name_ = sname;
  seg->fd_ = fd;
  seg->base_ = base;
  seg->size_ = size;
  seg->layout_ = l;
  seg->mask_ = mask;
  seg->group_id_ = group_id;
  seg->claim_cell();
  return seg;
}

Result<std::unique_ptr<SharedSegment>> SharedSegment::open(
    std::string_view name, unsigned bits, std::uint8_t group_id) {
  ATOMIK_RETURN_IF_ERROR(check_name(name));
  const std::string sname(name);
  const int fd = ::shm_open(sname.c_str(), O_RDWR, 0600);
  if (fd < 0) {
    return Status::from_errno("SharedContext::open: segment '" + sname + "'",
                              errno);
  }
  std::unique_ptr<SharedSegment> seg(new SharedSegment());
  seg->name_ = sname;
  seg->fd_ = fd;  // closed by ~SharedSegment on every path below
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Status::from_errno("SharedContext::open: fstat '" + sname + "'",
                              errno);
  }
  const auto actual = static_cast<std::size_t>(st.st_size);
  if (actual == 0) {
    return Status::unavailable(
        "SharedContext::open",
        "segment '" + sname + "' is still being created; retry");
  }
  if (actual < sizeof(Layout)) {
    return Status::corruption(
        "SharedContext::open",
        "segment '" + sname + "' too small: " + std::to_string(actual) +
            " bytes, a header needs " + std::to_string(sizeof(Layout)));
  }
  void* base =
      ::mmap(nullptr, actual, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    return Status::from_errno("SharedContext::open: mmap '" + sname + "'",
                              errno);
  }
  seg->base_ = base;
  seg->size_ = actual;
  auto* l = static_cast<Layout*>(base);
  if (l->ready.load(std::memory_order_acquire) != 1) {
    if (l->magic == 0) {
      return Status::unavailable(
          "SharedContext::open",
          "segment '" + sname + "' is still being created; retry");
    }
  }
  if (l->magic != kMagic) {
    return Status::corruption(
        "SharedContext::open",
        "segment '" + sname + "' is not an atomik context (bad magic)");
  }
  if (l->version != kVersion) {
    return Status::unimplemented("SharedContext::open",
                                 "segment '" + sname + "' has layout version " +
                                     std::to_string(l->version) +
                                     ", this build reads " +
                                     std::to_string(kVersion));
  }
  if (l->word_bits != bits || l->group_id != group_id) {
    auto group_name = [](std::uint8_t g) {
      return g == XorGroup::kId   ? std::string("xor")
             : g == AddGroup::kId ? std::string("add")
                                  : "group " + std::to_string(g);
    };
    return Status::invalid_argument(
        "SharedContext::open",
        "segment '" + sname + "' holds " + std::to_string(l->word_bits) +
            "-bit " + group_name(l->group_id) + " words, expected " +
            std::to_string(bits) + "-bit " + group_name(group_id));
  }
  if (l->max_writers == 0 || l->max_writers > kMaxWriters ||
      l->segment_size != Layout::size_for(l->max_writers) ||
      actual < l->segment_size) {
    return Status::corruption(
        "SharedContext::open",
        "segment '" + sname + "' too small: " + std::to_string(actual) +
            " bytes, its header needs " + std::to_string(l->segment_size));
  }
  seg->layout_ = l;
  seg->mask_ = bits >= 64 ? ~0ULL : ((1ULL << bits) - 1);
  seg->group_id_ = group_id;
  seg->claim_cell();
  return seg;
}

Status SharedSegment::unlink(std::string_view name) {
  ATOMIK_RETURN_IF_ERROR(check_name(name));
  const std::string sname(name);
  if (::shm_unlink(sname.c_str()) != 0) {
    return Status::from_errno("SharedContext::unlink: segment '" + sname + "'",
                              errno);
  }
  return Status();
}

SharedSegment::~SharedSegment() {
  if (layout_ != nullptr && cell_ >= 0) {
    layout_->cells()[cell_].owner.store(0, std::memory_order_release);
  }
  if (base_ != nullptr) ::munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
}

void SharedSegment::claim_cell() {
  const auto me = static_cast<std::int32_t>(::getpid());
  CellRec* cells = layout_->cells();
  const std::uint32_t n = layout_->max_writers;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::int32_t expected = 0;
    if (cells[i].owner.compare_exchange_strong(expected, me,
                                               std::memory_order_acquire)) {
      cell_ = static_cast<long>(i);
      return;
    }
  }
  // All taken: adopt a cell whose owner process is gone. Its value stays in
  // the sum; we continue from it.
  for (std::uint32_t i = 0; i < n; ++i) {
    std::int32_t owner = cells[i].owner.load(std::memory_order_acquire);
    if (owner > 0 && owner != me && ::kill(owner, 0) != 0 && errno == ESRCH &&
        cells[i].owner.compare_exchange_strong(owner, me,
                                               std::memory_order_acquire)) {
      cell_ = static_cast<long>(i);
      return;
    }
  }
  cell_ = -1;
}

std::uint64_t SharedSegment::combine(std::uint64_t a,
                                     std::uint64_t b) const noexcept {
  return (group_id_ == AddGroup::kId ? a + b : a ^ b) & mask_;
}
std::uint64_t SharedSegment::inverse(std::uint64_t a) const noexcept {
  return (group_id_ == AddGroup::kId ? (0 - a) : a) & mask_;
}

void SharedSegment::accum(std::uint64_t delta) noexcept {
  if (cell_ >= 0) [[likely]] {
    CellRec& c = layout_->cells()[cell_];
    c.value.store(combine(c.value.load(std::memory_order_relaxed), delta),
                  std::memory_order_release);
    c.count.store(c.count.load(std::memory_order_relaxed) + 1,
                  std::memory_order_release);
    return;
  }
  std::uint64_t old = layout_->shared_value.load(std::memory_order_relaxed);
  while (!layout_->shared_value.compare_exchange_weak(
      old, combine(old, delta), std::memory_order_release,
      std::memory_order_relaxed)) {
  }
  layout_->shared_count.fetch_add(1, std::memory_order_release);
}

Status SharedSegment::lock() const {
  const int rc = pthread_mutex_lock(&layout_->mu);
  if (rc == EOWNERDEAD) {
    // A process died holding the lock. The double-buffered baselines mean the
    // active copy is complete, so the state is consistent as it stands.
    pthread_mutex_consistent(&layout_->mu);
    return Status();
  }
  if (rc != 0) {
    return Status::from_errno("SharedContext: lock segment '" + name_ + "'",
                              rc);
  }
  return Status();
}

void SharedSegment::unlock() const { pthread_mutex_unlock(&layout_->mu); }

std::uint64_t SharedSegment::epoch_delta(
    bool advance, std::optional<std::uint64_t> new_reference,
    bool use_state_as_reference) {
  Layout& l = *layout_;
  const std::uint32_t a = l.active.load(std::memory_order_acquire) & 1U;
  const std::uint32_t b = a ^ 1U;
  BaseRec* cur = l.bases(a);
  BaseRec* next = l.bases(b);
  CellRec* cells = l.cells();
  std::uint64_t acc = 0;
  for (std::uint32_t i = 0; i < l.max_writers; ++i) {
    const std::uint64_t v = cells[i].value.load(std::memory_order_acquire);
    acc = combine(acc, combine(v, inverse(cur[i].value)));
    if (advance) next[i] = {v, cells[i].count.load(std::memory_order_acquire)};
  }
  const std::uint64_t sv = l.shared_value.load(std::memory_order_acquire);
  acc = combine(acc, combine(sv, inverse(l.base_shared_value[a])));
  if (advance) {
    const std::uint64_t state = combine(l.reference[a], acc);
    l.base_shared_value[b] = sv;
    l.base_shared_count[b] = l.shared_count.load(std::memory_order_acquire);
    l.reference[b] =
        use_state_as_reference ? state : (new_reference.value_or(0) & mask_);
    l.active.store(b, std::memory_order_release);  // the commit point
  }
  return acc;
}

Result<std::uint64_t> SharedSegment::read() const {
  ATOMIK_RETURN_IF_ERROR(lock());
  auto* self = const_cast<SharedSegment*>(this);
  const std::uint32_t a = layout_->active.load(std::memory_order_acquire) & 1U;
  const std::uint64_t state =
      combine(layout_->reference[a], self->epoch_delta(false, {}, false));
  unlock();
  return state;
}

Result<std::uint64_t> SharedSegment::swap(
    std::optional<std::uint64_t> new_reference) {
  ATOMIK_RETURN_IF_ERROR(lock());
  const std::uint32_t a = layout_->active.load(std::memory_order_acquire) & 1U;
  const std::uint64_t ref = layout_->reference[a];
  const std::uint64_t acc =
      epoch_delta(true, new_reference, !new_reference.has_value());
  unlock();
  return combine(ref, acc);
}

Status SharedSegment::load(std::uint64_t value) {
  ATOMIK_RETURN_IF_ERROR(lock());
  (void)epoch_delta(true, value, false);
  unlock();
  return Status();
}

Result<std::uint64_t> SharedSegment::reference() const {
  ATOMIK_RETURN_IF_ERROR(lock());
  const std::uint64_t r = layout_->reference[layout_->active.load() & 1U];
  unlock();
  return r;
}

Result<std::uint64_t> SharedSegment::delta_count() const {
  ATOMIK_RETURN_IF_ERROR(lock());
  Layout& l = *layout_;
  const std::uint32_t a = l.active.load(std::memory_order_acquire) & 1U;
  std::uint64_t n =
      l.shared_count.load(std::memory_order_acquire) - l.base_shared_count[a];
  for (std::uint32_t i = 0; i < l.max_writers; ++i) {
    n += l.cells()[i].count.load(std::memory_order_acquire) -
         l.bases(a)[i].count;
  }
  unlock();
  return n;
}

std::atomic<std::uint64_t>* SharedSegment::own_value() const noexcept {
  return cell_ >= 0 ? &layout_->cells()[cell_].value : nullptr;
}
std::atomic<std::uint64_t>* SharedSegment::own_count() const noexcept {
  return cell_ >= 0 ? &layout_->cells()[cell_].count : nullptr;
}

std::size_t SharedSegment::max_writers() const noexcept {
  return layout_->max_writers;
}

}  // namespace atomik::detail
