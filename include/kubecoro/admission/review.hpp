// The admission.k8s.io/v1 AdmissionReview: the request the API server sends a webhook, decoded
// from its JSON body, and the response it expects back. No I/O.
#pragma once

#include <kubecoro/core/result.hpp>
#include <kubecoro/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::admission {

struct request {
    std::string uid; // echoed in the response
    std::string group, version, kind;
    std::string resource;    // plural, e.g. "databases"
    std::string subresource; // "status", or empty
    std::string name;        // empty on a CREATE with generateName
    std::string namespace_;
    std::string operation; // CREATE, UPDATE, DELETE or CONNECT
    std::string user;      // userInfo.username, for logs
    bool dry_run = false;
    std::optional<json::value> object;     // absent on DELETE
    std::optional<json::value> old_object; // UPDATE and DELETE
};

// Fails (with core::errc::invalid_argument and what is wrong) on anything that is not an
// AdmissionReview of admission.k8s.io/v1 with a request carrying a uid, an operation and a kind.
core::result<request> decode_review(std::string_view body);

struct verdict {
    bool allowed = true;
    std::string message;               // shown by kubectl when refused
    int code = 0;                      // HTTP-like code of a refusal (403 Forbidden, 422 Invalid); 0: none
    std::string reason;                // Status reason of a refusal: "Forbidden", "Invalid"
    std::vector<std::string> warnings; // shown by kubectl, allowed or not
    static verdict allow() { return {}; }
    static verdict deny(std::string message, int code = 422, std::string reason = "Invalid");
};

// {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{uid, allowed, ...}}
std::string encode_response(std::string_view uid, const verdict& v);

} // namespace kubecoro::admission
