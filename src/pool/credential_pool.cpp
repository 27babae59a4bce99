#include "pool/credential_pool.h"

#include <algorithm>
#include <utility>

#include "core/sha256.h"

// Slot lifecycle (fetched pools): free -> live (on_fetched) -> dead or retired -> free again
// once no lease holds it (inflight == 0). Retired means age >= max_age_ms; it is derived from
// `created` and `now`, so an early retirement moves `created` back. Static slots never free.
//
// Helpers below take `Slot` by deduction (`auto`): the type is private to CredentialPool.

namespace zproxy {
namespace {

// A fetched credential counts as missing this long before it retires, so that its replacement
// arrives in time: the last 10 % of its max age, at most 60 s.
constexpr int64_t kMaxReplaceLeadMs = 60000;
constexpr int kMaxBackoffDoublings = 62;
constexpr uint32_t kFirstGeneration = 1;  // a default Lease{} never matches a credential
// Fingerprint prefix: U+2026 HORIZONTAL ELLIPSIS in UTF-8.
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";

struct AgeRule {
  int64_t max_age_ms = 0;  // 0: never ages (static pools always)

  bool ages() const { return max_age_ms > 0; }
  int64_t retire_at(int64_t created) const { return created + max_age_ms; }
  int64_t replace_at(int64_t created) const {
    return retire_at(created) - std::min(max_age_ms / 10, kMaxReplaceLeadMs);
  }
  bool retired(int64_t created, int64_t now) const { return ages() && now >= retire_at(created); }
  bool replacing(int64_t created, int64_t now) const {
    return ages() && now >= replace_at(created);
  }
};

int64_t cooling_until(const auto& slot) {
  return std::max(slot.cooldown_until, slot.shared_cool_until);
}

// Ordered: from kCooling on, a slot holds a credential that is or will become usable.
enum class SlotState : uint8_t { kFree, kDead, kRetired, kCooling, kReady };

SlotState state_of(const auto& slot, AgeRule rule, int64_t now) {
  if (!slot.live) return SlotState::kFree;
  if (slot.dead || now < slot.shared_dead_until) return SlotState::kDead;
  if (rule.retired(slot.created, now)) return SlotState::kRetired;
  if (now < cooling_until(slot)) return SlotState::kCooling;
  return SlotState::kReady;
}

// The slot a lease refers to, or null when the lease is stale.
auto* held(auto& slots, Lease lease) {
  auto* slot = lease.slot < slots.size() ? &slots[lease.slot] : nullptr;
  return slot != nullptr && slot->live && slot->generation == lease.generation ? slot : nullptr;
}

bool avoided(std::span<const Lease> avoid, uint32_t slot, uint32_t generation) {
  return std::any_of(avoid.begin(), avoid.end(),
                     [&](const Lease& l) { return l.slot == slot && l.generation == generation; });
}

// Frees a fetched slot that is dead or retired once no lease holds it.
void free_if_spent(auto& slot, bool fetched, AgeRule rule, int64_t now) {
  if (!fetched || !slot.live || slot.inflight > 0) return;
  if (!slot.dead && !rule.retired(slot.created, now)) return;
  slot.live = false;
  slot.dead = false;
  slot.secret.clear();
}

// Fetched credentials to obtain: target minus live, healthy-or-cooling credentials outside
// their replacement window, minus fetches in flight.
size_t missing(const auto& slots, AgeRule rule, size_t target, size_t fetching, int64_t now) {
  size_t have = fetching;
  for (const auto& s : slots) {
    if (s.live && !s.dead && !rule.replacing(s.created, now)) ++have;
  }
  return have >= target ? 0 : target - have;
}

// backoff_min · 2^(failures − 1), capped at backoff_max.
int64_t backoff_delay(const PoolSettings& settings, int failures) {
  int64_t delay = settings.backoff_min_ms;
  for (int i = 1; i < failures && i <= kMaxBackoffDoublings && delay < settings.backoff_max_ms;
       ++i) {
    delay *= 2;
  }
  return std::min(delay, settings.backoff_max_ms);
}

// While more credentials live than the target, the oldest one already in its replacement
// window retires (its replacement has arrived).
void retire_surplus(auto& slots, AgeRule rule, size_t target, int64_t now) {
  size_t present = 0;
  for (const auto& s : slots) {
    if (state_of(s, rule, now) >= SlotState::kCooling) ++present;
  }
  while (present > target) {
    size_t oldest = slots.size();
    for (size_t i = 0; i < slots.size(); ++i) {
      const auto& s = slots[i];
      if (state_of(s, rule, now) < SlotState::kCooling || !rule.replacing(s.created, now)) continue;
      if (oldest == slots.size() || s.created < slots[oldest].created) oldest = i;
    }
    if (oldest == slots.size()) return;
    slots[oldest].created = now - rule.max_age_ms;
    free_if_spent(slots[oldest], true, rule, now);
    --present;
  }
}

}  // namespace

CredentialPool::CredentialPool(PoolSettings settings, std::vector<std::string> static_secrets)
    : settings_(settings) {
  slots_.reserve(static_secrets.size());
  for (std::string& secret : static_secrets) {
    Slot slot;
    slot.cid = credential_cid(secret);
    slot.secret = std::move(secret);
    slot.generation = kFirstGeneration;
    slot.live = true;
    slots_.push_back(std::move(slot));
  }
}

CredentialPool::CredentialPool(PoolSettings settings) : fetched_(true), settings_(settings) {}

Acquire CredentialPool::acquire(int64_t now, std::span<const Lease> avoid) {
  const AgeRule rule{fetched_ ? settings_.max_age_ms : 0};
  const uint32_t cap = settings_.max_inflight;
  size_t best = slots_.size();
  std::pair<bool, int64_t> best_key;  // (avoided, last_used): smaller is better
  bool capped = false;
  int64_t cooldown_end = kNever;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    free_if_spent(s, fetched_, rule, now);
    const SlotState state = state_of(s, rule, now);
    if (state == SlotState::kCooling) cooldown_end = std::min(cooldown_end, cooling_until(s));
    if (state != SlotState::kReady) continue;
    if (cap != 0 && s.inflight >= cap) {
      capped = true;
      continue;
    }
    const std::pair<bool, int64_t> key{avoided(avoid, uint32_t(i), s.generation), s.last_used};
    if (best == slots_.size() || key < best_key) {
      best = i;
      best_key = key;
    }
  }
  if (best != slots_.size()) {
    Slot& s = slots_[best];
    s.last_used = now;
    ++s.inflight;
    return {AcquireStatus::kLeased, Lease{uint32_t(best), s.generation}, kNever};
  }
  if (capped) return {AcquireStatus::kWaitCapacity, {}, kNever};
  if (cooldown_end != kNever) return {AcquireStatus::kWaitCooldown, {}, cooldown_end};
  if (fetched_ &&
      (fetching_ > 0 || missing(slots_, rule, settings_.target_size, fetching_, now) > 0)) {
    return {AcquireStatus::kWaitFetch, {}, now < backoff_until_ ? backoff_until_ : kNever};
  }
  return {AcquireStatus::kNone, {}, kNever};
}

