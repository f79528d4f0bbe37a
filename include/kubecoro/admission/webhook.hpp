// The admission webhook's HTTP side: each route (a path the Validating/MutatingWebhookConfiguration
// names) turns the AdmissionReview POSTed to it into a verdict. Served by a net::http_server over
// TLS on the operator's io_context.
#pragma once

#include <kubecoro/admission/review.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/log/log.hpp>
#include <kubecoro/net/http_server.hpp>

#include <functional>
#include <string>
#include <vector>

namespace kubecoro::admission {

using admit_fn = std::function<awaitable<verdict>(const request&)>;

struct route {
    std::string path; // "/validate-databases"
    admit_fn admit;   // must not block; an exception answers 500 (the API server's failurePolicy decides)
};

// POST of an AdmissionReview on a route's path: 200 with the response review. A body that is not an
// AdmissionReview: 400; another path: 404; another method: 405. Refusals are logged at info.
net::async_handler handler(std::vector<route> routes, log::logger log);

// The largest AdmissionReview accepted: an object and its old version, each at most the API
// server's 1.5 MiB request limit, plus the envelope.
inline constexpr std::size_t max_review_bytes = 3 * 1024 * 1024 + 512 * 1024;

} // namespace kubecoro::admission
