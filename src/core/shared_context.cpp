// SPDX-License-Identifier: Apache-2.0
// SharedSegment: the shared-memory layout behind SharedContext.
// See docs/format/shared_segment.md for the layout and the recovery rules,
// and docs/design.md ("Consistent cuts") for why read() and swap() are
// linearizable while writers stay wait-free.
#include "atomik/shared_context.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "atomik/fan_in_cell.hpp"

namespace atomik::detail {
namespace {

// Written to shared memory; never change. "ATMKSHM1" read as little-endian.
constexpr std::uint64_t kMagic = 0x314D48534B4D5441ULL;
// Layout version. 1 (single-slot cells, owner by pid) is retired: it cannot
// give consistent cuts, so this code refuses it.
constexpr std::uint32_t kVersion = 2;
constexpr std::size_t kMaxWriters = 4096;
// Cell flag: the owner's writers skip the fence and rely on the closer's
// MEMBARRIER_CMD_GLOBAL_EXPEDITED (informational; closers always issue it
// when the kernel has it).
constexpr std::uint32_t kFlagMembarrier = 1;

struct alignas(64) CellRec {
  std::atomic<std::uint32_t> busy;  // 1 while the owner is mid-accum
  std::uint32_t reserved_busy;
  std::atomic<std::uint32_t> flags;
  std::uint32_t reserved0;
  std::atomic<std::int32_t> owner;  // pid of the last claimant (diagnostic)
  std::uint32_t reserved1;
  std::atomic<std::uint64_t> value[2];  // per epoch parity
  std::atomic<std::uint64_t> count[2];
};
static_assert(sizeof(CellRec) == 64);
static_assert(offsetof(CellRec, owner) == 16);
static_assert(offsetof(CellRec, value) == 24);
static_assert(offsetof(CellRec, count) == 40);

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

// Locks a robust process-shared mutex; a dead holder's lock is taken over.
// Returns the pthread error code (0 on success).
int lock_robust(pthread_mutex_t* mu) noexcept {
  const int rc = pthread_mutex_lock(mu);
  if (rc == EOWNERDEAD) {
    // The holder died; everything it guards is committed by single stores
    // (see the format doc), so the state is consistent as it stands.
    pthread_mutex_consistent(mu);
    return 0;
  }
  return rc;
}

// An open-file-description lock on byte `i` of the segment: the cell
// ownership token. F_OFD_* locks belong to the open file description, so
// they conflict between handles of one process too, and the kernel drops
// them when the last descriptor closes (process death included).
int ofd_lock(int fd, std::uint32_t i, short type, int cmd, struct flock* fl) {
  *fl = {};
  fl->l_type = type;
  fl->l_whence = SEEK_SET;
  fl->l_start = static_cast<off_t>(i);
  fl->l_len = 1;
  return ::fcntl(fd, cmd, fl);
}

// One committed copy of the control state; `active` selects one.
struct Copy {
  std::uint64_t reference;
  std::uint64_t pending_value;  // epochs folded since the last swap/load
  std::uint64_t pending_count;
  std::uint64_t folded;      // every epoch below this number is folded in
  std::uint64_t swaps;       // swaps committed
  std::uint64_t last_state;  // what the last swap returned
  std::uint64_t base_shared_value[2];  // per parity
  std::uint64_t base_shared_count[2];
};

struct Layout {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint8_t word_bits;
  std::uint8_t group_id;
  std::uint16_t reserved;
  std::uint32_t max_writers;
  std::uint32_t header_size;
  std::uint64_t segment_size;
  std::atomic<std::uint32_t> ready;  // 0 while the creator initialises, then 1
  alignas(64) pthread_mutex_t mu;    // process-shared, robust: control plane
  alignas(64) pthread_mutex_t fallback_mu;  // robust: the fallback cell
  // Read by every accum; stored only by closers, under mu.
  alignas(64) std::atomic<std::uint64_t> epoch;
  alignas(64) std::atomic<std::uint32_t> active;  // which copy is in force
  Copy copy[2];
  alignas(64) std::atomic<std::uint64_t> shared_value[2];  // fallback cell
  std::atomic<std::uint64_t> shared_count[2];

