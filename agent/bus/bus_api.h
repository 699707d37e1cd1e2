// The agent's control API on D-Bus (sd-bus): its names, and the contract both sides keep.
// One object, /org/ipo/NetD1, interface org.ipo.NetD1 (docs/dbus.md has the introspection
// XML):
//   Status() -> s          the status document as JSON (docs/status.md)
//   Reload()               re-read and validate the policy file; a bad one is refused with
//                          the error org.ipo.NetD1.Error.PolicyRefused (message: file:line: key)
//                          and the policy in force stays; a good one is queued for the
//                          reconcile loop, which applies it
//   Resync()               ask for a full sync with Docker and the kernel
//   Drops(t after) -> s    the dropped packets the drop log rules logged after sequence
//                          number `after` (0: all the agent keeps), attributed to their rule
//                          and policy entry, as JSON (droplog/drop_watch.h, docs/dbus.md)
//   property Generation t  the applied generation (emits PropertiesChanged)
//   property Drift as      the differences between the kernel and the applied ruleset as of
//                          the last drift check: non-empty from detection until repaired
//                          (emits PropertiesChanged)
//   signal Drift(as differences)   drift detected, sent before it is repaired
// Every method is refused (org.freedesktop.DBus.Error.AccessDenied) unless the caller's
// effective uid is 0; the properties and introspection are readable by whoever can reach
// the object (the same values are broadcast as signals anyway).
//
// The object is served on the system bus under the name org.ipo.NetD1 and on a private
// peer-to-peer socket (bus_server.h); the caller's side is bus_client.h.
#pragma once

namespace ipo::bus {

inline constexpr const char* kBusName = "org.ipo.NetD1";
inline constexpr const char* kObjectPath = "/org/ipo/NetD1";
inline constexpr const char* kInterface = "org.ipo.NetD1";
inline constexpr const char* kErrorPolicyRefused = "org.ipo.NetD1.Error.PolicyRefused";

}  // namespace ipo::bus
