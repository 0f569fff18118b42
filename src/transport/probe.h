#pragma once

#include <cstdint>
#include <map>

#include "raft/types.h"

namespace cairn::transport {

/// What happened on the connections to and from one peer. Counters only grow (they survive the
/// peer's removal), except `connected`. Bytes count whole frames (header included).
struct PeerCounters {
  // Outbound: the connection this node dials to the peer.
  uint64_t frames_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t dropped = 0;           // messages lost: queue full, peer unreachable, removed, stopped
  uint64_t dials = 0;             // connection attempts started
  uint64_t connects = 0;          // handshakes accepted by the peer (reconnects = connects - 1)
  uint64_t connect_failures = 0;  // attempts that ended before an accepted handshake
  bool connected = false;         // outbound connection established right now
  // Inbound: connections the peer dialed to this node.
  uint64_t frames_received = 0;  // raft messages delivered to on_message
  uint64_t bytes_received = 0;
};

/// Counters of one TcpTransport, copied out by TcpTransport::probe(). Only src/telemetry/ turns
/// them into metrics. Connection-level errors are counted here, not per peer, because the peer
/// is often not known yet (or lies) when they happen.
struct TransportProbe {
  std::map<raft::NodeId, PeerCounters> peers;
  uint64_t dropped_unknown_peer = 0;  // send() to a node id not in the peer set (or to self)
  uint64_t dropped_too_large = 0;     // send() of a message longer than max_frame_bytes
  uint64_t dropped_not_running = 0;   // send() before start() or after stop()
  uint64_t dropped_misaddressed = 0;  // received messages not for this node, or not from the
                                      // node that the connection's hello named
  uint64_t accepted_connections = 0;
  uint64_t rejected_handshakes = 0;  // either side: we refused a hello, or a peer refused ours
  uint64_t handshake_timeouts = 0;   // inbound connections that sent no valid hello in time
  uint64_t oversized_frames = 0;     // a peer claimed a frame over the limit: disconnected
  uint64_t bad_frames = 0;           // bad magic/version/kind/flags/CRC, truncated: disconnected
  uint64_t decode_errors = 0;        // raft::decode() refused a payload: disconnected
};

}  // namespace cairn::transport
