/* Fan-out watch client for bench/fanout.py (issue 21 §4): holds N watches on one server with one
 * epoll loop and records, per watch, the wall-clock time at which its notification arrived.
 *
 *   fanout_client MODE HOST PORT N SRC_IPS TIMEOUT_S REQUEST_FILE
 *
 * MODE     poll  Cairn long poll: held once the request is written; notified at the first byte
 *                of the answer (the server sends nothing before it), checked for "changed":true
 *          sse   Cairn watch/stream: held at the stream's headers; notified at "event: change"
 *          etcd  etcd grpc-gateway POST /v3/watch stream: held at "created":true; notified at
 *                "events"
 * SRC_IPS  comma-separated source addresses (127.0.0.x), used in turn, so that N connections
 *          need not fit in one address's ephemeral ports (IP_BIND_ADDRESS_NO_PORT)
 * REQUEST_FILE  the bytes to send on every connection (the whole HTTP request)
 *
 * Prints to stdout: "HELD <n>" once every watch is held (or "FAIL <why>"), then, after every
 * watch was answered (or TIMEOUT_S seconds after HELD), one "T <unix seconds>" line per
 * notification and a final "DONE notified=<n> bad=<n> lost=<n> bytes=<n>". A watch answered
 * with anything else than a change (a timeout, an error status, a closed connection) counts as
 * bad (its time is not printed), one never answered as lost.
 *
 * An answered connection is taken out of the epoll set but stays open until the process exits,
 * as a watch client keeps its connection for the next poll: closing 10,000 connections while
 * the rest are still being answered put both sides' TCP teardown inside the fan-out (11 % of a
 * follower's samples in a 10,000-poll fan-out were close()).
 *
 * Plain C, Linux only; built by bench/fanout.py with `cc -O2`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { M_POLL, M_SSE, M_ETCD };
enum { S_CONNECTING, S_SENT, S_HELD, S_DONE };

struct conn {
  int fd;
  int state;
  int ok;           /* answered with a change */
  double t;         /* notification time */
  char *buf;        /* bytes received so far (bounded), for the markers */
  size_t len, cap;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int mode;
static const char *req;
static size_t req_len;
static struct conn *conns;
static int n, held, finished, bad;
static long long total_bytes;

static void append(struct conn *c, const char *p, size_t k) {
  const size_t limit = 1 << 16;
  if (c->len + k > limit) {           /* keep the tail: markers come late in a stream */
    size_t keep = 256 < c->len ? 256 : c->len;
    memmove(c->buf, c->buf + c->len - keep, keep);
    c->len = keep;
    if (k > limit - keep) { p += k - (limit - keep); k = limit - keep; }
  }
  if (c->len + k + 1 > c->cap) {
    size_t cap = c->cap ? c->cap : 1024;
    while (cap < c->len + k + 1) cap *= 2;
    c->buf = realloc(c->buf, cap);
    c->cap = cap;
  }
  memcpy(c->buf + c->len, p, k);
  c->len += k;
  c->buf[c->len] = 0;
}

static int ep = -1;

