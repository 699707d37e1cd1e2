#include "docker/event_decoder.h"

#include <cstdio>
#include <limits>
#include <optional>

#include "docker/docker_json.h"

namespace ipo::docker {

Result<Event> DecodeEvent(std::string_view json) {
  return internal::Decode<Event>("Docker event", json, [](const JsonValue& doc) {
    Event ev;
    ev.type = doc.Get("Type").NonEmptyString();
    ev.action = doc.Get("Action").NonEmptyString();
    if (std::optional<JsonValue> actor = doc.Find("Actor")) {
      ev.id = actor->StringOr("ID", "");
      if (std::optional<JsonValue> attrs = actor->Find("Attributes")) {
        attrs->ForEachMember([&](const std::string& key, const JsonValue& value) {
          ev.attributes[key] = value.is_null() ? "" : value.String();
        });
      }
    }
    constexpr int64_t kNanosPerSecond = 1'000'000'000;
    ev.time_nano = doc.IntOr("timeNano", -1);
    if (ev.time_nano < 0) {
      const int64_t seconds = doc.IntOr("time", -1);
      if (seconds < 0) doc.Fail("fields timeNano and time are missing");
      if (seconds > std::numeric_limits<int64_t>::max() / kNanosPerSecond) {
        doc.Get("time").Fail(std::to_string(seconds) + " seconds do not fit in nanoseconds");
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
