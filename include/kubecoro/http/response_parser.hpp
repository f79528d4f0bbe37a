// Incremental HTTP/1.1 response parser: status line, fields, and a body framed by Content-Length,
// chunked transfer coding, or the end of the connection. No I/O: feed it bytes as they arrive.
#pragma once

#include <kubecoro/core/result.hpp>
#include <kubecoro/http/errc.hpp>
#include <kubecoro/http/message.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace kubecoro::http {

struct parser_limits {
    std::size_t max_head_bytes = 64 * 1024;          // status line + fields
    std::size_t max_body_bytes = 256 * 1024 * 1024;  // decoded body, over the whole message
};

enum class body_framing { none, content_length, chunked, until_close };

class response_parser {
public:
    explicit response_parser(parser_limits limits = {});

    // Prepares for the next response on the same connection. `head_request` is true when the
    // request was HEAD (no body follows whatever the fields say).
    void reset(bool head_request = false);

    // Consumes bytes from `in`. Returns how many were used; fewer than in.size() only when the
    // message is done (the rest belongs to the next response) or on error. Decoded body bytes
    // accumulate until take_body().
    core::result<std::size_t> feed(std::string_view in);

    // The peer closed the connection: completes an until_close body, or fails with
    // errc::unexpected_eof if the message was incomplete.
    core::result<void> finish_eof();

    bool head_done() const noexcept;
    const response_head& head() const noexcept;
    body_framing framing() const noexcept;
    bool done() const noexcept;
    // True when the connection may carry another request after this response.
    bool keep_alive() const noexcept;

    // Decoded body bytes received since the last call.
    std::string take_body();

private:
    enum class state;
    core::result<std::size_t> feed_head(std::string_view in);
    core::result<std::size_t> feed_body(std::string_view in);
    core::result<std::size_t> feed_chunked(std::string_view in);

    parser_limits limits_;
    response_head head_;
    std::string buffer_; // partial line being assembled
    std::string body_;
    std::size_t remaining_ = 0; // bytes left in the current content-length body or chunk
    std::size_t body_total_ = 0;
    int state_ = 0;
    int chunk_state_ = 0;
    body_framing framing_ = body_framing::none;
    bool head_request_ = false;
    bool keep_alive_ = true;
};

} // namespace kubecoro::http
