#include "docker/event_decoder.h"

#include <cstdio>
#include <limits>

#include "docker/json_fields.h"

namespace ipo::docker {

using internal::Json;

Result<Event> DecodeEvent(std::string_view json) {
  return internal::Decode<Event>("Docker event", [&]() -> Event {
    const Json doc = internal::ParseJson(json);
    internal::ExpectObject(doc, "");
    Event ev;
    ev.type = internal::String(doc, "", "Type");
    ev.action = internal::String(doc, "", "Action");
    if (ev.type.empty()) throw internal::DecodeError("field Type is missing");
    if (ev.action.empty()) throw internal::DecodeError("field Action is missing");
    const Json& actor = internal::Object(doc, "", "Actor");
    ev.id = internal::String(actor, "Actor", "ID");
    const Json& attrs = internal::Object(actor, "Actor", "Attributes");
    for (const auto& [key, value] : attrs.items()) {
      ev.attributes[key] = internal::String(attrs, "Actor.Attributes", key.c_str());
    }
    constexpr int64_t kNanosPerSecond = 1'000'000'000;
    ev.time_nano = internal::Int(doc, "", "timeNano", -1);
    if (ev.time_nano < 0) {
      const int64_t seconds = internal::Int(doc, "", "time", -1);
      if (seconds < 0) throw internal::DecodeError("fields timeNano and time are missing");
      if (seconds > std::numeric_limits<int64_t>::max() / kNanosPerSecond) {
        throw internal::DecodeError("field time: " + std::to_string(seconds) +
                                    " seconds do not fit in nanoseconds");
      }
      ev.time_nano = seconds * kNanosPerSecond;
    }
    return ev;
  });
}

std::string EventsPath(int64_t since_nano) {
  // {"type":["container","network"]}, percent-encoded.
  static constexpr char kFilters[] =
      "%7B%22type%22%3A%5B%22container%22%2C%22network%22%5D%7D";
  std::string path = "/events?";
  if (since_nano > 0) {
    constexpr int64_t kNanosPerSecond = 1'000'000'000;
    char since[48];
    std::snprintf(since, sizeof since, "%lld.%09lld",
                  static_cast<long long>(since_nano / kNanosPerSecond),
                  static_cast<long long>(since_nano % kNanosPerSecond));
    path += "since=";
    path += since;
    path += "&";
  }
  path += "filters=";
  path += kFilters;
  return path;
}

Status EventStreamSplitter::Feed(std::string_view chunk, std::vector<std::string>* messages) {
  size_t start = 0;
  while (start < chunk.size()) {
    const size_t nl = chunk.find('\n', start);
    if (nl == std::string_view::npos) {
      pending_.append(chunk.substr(start));
      break;
    }
    pending_.append(chunk.substr(start, nl - start));
    start = nl + 1;
    if (!pending_.empty() && pending_.back() == '\r') pending_.pop_back();
    if (!pending_.empty()) messages->push_back(std::move(pending_));
    pending_.clear();
  }
  if (pending_.size() > max_message_bytes_) {
    return Status::InvalidArgument("Docker event stream: a message exceeds " +
                                   std::to_string(max_message_bytes_) +
                                   " bytes without a newline");
  }
  return Status::Ok();
}

}  // namespace ipo::docker