static void release(struct conn *c, int ok, double t) {
  if (c->state == S_DONE) return;
  if (c->state != S_HELD && c->state != S_SENT) { /* failed before being held */
    fprintf(stdout, "FAIL connection %ld closed before it was held: %.200s\n",
            (long)(c - conns), c->buf ? c->buf : "");
    fflush(stdout);
    exit(1);
  }
  c->state = S_DONE;
  c->ok = ok;
  c->t = t;
  if (!ok) bad++;
  finished++;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); /* closed at exit, after the measurement */
  free(c->buf);
  c->buf = NULL;
  c->len = c->cap = 0;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: %s poll|sse|etcd HOST PORT N SRC_IPS TIMEOUT_S REQUEST_FILE\n",
            argv[0]);
    return 2;
  }
  mode = !strcmp(argv[1], "poll") ? M_POLL : !strcmp(argv[1], "sse") ? M_SSE : M_ETCD;
  const char *host = argv[2];
  int port = atoi(argv[3]);
  n = atoi(argv[4]);
  double timeout_s = atof(argv[6]);
  FILE *f = fopen(argv[7], "rb");
  if (!f) { perror("request file"); return 2; }
  static char reqbuf[1 << 16];
  req_len = fread(reqbuf, 1, sizeof reqbuf, f);
  fclose(f);
  req = reqbuf;

  struct in_addr srcs[64];
  int nsrc = 0;
  for (char *s = strtok(argv[5], ","); s && nsrc < 64; s = strtok(NULL, ","))
    inet_pton(AF_INET, s, &srcs[nsrc++]);

  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &dst.sin_addr);

  conns = calloc(n, sizeof *conns);
  ep = epoll_create1(0);
  struct epoll_event evs[1024];
  int next = 0, connecting = 0;
  const int max_connecting = 128;
  double held_at = 0;
  char rbuf[65536];

  for (;;) {
    /* Open connections, a bounded number in flight (the server's accept backlog is finite). */
    while (next < n && connecting < max_connecting) {
      struct conn *c = &conns[next];
      c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (c->fd < 0) { printf("FAIL socket: %s\n", strerror(errno)); fflush(stdout); return 1; }
      int one = 1;
      setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (nsrc) {
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = srcs[next % nsrc]};
        if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) {
          printf("FAIL bind: %s\n", strerror(errno)); fflush(stdout); return 1;
        }
      }
      int r = connect(c->fd, (struct sockaddr *)&dst, sizeof dst);
      if (r < 0 && errno != EINPROGRESS) {
        printf("FAIL connect %d: %s\n", next, strerror(errno)); fflush(stdout); return 1;
      }
      c->state = S_CONNECTING;
      struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)next};
      epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
      connecting++;
      next++;
    }
    if (!held_at && held == n) {
      held_at = mono();
      printf("HELD %d\n", held);
      fflush(stdout);
    }
    if (held_at && finished == n) break;
    if (held_at && mono() - held_at > timeout_s) break;

    int k = epoll_wait(ep, evs, 1024, 100);
    double t = now();
    for (int i = 0; i < k; i++) {
      struct conn *c = &conns[evs[i].data.u32];
      if (c->state == S_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) { printf("FAIL connect: %s\n", strerror(err)); fflush(stdout); return 1; }
        connecting--;
        ssize_t w = write(c->fd, req, req_len);
        if (w != (ssize_t)req_len) { printf("FAIL short write\n"); fflush(stdout); return 1; }
        c->state = S_SENT;
        if (mode == M_POLL) { c->state = S_HELD; held++; }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = evs[i].data.u32};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        continue;
      }
      if (c->state == S_DONE) continue;
      for (;;) {
        ssize_t r = read(c->fd, rbuf, sizeof rbuf);
        if (r > 0) {
          total_bytes += r;
          if (mode == M_POLL && c->len == 0 && c->t == 0) c->t = t; /* first byte */
          append(c, rbuf, (size_t)r);
          if (mode == M_POLL) {
            if (strstr(c->buf, "\"changed\":true")) { release(c, 1, c->t); break; }
            if (strstr(c->buf, "\"changed\":false") ||
                (c->len > 12 && strncmp(c->buf + 9, "200", 3))) {
              release(c, 0, t); break;
            }
          } else if (mode == M_SSE) {
            if (c->state == S_SENT && strstr(c->buf, "\r\n\r\n")) {
              if (strncmp(c->buf + 9, "200", 3)) {
                printf("FAIL stream: %.200s\n", c->buf);
                fflush(stdout);
                return 1;
              }
              c->state = S_HELD; held++;
            }
            if (c->state == S_HELD && strstr(c->buf, "event: change")) { release(c, 1, t); break; }
            if (c->state == S_HELD && strstr(c->buf, "event: reset")) { release(c, 0, t); break; }
          } else {
            if (c->state == S_SENT && strstr(c->buf, "\"created\":true")) {
              c->state = S_HELD;
              held++;
            }
            if (c->state == S_HELD && strstr(c->buf, "\"events\"")) { release(c, 1, t); break; }
          }
          continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        /* closed or reset */
        if (mode == M_POLL && c->buf && strstr(c->buf, "\"changed\":true")) release(c, 1, c->t);
        else release(c, 0, t);
        break;
      }
    }
  }
  if (!held_at) { printf("FAIL only %d of %d held\n", held, n); fflush(stdout); return 1; }
  int notified = 0;
  for (int i = 0; i < n; i++) {
    if (conns[i].state == S_DONE && conns[i].ok) {
      printf("T %.6f\n", conns[i].t);
      notified++;
    }
  }
  printf("DONE notified=%d bad=%d lost=%d bytes=%lld\n", notified, bad, n - finished, total_bytes);
  fflush(stdout);
  return 0;
}