  CellRec* cells() {
    return reinterpret_cast<CellRec*>(reinterpret_cast<char*>(this) +
                                      header_size);
  }
  // Baselines of committed copy k for parity p, max_writers entries. The
  // two parities of one copy are adjacent.
  BaseRec* bases(std::uint32_t k, std::uint32_t p) {
    char* after_cells =
        reinterpret_cast<char*>(cells()) + sizeof(CellRec) * max_writers;
    return reinterpret_cast<BaseRec*>(after_cells) +
           (static_cast<std::size_t>(k) * 2 + p) * max_writers;
  }
  static std::size_t header_bytes() { return round_up(sizeof(Layout), 64); }
  static std::size_t size_for(std::size_t writers) {
    return header_bytes() + writers * sizeof(CellRec) +
           4 * writers * sizeof(BaseRec);
  }
};

}  // namespace

// Everything a handle holds, behind the public SharedSegment.
struct SharedSegment::Impl {
  Impl() = default;
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  enum class Close { kRead, kSwap, kLoad };
  Status lock() const;
  void unlock() const;
  Status claim_cell();
  bool cell_owned_by_other(std::uint32_t i) const noexcept;
  std::uint64_t combine(std::uint64_t a, std::uint64_t b) const noexcept;
  std::uint64_t inverse(std::uint64_t a) const noexcept;
  // After the epoch advanced: fences, then waits until no writer is still in
  // an older epoch (a dead owner counts as finished). Lock held.
  void drain() const;
  // Adds parity p's slots (against the baselines in `next`) to `next`.
  void fold(std::uint32_t p, Copy& next) const;
  // Closes the current epoch and commits; returns the state at the close.
  // Lock held.
  Result<std::uint64_t> close_epoch(Close what,
                                    std::optional<std::uint64_t> value);

