// libFuzzer target for the /events decoding: the input is the body of GET /events as dockerd
// might send it. It is cut into messages by EventStreamSplitter twice, in one piece and in
// chunks whose sizes come from the input; both cuts must agree. Every message goes through
// DecodeEvent, whose events must have a type, an action and a time >= 0. A splitter with a
// small limit exercises the oversized-message error. Nothing may crash, leak or stall.
// Seeds: tests/fuzz/corpus/event_decoder_fuzz/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "docker/event_decoder.h"

namespace {

// Feeds `stream` in chunks of 1..64 bytes, the sizes taken from the stream's own bytes.
ipo::Status FeedInChunks(std::string_view stream, ipo::docker::EventStreamSplitter* splitter,
                         std::vector<std::string>* messages) {
  size_t at = 0;
  size_t i = 0;
  while (at < stream.size()) {
    const size_t n = 1 + static_cast<unsigned char>(stream[i++ % stream.size()]) % 64;
    IPO_RETURN_IF_ERROR(splitter->Feed(stream.substr(at, n), messages));
    at += n;
  }
  return ipo::Status::Ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view stream(reinterpret_cast<const char*>(data), size);

  ipo::docker::EventStreamSplitter whole;
  std::vector<std::string> messages;
  if (!whole.Feed(stream, &messages).ok()) std::abort();  // inputs are < 1 MiB

  ipo::docker::EventStreamSplitter chunked;
  std::vector<std::string> chunked_messages;
  if (!FeedInChunks(stream, &chunked, &chunked_messages).ok()) std::abort();
  if (chunked_messages != messages || chunked.pending_bytes() != whole.pending_bytes()) {
    std::abort();
  }
  // A final newline completes the unfinished message, so it is decoded too.
  if (!whole.Feed("\n", &messages).ok() || whole.pending_bytes() != 0) std::abort();

  constexpr size_t kSmallLimit = 256;
  ipo::docker::EventStreamSplitter small(kSmallLimit);
  std::vector<std::string> small_messages;
  if (!FeedInChunks(stream, &small, &small_messages).ok()) small.Reset();

  for (const std::string& message : messages) {
    if (message.empty() || message.find('\n') != std::string::npos) std::abort();
    ipo::Result<ipo::docker::Event> event = ipo::docker::DecodeEvent(message);
    if (!event.ok()) continue;
    if (event->type.empty() || event->action.empty() || event->time_nano < 0) std::abort();
  }
  return 0;
}
