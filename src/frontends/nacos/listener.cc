// The long-polling listener (POST /nacos/v1/cs/configs/listener): the client says which
// configs it holds and their MD5s; the answer names the ones whose MD5 differs, at once when
// some does, else when one changes during the hold, else empty at the end of it. The hold is a
// poll of core::WatchHub per namespace named, so a change made through any node or protocol
// answers it.

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>

#include "common/time.h"
#include "frontends/nacos/frontend.h"

namespace cairn::nacos {

namespace {

constexpr std::string_view kText = "text/plain;charset=UTF-8";

/// One entry of the request and where it lives in Cairn (nullopt: a name Cairn cannot hold, so
/// a config that never exists).
struct Watched {
  ListenEntry entry;
  std::optional<Address> at;
};

http::Response changed_response(const std::vector<ListenEntry>& changed) {
  http::Response res;
  res.content_type = kText;
  if (changed.empty()) return res;  // nothing changed: an empty body
  res.headers = {{"Pragma", "no-cache"},
                 {"Expires", "Thu, 01 Jan 1970 00:00:00 GMT"},
                 {"Cache-Control", "no-cache,no-store"}};
  res.body = encode_changed(changed) + "\n";  // Nacos writes it with println
  return res;
}

/// A held listener: one hub poll per namespace named, answered once (a change whose MD5
/// differs, the end of the hold, the hub's shutdown) or dropped when the client hangs up.
/// Shared by the polls' callbacks and the request's cancellation; `done` makes it answer once.
class Hold : public std::enable_shared_from_this<Hold> {
 public:
  /// The entries whose MD5 differs now: all, or those in one namespace (the one that changed).
  using Check = std::function<std::vector<ListenEntry>(const std::string* ns)>;

  Hold(core::WatchHub& hub, http::RequestPtr req, http::Reply reply,
       std::map<std::string, core::WatchFilter> by_ns, int64_t hold_ms, Check check)
      : hub_(hub),
        req_(std::move(req)),
        reply_(std::move(reply)),
        by_ns_(std::move(by_ns)),
        deadline_ms_(monotonic_ms() + hold_ms),
        check_(std::move(check)) {}

  void start(uint64_t revision) {
    std::weak_ptr<Hold> weak = shared_from_this();
    req_->cancellation->on_cancel([weak] {
      if (auto self = weak.lock()) self->finish({}, /*answer=*/false);
    });
    for (const auto& [ns, filter] : by_ns_) arm(ns, revision);
  }

 private:
  void arm(const std::string& ns, uint64_t revision) {
    const int64_t remaining = deadline_ms_ - monotonic_ms();
    if (remaining <= 0) return finish({}, true);
    uint64_t seq = 0;
    {
      std::lock_guard lock(mu_);
      if (done_) return;
      seq = next_seq_++;
      live_[seq] = 0;
    }
    auto self = shared_from_this();
    const uint64_t id =
        hub_.poll(ns, revision, by_ns_.at(ns), remaining,
                  [self, seq, ns](const core::WatchAnswer& a) { self->answered(seq, ns, a); });
    bool cancel = false;
    {
      std::lock_guard lock(mu_);
      if (auto it = live_.find(seq); it != live_.end()) it->second = id;
      cancel = done_ && id != 0;  // finished while the poll was being placed
    }
    if (cancel) hub_.cancel(id);
  }

  void answered(uint64_t seq, const std::string& ns, const core::WatchAnswer& a) {
    {
      std::lock_guard lock(mu_);
      live_.erase(seq);
      if (done_) return;
    }
    auto changed = check_(&ns);
    if (!changed.empty()) return finish(changed, true);
    if (!a.changed && !a.reset) return finish({}, true);  // the hold ended (or the hub stopped)
    arm(ns, a.revision);  // a change that left every MD5 as the client has it
  }

  void finish(const std::vector<ListenEntry>& changed, bool answer) {
    std::vector<uint64_t> ids;
    {
      std::lock_guard lock(mu_);
      if (done_) return;
      done_ = true;
      for (const auto& [seq, id] : live_) {
        if (id) ids.push_back(id);
      }
      live_.clear();
    }
    for (uint64_t id : ids) hub_.cancel(id);
    req_->cancellation->clear();
    if (answer) reply_(changed_response(changed));
  }

