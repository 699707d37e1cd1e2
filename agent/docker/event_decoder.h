// Decoding of GET /events: EventStreamSplitter cuts the HTTP body (newline-delimited JSON,
// arriving in chunks that may split a message anywhere or hold several) into messages, and
// DecodeEvent turns one message (Docker API 1.41 format) into an Event. Also EventsPath,
// the request path for a given resume point. No I/O.
//
// Thread safety: DecodeEvent and EventsPath are stateless; an EventStreamSplitter has one
// owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "docker/docker_api.h"

namespace ipo::docker {

// One /events message, e.g.
//   {"Type":"network","Action":"connect","Actor":{"ID":"<net id>","Attributes":
//    {"container":"<ctr id>","name":"ipo-shared","type":"bridge"}},"time":1,"timeNano":1000000001}
// Type and Action are required; timeNano is preferred, else time (seconds) * 1e9.
// Actions are passed through unchanged ("health_status: healthy", "exec_start: sh -c true").
// Errors (InvalidArgument) read "Docker event: body:<line>: <path>: <problem>" (docker_json.h).
Result<Event> DecodeEvent(std::string_view json);

// "/events?since=<sec>.<nanosec>&filters=<{"type":["container","network"]} url-encoded>";
// since is left out when since_nano is 0 (stream from now). Docker's since is inclusive:
// an event whose timeNano equals since_nano is sent again.
// REQUIRES: since_nano >= 0.
std::string EventsPath(int64_t since_nano);

// Reassembles newline-delimited messages from arbitrary chunks of a byte stream.
class EventStreamSplitter {
 public:
  static constexpr size_t kDefaultMaxMessageBytes = 1 << 20;

  explicit EventStreamSplitter(size_t max_message_bytes = kDefaultMaxMessageBytes)
      : max_message_bytes_(max_message_bytes) {}

  // Appends each message completed by `chunk` to *messages, without its "\n" (or "\r\n");
  // blank lines are dropped. Bytes after the last newline are kept for the next call.
  // Fails (InvalidArgument) when an unfinished message grows past max_message_bytes; the
  // splitter is then unusable until Reset().
  // REQUIRES: messages != nullptr.
  Status Feed(std::string_view chunk, std::vector<std::string>* messages);

  // Bytes of the unfinished message held back (0 at a message boundary).
  size_t pending_bytes() const { return pending_.size(); }
  void Reset() { pending_.clear(); }

 private:
  size_t max_message_bytes_;
  std::string pending_;
};

}  // namespace ipo::docker
