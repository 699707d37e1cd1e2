// SdBusHandles: owning handles for the sd-bus objects both sides of the control API use (bus
// connection, message, credentials, error), so no path leaks one, and the errno text sd-bus's
// negative return values stand for.
//
// Thread safety: plain owning values; one owner each.
#pragma once

#include <systemd/sd-bus.h>

#include <cstring>
#include <memory>
#include <string>

namespace ipo::bus {

struct BusDeleter {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
using BusPtr = std::unique_ptr<sd_bus, BusDeleter>;

struct MessageDeleter {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageDeleter>;

struct CredsDeleter {
  void operator()(sd_bus_creds* c) const { sd_bus_creds_unref(c); }
};
using CredsPtr = std::unique_ptr<sd_bus_creds, CredsDeleter>;

// Frees an sd_bus_error on scope exit.
class BusError {
 public:
  BusError() = default;
  ~BusError() { sd_bus_error_free(&e_); }
  BusError(const BusError&) = delete;
  BusError& operator=(const BusError&) = delete;
  sd_bus_error* get() { return &e_; }
  bool has_name(const char* name) const { return sd_bus_error_has_name(&e_, name) > 0; }
  std::string message(int r) const {
    if (e_.message) return e_.message;
    return std::strerror(-r);
  }

 private:
  sd_bus_error e_{};  // SD_BUS_ERROR_NULL, without the C compound literal
};

// The text of an errno, given as sd-bus returns it (negative) or plain.
inline std::string Errno(int r) { return std::strerror(r < 0 ? -r : r); }

}  // namespace ipo::bus
