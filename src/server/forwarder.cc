// Forwarding's queue and worker threads; the exchange itself is http::Client's.
#include "server/forwarder.h"

#include <cctype>
#include <chrono>

#include "api/errors.h"
#include "common/json.h"
#include "common/time.h"
#include "http/client.h"

namespace cairn::server {

namespace {

bool hop_by_hop(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
      "upgrade", "content-length", "host", "expect"};
  for (auto n : kNames) {
    if (name == n) return true;
  }
  return false;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// An answer of the node forwarded to that says it is not the leader: it applied nothing.
bool not_leader_answer(const http::Response& res) {
  if (res.status != 503) return false;
  const Json body = Json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  return body.is_object() && body.contains("code") && body["code"].is_number_integer() &&
         body["code"].get<int64_t>() == static_cast<int64_t>(api::Errc::kNotLeader);
}

void pause_ms(int64_t ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

Forwarder::Forwarder(int threads, int64_t timeout_ms)
    : Forwarder(threads, ForwardTiming{timeout_ms, 0, 0, 0}, nullptr) {}

Forwarder::Forwarder(int threads, ForwardTiming timing, Leader leader)
    : client_(std::make_unique<http::Client>(timing.timeout_ms, timing.connect_timeout_ms)),
      timing_(timing),
      leader_(std::move(leader)) {
  for (int i = 0; i < std::max(1, threads); ++i) workers_.emplace_back([this] { run(); });
}

Result<Ok, std::string> Forwarder::use_tls(const std::string& ca_file, const std::string& cert,
                                          const std::string& key) {
  auto tls = client_->use_tls(ca_file, cert, key);
  if (!tls.ok()) return Unexpected{"forwarding over HTTPS: " + tls.error()};
  return Ok{};
}

Forwarder::~Forwarder() {
  std::deque<Job> left;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    left.swap(queue_);
    cv_.notify_all();
  }
  for (auto& job : left) job.done(std::nullopt, "the node is stopping", false, "");
  for (auto& t : workers_) t.join();
}

void Forwarder::forward(const http::Request& req, std::string http_address,
                        std::vector<std::pair<std::string, std::string>> extra_headers,
                        Done done) {
  enqueue(req, std::move(http_address), std::move(extra_headers),
          [done = std::move(done)](std::optional<http::Response> res, std::string error, bool sent,
                                   const std::string&) { done(std::move(res), std::move(error), sent); });
}

void Forwarder::forward_to_leader(const http::Request& req,
                                  std::vector<std::pair<std::string, std::string>> extra_headers,
                                  LeaderDone done) {
  if (!leader_) return done(std::nullopt, "forwarding to the leader is not set up", false, "");
  enqueue(req, "", std::move(extra_headers), std::move(done));
}

void Forwarder::enqueue(const http::Request& req, std::string address,
                        std::vector<std::pair<std::string, std::string>> extra_headers,
                        LeaderDone done) {
  Job job;
  job.address = std::move(address);
  job.method = req.method;
  job.target = req.target;
  job.body = req.body;
  for (const auto& [name, value] : req.headers) {
    // Request id and trace context come from extra_headers: the caller's would make the
    // leader's span a sibling of ours instead of its child.
    if (hop_by_hop(name) || name == "x-request-id" || name == "traceparent" ||
        name == "x-trace-id") {
      continue;
    }
    job.headers.emplace_back(name, value);
  }
  for (auto& h : extra_headers) job.headers.push_back(std::move(h));
  job.done = std::move(done);
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  job.done(std::nullopt, "the node is stopping", false, "");
}

void Forwarder::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    execute(job);
  }
}

void Forwarder::execute_fixed(Job& job) {
  http::ClientRequest request;
  request.method = std::move(job.method);
  request.target = std::move(job.target);
  request.headers = std::move(job.headers);
  request.body = std::move(job.body);
  http::ClientResult answer = client_->send(job.address, std::move(request));
  if (!answer.response) return job.done(std::nullopt, answer.error, answer.sent, job.address);
  finish(job, std::move(*answer.response));
}

void Forwarder::execute(Job& job) {
  if (!job.address.empty()) return execute_fixed(job);
  const int64_t deadline = monotonic_ms() + timing_.timeout_ms;
  const bool idempotent = job.method == "GET" || job.method == "HEAD";
  std::string error = "no leader is known";
  std::string tried;
  LeaderTarget previous;  // the leader of the last attempt that was not sent
  for (int attempt = 0;; ++attempt) {
    // The leader to send to: wait (bounded) while none is known.
    LeaderTarget target = leader_();
    const int64_t wait_until = std::min(deadline, monotonic_ms() + timing_.leader_wait_ms);
    while ((target.id == 0 || target.http.empty()) && monotonic_ms() < wait_until) {
      pause_ms(20);
      target = leader_();
    }
    if (target.id == 0 || target.http.empty()) {
      return job.done(std::nullopt,
                      target.id == 0 ? error
                                     : "the leader (node " + std::to_string(target.id) +
                                           ") has no HTTP address known here",
                      false, tried);
    }
    if (attempt > 0) {
      if (target.same(previous)) pause_ms(timing_.retry_pause_ms);  // same leader: not at once
      if (monotonic_ms() >= deadline) return job.done(std::nullopt, error, false, tried);
      ++resent_;
    }
    tried = target.http;
    http::ClientRequest request;
    request.method = job.method;
    request.target = job.target;
    request.headers = job.headers;
    request.body = job.body;
    http::ClientResult answer = client_->send(target.http, std::move(request), [&] {
      return !leader_().same(target) || monotonic_ms() >= deadline;
    });
    if (answer.response && not_leader_answer(*answer.response) && monotonic_ms() < deadline) {
      // Refused unapplied by a node that is not (or no longer) the leader: try the one known now.
      error = "node " + std::to_string(target.id) + " is no longer the leader";
      previous = target;
      continue;
    }
    if (answer.response) return finish(job, std::move(*answer.response));
    if (answer.cancelled) {
      ++abandoned_;
      error = "the leader changed while the request was with node " + std::to_string(target.id) +
              " at " + target.http;
    } else {
      error = answer.error;
    }
    if (answer.sent && !idempotent) return job.done(std::nullopt, error, true, tried);
    if (monotonic_ms() >= deadline) return job.done(std::nullopt, error, answer.sent, tried);
    previous = target;
  }
}

void Forwarder::finish(Job& job, http::Response res) {
  // The leader's answer goes back as ours, without what concerns its own connection.
  std::erase_if(res.headers, [](const auto& header) {
    const std::string name = lower(header.first);
    return hop_by_hop(name) || name == "server" || name == "date";
  });
  job.done(std::move(res), {}, true, {});
}

}  // namespace cairn::server