  std::string name_;
  int fd_ = -1;
  void* base_ = nullptr;
  std::size_t size_ = 0;
  Layout* layout_ = nullptr;
  long cell_ = -1;
  pid_t owner_pid_ = 0;  // the process that claimed cell_
  bool fenced_ = true;   // this process's writers use seq_cst
  std::uint64_t mask_ = 0;
  std::uint8_t group_id_ = 0;
};

SharedSegment::SharedSegment(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
SharedSegment::~SharedSegment() = default;
bool SharedSegment::has_own_cell() const noexcept { return impl_->cell_ >= 0; }

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

  // ftruncate zeroed the object; `ready` is stored last, with release, and
  // open() accepts nothing before it reads 1: an opener never sees (and the
  // creator never overwrites) a half-initialised segment.
  auto* l = new (base) Layout{};
  l->magic = kMagic;
  l->version = kVersion;
  l->word_bits = static_cast<std::uint8_t>(bits);
  l->group_id = group_id;
  l->max_writers = static_cast<std::uint32_t>(options.max_writers);
  l->header_size = static_cast<std::uint32_t>(Layout::header_bytes());
  l->segment_size = size;
  for (pthread_mutex_t* mu : {&l->mu, &l->fallback_mu}) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(mu, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  const std::uint64_t mask = bits >= 64 ? ~0ULL : ((1ULL << bits) - 1);
  l->copy[0].reference = l->copy[1].reference = initial_state & mask;
  for (std::size_t i = 0; i < options.max_writers; ++i) {
    new (&l->cells()[i]) CellRec{};
  }
  std::memset(static_cast<void*>(l->bases(0, 0)), 0,
              4 * options.max_writers * sizeof(BaseRec));
  l->ready.store(1, std::memory_order_release);

  auto seg = std::make_unique<Impl>();
  seg->name_ = sname;
  seg->fd_ = fd;
  seg->base_ = base;
  seg->size_ = size;
  seg->layout_ = l;
  seg->mask_ = mask;
  seg->group_id_ = group_id;
  ATOMIK_RETURN_IF_ERROR(seg->claim_cell());
  return std::unique_ptr<SharedSegment>(new SharedSegment(std::move(seg)));
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
  auto seg = std::make_unique<Impl>();
  seg->name_ = sname;
  seg->fd_ = fd;  // closed by ~SharedSegment on every path below
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Status::from_errno("SharedContext::open: fstat '" + sname + "'",
                              errno);
  }
  const auto actual = static_cast<std::size_t>(st.st_size);
  auto being_created = [&] {
    return Status::unavailable(
        "SharedContext::open",
        "segment '" + sname +
            "' is still being created; retry (if its creator died, unlink "
            "it)");
  };
  if (actual == 0) return being_created();
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
  const bool ready = l->ready.load(std::memory_order_acquire) == 1;
  if (l->magic != kMagic && l->magic != 0) {
    return Status::corruption(
        "SharedContext::open",
        "segment '" + sname + "' is not an atomik context (bad magic)");
  }
  if (!ready) return being_created();
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
  if (l->header_size != Layout::header_bytes()) {
    return Status::corruption("SharedContext::open",
                              "segment '" + sname + "' has header_size " +
                                  std::to_string(l->header_size) +
                                  ", layout version " +
                                  std::to_string(kVersion) + " has " +
                                  std::to_string(Layout::header_bytes()));
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
  ATOMIK_RETURN_IF_ERROR(seg->claim_cell());
  return std::unique_ptr<SharedSegment>(new SharedSegment(std::move(seg)));
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

SharedSegment::Impl::~Impl() {
  // Only the process that claimed the cell releases it: a forked child
  // destroying an inherited handle shares the parent's open file
  // description, and unlocking would free the parent's live cell.
  if (layout_ != nullptr && cell_ >= 0 && ::getpid() == owner_pid_) {
    const auto i = static_cast<std::uint32_t>(cell_);
    layout_->cells()[i].owner.store(0, std::memory_order_relaxed);
    struct flock fl {};
    (void)ofd_lock(fd_, i, F_UNLCK, F_OFD_SETLK, &fl);
  }
  if (base_ != nullptr) ::munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
}

Status SharedSegment::Impl::claim_cell() {
  fenced_ = !global_membarrier_ready();
  CellRec* cells = layout_->cells();
  const std::uint32_t n = layout_->max_writers;
  for (std::uint32_t i = 0; i < n; ++i) {
    struct flock fl {};
    if (ofd_lock(fd_, i, F_WRLCK, F_OFD_SETLK, &fl) != 0) {
      if (errno == EAGAIN || errno == EACCES) continue;  // owned
      return Status::from_errno("SharedContext: lock cell " +
                                    std::to_string(i) + " of segment '" +
                                    name_ + "'",
                                errno);
    }
    // Free, or its owner is gone. A previous owner killed mid-accum left
    // busy set: end that accum (its delta is stored or not, atomically).
    CellRec& c = cells[i];
    if (c.busy.load(std::memory_order_acquire) != 0) {
      c.busy.store(0, std::memory_order_release);
    }
    owner_pid_ = ::getpid();
    c.owner.store(static_cast<std::int32_t>(owner_pid_),
                  std::memory_order_relaxed);
    c.flags.store(fenced_ ? 0 : kFlagMembarrier, std::memory_order_relaxed);
    cell_ = static_cast<long>(i);
    return Status();
  }
  cell_ = -1;  // every cell owned: the fallback cell
  return Status();
}

bool SharedSegment::Impl::cell_owned_by_other(std::uint32_t i) const noexcept {
  struct flock fl {};
  if (ofd_lock(fd_, i, F_WRLCK, F_OFD_GETLK, &fl) != 0) {
    return true;  // cannot tell: keep waiting rather than misread a cell
  }
  return fl.l_type != F_UNLCK;
}

std::uint64_t SharedSegment::Impl::combine(std::uint64_t a,
                                           std::uint64_t b) const noexcept {
  return (group_id_ == AddGroup::kId ? a + b : a ^ b) & mask_;
}
std::uint64_t SharedSegment::Impl::inverse(std::uint64_t a) const noexcept {
  return (group_id_ == AddGroup::kId ? (0 - a) : a) & mask_;
}

void SharedSegment::accum_shared(std::uint64_t delta) noexcept {
  Layout& l = *impl_->layout_;
  const int rc = lock_robust(&l.fallback_mu);
  if (rc != 0) {
    // Only on a corrupted mutex; a delta must never vanish silently.
    std::fprintf(stderr,
                 "atomik: SharedContext '%s': fallback lock failed (%d); "
                 "stopping rather than dropping a delta\n",
                 impl_->name_.c_str(), rc);
    std::abort();
  }
  // Under the mutex: a closer takes it after advancing the epoch, so this
  // epoch is either closed after us or already advanced before we read it.
  const std::size_t p = l.epoch.load(std::memory_order_acquire) & 1U;
  l.shared_value[p].store(
      impl_->combine(l.shared_value[p].load(std::memory_order_relaxed), delta),
      std::memory_order_relaxed);
  l.shared_count[p].store(l.shared_count[p].load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
  pthread_mutex_unlock(&l.fallback_mu);
}

Status SharedSegment::Impl::lock() const {
  const int rc = lock_robust(&layout_->mu);
  if (rc != 0) {
    return Status::from_errno("SharedContext: lock segment '" + name_ + "'",
                              rc);
  }
  return Status();
}

void SharedSegment::Impl::unlock() const { pthread_mutex_unlock(&layout_->mu); }

void SharedSegment::Impl::drain() const {
  Layout& l = *layout_;
  // Every writer's announcement made before the epoch advanced is now
  // visible, and every later accum reads the new epoch.
  global_asymmetric_fence();
  CellRec* cells = l.cells();
  for (std::uint32_t i = 0; i < l.max_writers; ++i) {
    if (cells[i].busy.load(std::memory_order_seq_cst) == 0) continue;
    // Mid-accum: wait until busy is clear (that accum ended; any later one
    // reads the new epoch); if the owner died meanwhile (its cell lock is
    // gone), its delta is stored or not, and final.
    for (unsigned k = 1; cells[i].busy.load(std::memory_order_acquire) != 0;
         ++k) {
      if (k % 64 == 0 && !cell_owned_by_other(i)) break;
      ::sched_yield();
    }
  }
  // Fallback writers hold fallback_mu from their epoch load to their store.
  if (lock_robust(&l.fallback_mu) == 0) pthread_mutex_unlock(&l.fallback_mu);
}

void SharedSegment::Impl::fold(std::uint32_t p, Copy& next) const {
  Layout& l = *layout_;
  const auto b = static_cast<std::uint32_t>(&next - &l.copy[0]);
  BaseRec* base = l.bases(b, p);
  CellRec* cells = l.cells();
  std::uint64_t acc = 0;
  std::uint64_t n = 0;
  for (std::uint32_t i = 0; i < l.max_writers; ++i) {
    const std::uint64_t v = cells[i].value[p].load(std::memory_order_acquire);
    const std::uint64_t k = cells[i].count[p].load(std::memory_order_acquire);
    acc = combine(acc, combine(v, inverse(base[i].value)));
    n += k - base[i].count;
    base[i] = {v, k};
  }
  const std::uint64_t sv = l.shared_value[p].load(std::memory_order_acquire);
  const std::uint64_t sn = l.shared_count[p].load(std::memory_order_acquire);
  acc = combine(acc, combine(sv, inverse(next.base_shared_value[p])));
  n += sn - next.base_shared_count[p];
  next.base_shared_value[p] = sv;
  next.base_shared_count[p] = sn;
  next.pending_value = combine(next.pending_value, acc);
  next.pending_count += n;
}

Result<std::uint64_t> SharedSegment::Impl::close_epoch(
    Close what, std::optional<std::uint64_t> value) {
  Layout& l = *layout_;
  // Starts a new copy from the one in force; commit() makes it current with
  // one store, so a closer killed before that leaves the old copy intact.
  auto begin = [&]() -> Copy& {
    const std::uint32_t a = l.active.load(std::memory_order_acquire) & 1U;
    const std::uint32_t b = a ^ 1U;
    l.copy[b] = l.copy[a];
    std::memcpy(static_cast<void*>(l.bases(b, 0)), l.bases(a, 0),
                2 * sizeof(BaseRec) * l.max_writers);
    return l.copy[b];
  };
  auto commit = [&](const Copy& next) {
    l.active.store(static_cast<std::uint32_t>(&next - &l.copy[0]),
                   std::memory_order_release);
  };
  std::uint64_t e = l.epoch.load(std::memory_order_seq_cst);
  const std::uint64_t folded = l.copy[l.active.load() & 1U].folded;
  if (e == folded + 1) {
    // A closer died after advancing the epoch and before committing: fold
    // that epoch first, in its own commit, so the epoch never runs more
    // than one ahead of the folded count.
    Copy& next = begin();
    drain();
    fold(static_cast<std::uint32_t>(folded & 1U), next);
    next.folded = e;
    commit(next);
  } else if (e != folded) {
    return Status::corruption("SharedContext: segment '" + name_ + "'",
                              "epoch " + std::to_string(e) +
                                  " but epochs folded " +
                                  std::to_string(folded));
  }
  Copy& next = begin();
  const auto p = static_cast<std::uint32_t>(e & 1U);
  l.epoch.store(e + 1, std::memory_order_seq_cst);  // the linearization point
  drain();
  fold(p, next);
  next.folded = e + 1;
  const std::uint64_t state = combine(next.reference, next.pending_value);
  if (what == Close::kSwap) {
    next.swaps += 1;
    next.last_state = state;
    next.reference = value.value_or(state) & mask_;
  } else if (what == Close::kLoad) {
    next.reference = value.value_or(0) & mask_;
  }
  if (what != Close::kRead) {
    next.pending_value = 0;
    next.pending_count = 0;
  }
  commit(next);
  return state;
}

Result<std::uint64_t> SharedSegment::read() const {
  ATOMIK_RETURN_IF_ERROR(impl_->lock());
  auto r = impl_->close_epoch(Impl::Close::kRead, {});
  impl_->unlock();
  return r;
}

Result<std::uint64_t> SharedSegment::swap(
    std::optional<std::uint64_t> new_reference) {
  ATOMIK_RETURN_IF_ERROR(impl_->lock());
  auto r = impl_->close_epoch(Impl::Close::kSwap, new_reference);
  impl_->unlock();
  return r;
}

Status SharedSegment::load(std::uint64_t value) {
  ATOMIK_RETURN_IF_ERROR(impl_->lock());
  auto r = impl_->close_epoch(Impl::Close::kLoad, value);
  impl_->unlock();
  return r.status();
}

Result<std::uint64_t> SharedSegment::reference() const {
  ATOMIK_RETURN_IF_ERROR(impl_->lock());
  const std::uint64_t r =
      impl_->layout_->copy[impl_->layout_->active.load() & 1U].reference;
  impl_->unlock();
  return r;
}

Result<std::uint64_t> SharedSegment::delta_count() const {
  ATOMIK_RETURN_IF_ERROR(impl_->lock());
  auto r = impl_->close_epoch(Impl::Close::kRead, {});
  const std::uint64_t n =
      impl_->layout_->copy[impl_->layout_->active.load() & 1U].pending_count;
  impl_->unlock();
  if (!r.ok()) return r.status();
  return n;
}

Result<SharedSwapRecord> SharedSegment::last_swap() const {
  ATOMIK_RETURN_IF_ERROR(impl_->lock());
  const Copy& c = impl_->layout_->copy[impl_->layout_->active.load() & 1U];
  const SharedSwapRecord rec{c.swaps, c.last_state};
  impl_->unlock();
  return rec;
}

SharedSegment::CellView SharedSegment::own_cell() const noexcept {
  CellView v;
  if (impl_->cell_ < 0) return v;
  CellRec& c = impl_->layout_->cells()[impl_->cell_];
  v.busy = &c.busy;
  v.value = c.value;
  v.count = c.count;
  v.epoch = &impl_->layout_->epoch;
  v.fenced = impl_->fenced_;
  return v;
}

std::size_t SharedSegment::max_writers() const noexcept {
  return impl_->layout_->max_writers;
}

}  // namespace atomik::detail