std::string_view CredentialPool::secret(Lease lease) const {
  const Slot* slot = held(slots_, lease);
  return slot != nullptr ? std::string_view(slot->secret) : std::string_view();
}

std::string CredentialPool::fingerprint(Lease lease) const {
  const std::string_view s = secret(lease);
  if (s.empty()) return {};
  const size_t shown = std::min<size_t>(4, s.size() / 2);
  std::string out(kEllipsis);
  out.append(s.substr(s.size() - shown));
  return out;
}

std::string CredentialPool::cid(Lease lease) const {
  const Slot* slot = held(slots_, lease);
  return slot != nullptr ? slot->cid : std::string();
}

void CredentialPool::apply_shared_health(std::span<const SharedMark> marks, int64_t now) {
  for (Slot& s : slots_) {
    if (s.cid.empty()) continue;
    s.shared_dead_until = 0;
    s.shared_cool_until = 0;
    for (const SharedMark& m : marks) {
      if (m.cid != s.cid || m.until <= now) continue;
      (m.dead ? s.shared_dead_until : s.shared_cool_until) = m.until;
    }
  }
  ++version_;
}

bool CredentialPool::clear_marks(std::string_view cid) {
  bool found = false;
  for (Slot& s : slots_) {
    if (s.cid.empty() || s.cid != cid) continue;
    found = true;
    s.dead = false;
    s.cooldown_until = 0;
    s.shared_dead_until = 0;
    s.shared_cool_until = 0;
  }
  if (found) ++version_;
  return found;
}

std::vector<SharedMark> CredentialPool::local_marks(int64_t now) const {
  std::vector<SharedMark> out;
  for (const Slot& s : slots_) {
    if (s.cid.empty() || !s.live) continue;
    if (s.dead) {
      out.push_back({s.cid, true, kNever});
    } else if (s.cooldown_until > now) {
      out.push_back({s.cid, false, s.cooldown_until});
    }
  }
  return out;
}

void CredentialPool::release_ok(Lease lease, int64_t now) {
  Slot* slot = held(slots_, lease);
  if (slot == nullptr || slot->inflight == 0) return;  // stale, or released twice
  --slot->inflight;
  free_if_spent(*slot, fetched_, AgeRule{fetched_ ? settings_.max_age_ms : 0}, now);
  ++version_;
}

