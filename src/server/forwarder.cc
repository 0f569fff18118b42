// Forwarding's queue and worker threads; the exchange itself is http::Client's.
#include "server/forwarder.h"

#include <cctype>

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

}  // namespace

Forwarder::Forwarder(int threads, int64_t timeout_ms)
    : client_(std::make_unique<http::Client>(timeout_ms)) {
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
  for (auto& job : left) job.done(std::nullopt, "the node is stopping", false);
  for (auto& t : workers_) t.join();
}

void Forwarder::forward(const http::Request& req, std::string http_address,
                        std::vector<std::pair<std::string, std::string>> extra_headers,
                        Done done) {
  Job job;
  job.address = std::move(http_address);
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
  job.done(std::nullopt, "the node is stopping", false);
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

void Forwarder::execute(Job& job) {
  http::ClientRequest request;
  request.method = std::move(job.method);
  request.target = std::move(job.target);
  request.headers = std::move(job.headers);
  request.body = std::move(job.body);
  http::ClientResult answer = client_->send(job.address, std::move(request));
  if (!answer.response) return job.done(std::nullopt, answer.error, answer.sent);

  // The leader's answer goes back as ours, without what concerns its own connection.
  http::Response& res = *answer.response;
  std::erase_if(res.headers, [](const auto& header) {
    const std::string name = lower(header.first);
    return hop_by_hop(name) || name == "server" || name == "date";
  });
  job.done(std::move(res), {}, true);
}

}  // namespace cairn::server