  core::WatchHub& hub_;
  const http::RequestPtr req_;
  const http::Reply reply_;
  const std::map<std::string, core::WatchFilter> by_ns_;
  const int64_t deadline_ms_;
  const Check check_;

  std::mutex mu_;
  bool done_ = false;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, uint64_t> live_;  // poll sequence number → hub id (0 while being placed)
};

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

void Frontend::listen(const http::RequestPtr& req, const http::Reply& reply) {
  auto invalid = [&](std::string why) {
    reply(failure_response(*req, Wire::kV1, Failure{400, 20002, std::move(why)}));
  };
  auto params = request_params(*req);
  if (!params) return invalid("invalid probeModify");
  auto probe = param(*params, "Listening-Configs");
  if (!probe || blank(*probe)) return invalid("invalid probeModify");
  // Nacos decodes the field once more after the form did (a no-op for valid names).
  auto decoded = url_decode(*probe);
  if (!decoded) return invalid("invalid probeModify");
  auto entries = parse_listening_configs(*decoded);
  if (!entries) return invalid("invalid probeModify");

  auto watched = std::make_shared<std::vector<Watched>>();
  std::map<std::string, core::WatchFilter> by_ns;
  for (auto& e : *entries) {
    auto mapped = map_address(e.data_id, e.group, e.tenant);
    if (mapped.address) {
      // Every namespace listened to must be readable: 403 for the whole request otherwise.
      if (auto denied = req->caller.check(mapped.address->ns, api::Permission::kRead)) {
        return reply(failure_response(*req, Wire::kV1, failure_of(*denied)));
      }
      by_ns[mapped.address->ns].keys.push_back(mapped.address->key);
    }
    watched->push_back(Watched{std::move(e), std::move(mapped.address)});
  }
  for (auto& [ns, filter] : by_ns) {
    std::sort(filter.keys.begin(), filter.keys.end());
    filter.keys.erase(std::unique(filter.keys.begin(), filter.keys.end()), filter.keys.end());
  }

  const std::string* timeout = req->header("long-pulling-timeout");
  int64_t hold = 0;
  if (timeout) {
    auto ms = parse_long(*timeout);
    if (!ms) return invalid("For input string: \"" + *timeout + "\"");
    hold = hold_ms(*ms, watch_ ? watch_->options().max_timeout_ms : 0);
  }
  const std::string* no_hangup = req->header("long-pulling-no-hangup");

  // The revision first, then the MD5s: a change after this revision is in the hub's backlog.
  const uint64_t revision = watch_ ? watch_->revision() : 0;
  const api::Principal caller = req->caller;
  Hold::Check check = [this, watched, caller](const std::string* ns) {
    std::vector<ListenEntry> changed;
    for (const auto& w : *watched) {
      if (ns && (!w.at || w.at->ns != *ns)) continue;
      std::string md5;  // "" is what a client holding nothing sends
      if (w.at) {
        if (auto content = current_content(caller, *w.at)) md5 = md5_hex(*content);
      }
      if (md5 != w.entry.md5) changed.push_back(w.entry);
    }
    return changed;
  };
  auto changed = check(nullptr);
  // Without Long-Pulling-Timeout the client polls (answered now); with
  // Long-Pulling-No-Hangup: true it wants only what differs already.
  const bool now =
      !timeout || (no_hangup && equals_ignore_case(*no_hangup, "true")) || !watch_ || hold <= 0;
  if (!changed.empty() || now) return reply(changed_response(changed));
  // Only names Cairn cannot hold, all absent as the client says: held all the same, as Nacos
  // holds it, on a poll of "" (never a namespace).
  if (by_ns.empty()) by_ns.emplace("", core::WatchFilter{});
  auto held = std::make_shared<Hold>(*watch_, req, reply, std::move(by_ns), hold, std::move(check));
  held->start(revision);
}

}  // namespace cairn::nacos
