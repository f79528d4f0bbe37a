// Incremental parser for the requests our own probe/metrics server receives: request line, fields
// and a small Content-Length body. No I/O: feed it bytes as they arrive.
#pragma once

#include <kubecoro/core/result.hpp>
#include <kubecoro/http/errc.hpp>
#include <kubecoro/http/message.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace kubecoro::http {

struct request_limits {
    std::size_t max_head_bytes = 8 * 1024; // request line + fields
    std::size_t max_body_bytes = 0;        // probes and scrapes send no body
};

class request_parser {
public:
    explicit request_parser(request_limits limits = {});

    // Prepares for the next request on the same connection.
    void reset();

    // Consumes bytes from `in`. Returns how many were used; fewer than in.size() only when the
    // request is done (the rest belongs to the next request) or on error. Chunked bodies fail with
    // errc::unsupported_transfer_coding, bodies over the limit with errc::body_too_large. After an
    // error, every call fails again until reset().
    core::result<std::size_t> feed(std::string_view in);

    bool done() const noexcept;
    // Method, target and fields (and the body once done()).
    const request& head() const noexcept;
    // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive".
    bool keep_alive() const noexcept;

private:
    enum class state { request_line, field_line, body, done, failed };
    core::result<void> on_line(std::string_view line);
    core::result<void> on_request_line(std::string_view line);
    core::result<void> on_head_done();
    core::failure fail(core::error e); // feed() repeats it until reset()

    request_limits limits_;
    request req_;
    std::string line_;
    core::error error_;
    std::size_t head_bytes_ = 0;
    std::size_t remaining_ = 0;
    state state_ = state::request_line;
    bool http10_ = false;
    bool keep_alive_ = true;
};

} // namespace kubecoro::http