void CredentialPool::release_failed(Lease lease, Verdict verdict, int64_t now,
                                    int64_t cooldown_until) {
  Slot* slot = held(slots_, lease);
  if (slot == nullptr || slot->inflight == 0) return;  // stale, or released twice
  --slot->inflight;
  if (verdict == Verdict::kDead) {
    slot->dead = true;
  } else if (verdict == Verdict::kCooldown) {
    const int64_t until = cooldown_until != 0 ? cooldown_until : now + settings_.busy_cooldown_ms;
    slot->cooldown_until = std::max(slot->cooldown_until, until);
  }
  free_if_spent(*slot, fetched_, AgeRule{fetched_ ? settings_.max_age_ms : 0}, now);
  ++version_;
}

size_t CredentialPool::start_fetches(int64_t now) {
  if (!fetched_ || now < backoff_until_) return 0;
  const AgeRule rule{settings_.max_age_ms};
  for (Slot& s : slots_) free_if_spent(s, fetched_, rule, now);
  size_t count = missing(slots_, rule, settings_.target_size, fetching_, now);
  // max_parallel_fetches == 0 means no cap, like max_inflight.
  const size_t parallel = settings_.max_parallel_fetches;
  if (parallel != 0) count = std::min(count, parallel > fetching_ ? parallel - fetching_ : 0);
  fetching_ += count;
  return count;
}

void CredentialPool::on_fetched(int64_t now, std::string_view secret_or_empty) {
  if (!fetched_) return;
  if (fetching_ > 0) --fetching_;
  ++version_;
  if (secret_or_empty.empty()) {
    if (fetch_failures_ <= kMaxBackoffDoublings) ++fetch_failures_;
    backoff_until_ = now + backoff_delay(settings_, fetch_failures_);
    return;
  }
  fetch_failures_ = 0;
  backoff_until_ = 0;
  const AgeRule rule{settings_.max_age_ms};
  size_t index = 0;
  for (; index < slots_.size(); ++index) {
    free_if_spent(slots_[index], fetched_, rule, now);
    if (!slots_[index].live) break;
  }
  if (index == slots_.size()) slots_.emplace_back();
  Slot& slot = slots_[index];
  const uint32_t generation = slot.generation + 1;
  slot = Slot{};
  slot.secret.assign(secret_or_empty);
  slot.generation = generation != 0 ? generation : kFirstGeneration;
  slot.live = true;
  slot.created = now;
  retire_surplus(slots_, rule, settings_.target_size, now);
}

bool CredentialPool::wants_fetch(int64_t now) const {
  if (!fetched_ || now < backoff_until_) return false;
  const size_t parallel = settings_.max_parallel_fetches;
  if (parallel != 0 && fetching_ >= parallel) return false;
  return missing(slots_, AgeRule{settings_.max_age_ms}, settings_.target_size, fetching_, now) > 0;
}

int64_t CredentialPool::next_deadline(int64_t now) const {
  const AgeRule rule{fetched_ ? settings_.max_age_ms : 0};
  int64_t next = kNever;
  for (const Slot& s : slots_) {
    if (state_of(s, rule, now) < SlotState::kCooling) continue;
    if (cooling_until(s) > now) next = std::min(next, cooling_until(s));
    if (s.shared_dead_until > now) next = std::min(next, s.shared_dead_until);
    if (!rule.ages()) continue;
    if (rule.replace_at(s.created) > now) next = std::min(next, rule.replace_at(s.created));
    next = std::min(next, rule.retire_at(s.created));
  }
  if (fetched_ && backoff_until_ > now &&
      missing(slots_, rule, settings_.target_size, fetching_, now) > 0) {
    next = std::min(next, backoff_until_);
  }
  return next;
}

PoolCounts CredentialPool::counts(int64_t now) const {
  const AgeRule rule{fetched_ ? settings_.max_age_ms : 0};
  PoolCounts out;
  for (const Slot& s : slots_) {
    switch (state_of(s, rule, now)) {
      case SlotState::kReady: ++out.healthy; break;
      case SlotState::kCooling: ++out.cooling; break;
      case SlotState::kDead: ++out.dead; break;
      case SlotState::kRetired:
      case SlotState::kFree: break;
    }
  }
  out.fetching = fetching_;
  return out;
}

std::string credential_cid(std::string_view secret) {
  std::string text = "zproxy-credential:";
  text.append(secret);
  const std::array<uint8_t, 32> d = sha256(text);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 8; ++i) {
    out += kHex[d[i] >> 4];
    out += kHex[d[i] & 15];
  }
  return out;
}

}  // namespace zproxy
