// The Kubernetes Status object (metav1.Status) as an owned struct.
#pragma once

#include <kubecoro/core/result.hpp>

#include <string>
#include <vector>

namespace kubecoro::api {

struct status_cause {
    std::string reason;
    std::string message;
    std::string field;
};

struct status {
    int code = 0;
    std::string status; // "Success" or "Failure"
    std::string reason; // "NotFound", "AlreadyExists", "Conflict", "Expired", ...
    std::string message;
    std::string details_name;
    std::string details_kind;
    std::vector<status_cause> causes;
    int retry_after_seconds = 0;
};

// A core::error carrying an API failure: code from errc_from_status, message "<code> <reason>: <message>"
// (e.g. `404 NotFound: configmaps "x" not found`), http_status set, retry_after from
// retry_after_seconds. Pass http_status 0 for a Status from a watch ERROR event: s.code is used.
core::error to_error(int http_status, const status& s);

} // namespace kubecoro::api
