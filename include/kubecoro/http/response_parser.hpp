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
    std::size_t max_head_bytes = 64 * 1024;         // status line + fields (1xx heads included)
    std::size_t max_body_bytes = 256 * 1024 * 1024; // decoded body, over the whole message
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
    // accumulate until take_body(). 1xx informational responses are skipped. After an error,
    // every call fails again until reset().
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
    enum class state {
        status_line,
        field_line,
        body, // Content-Length
        chunk_size,
        chunk_data,
        chunk_cr, // the CRLF after chunk data
        chunk_lf,
        trailer,
        until_close,
        done,
        failed,
    };
    core::result<std::size_t> step(std::string_view in);
    core::result<std::size_t> feed_line(std::string_view in, std::size_t limit, errc too_long);
    core::result<void> on_line();
    core::result<void> on_status_line(std::string_view line);
    core::result<void> on_head_done();
    core::result<void> on_chunk_size(std::string_view line);
    core::result<std::size_t> append_body(std::string_view data);
    // Records the failure, which feed() and finish_eof() repeat until reset().
    core::failure fail(errc e, std::string message);
    core::failure fail(core::error e);

    parser_limits limits_;
    response_head head_;
    std::string line_; // the line being assembled, up to and including its '\n'
    std::string body_;
    core::error error_;         // the failure, repeated by feed() after it
    std::size_t remaining_ = 0; // bytes left in the current content-length body or chunk
    std::size_t body_total_ = 0;
    std::size_t head_bytes_ = 0; // head (or trailer) bytes so far, against max_head_bytes
    state state_ = state::status_line;
    body_framing framing_ = body_framing::none;
    bool head_request_ = false;
    bool head_done_ = false;
    bool keep_alive_ = true;
    bool http10_ = false;
};

} // namespace kubecoro::http
