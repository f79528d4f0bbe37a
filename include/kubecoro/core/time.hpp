// RFC 3339 timestamps in UTC, as the Kubernetes API writes them: metav1.Time in whole seconds
// ("2026-11-21T23:20:27Z"), metav1.MicroTime with microseconds, log lines with milliseconds.
#pragma once

#include <chrono>
#include <string>

namespace kubecoro::core {

enum class time_precision { seconds, milliseconds, microseconds };

std::string format_rfc3339(std::chrono::system_clock::time_point t,
                           time_precision p = time_precision::seconds);

} // namespace kubecoro::core
