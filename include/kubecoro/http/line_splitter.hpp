// Splits a byte stream into '\n'-terminated lines (watch streams send one JSON event a line).
#pragma once

#include <kubecoro/core/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace kubecoro::http {

class line_splitter {
public:
    explicit line_splitter(std::size_t max_line_bytes = 64 * 1024 * 1024)
        : max_line_(max_line_bytes) {}

    // Calls on_line(std::string_view) for each complete line in pending + data, without the '\n'
    // (and without a trailing '\r'); empty lines are skipped. Fails with errc::line_too_long when a
    // line (without its "\r\n") exceeds max_line_bytes. When on_line returns core::result<void>, its
    // first failure stops the feed and is returned. After a failure the rest of `data` and any
    // pending bytes are dropped: the stream is not usable any more.
    template <class F>
    core::result<void> feed(std::string_view data, F&& on_line);

    // Bytes of an unfinished line held back.
    std::size_t pending() const noexcept { return pending_.size(); }
    void clear() noexcept { pending_.clear(); }

private:
    std::string pending_;
    std::size_t max_line_;
};

} // namespace kubecoro::http

#include <kubecoro/http/detail/line_splitter_impl.hpp>
