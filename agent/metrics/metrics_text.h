// MetricsText: the agent's status document (status/status_doc.h) in the Prometheus text
// exposition format 0.0.4, for node_exporter's textfile collector (metrics/textfile.h
// writes it; docs/observability.md lists every metric and example alerts). Pure.
//
// Every metric is named ipo_netd_*; counters end in _total, the latency histogram is in
// seconds (ipo_netd_event_to_rules_seconds), times are Unix seconds. Label values are
// escaped (backslash, double quote, newline). A section the status lacks (no Docker link
// yet, no boot record) leaves its metrics out rather than reporting zeros it never measured,
// except the counters, which start at 0.
//
// Thread safety: a pure function.
#pragma once

#include <string>

#include "status/status_doc.h"

namespace ipo::metrics {

std::string MetricsText(const status::AgentStatus& s);

// `v` as a label value between double quotes: \ -> \\, " -> \", newline -> \n.
std::string EscapeLabelValue(const std::string& v);

}  // namespace ipo::metrics
