#include "syntax.hpp"
#include <kubecoro/http/request_parser.hpp>

#include <algorithm>

namespace kubecoro::http {

request_parser::request_parser(request_limits limits)
    : limits_(limits) {}

void request_parser::reset() {
    req_ = {};
    line_.clear();
    error_ = {};
    head_bytes_ = 0;
    remaining_ = 0;
    state_ = state::request_line;
    http10_ = false;
    keep_alive_ = true;
}

bool request_parser::done() const noexcept {
    return state_ == state::done;
}
const request& request_parser::head() const noexcept {
    return req_;
}
bool request_parser::keep_alive() const noexcept {
    return keep_alive_ && state_ != state::failed;
}

core::failure request_parser::fail(core::error e) {
    error_ = std::move(e);
    state_ = state::failed;
    keep_alive_ = false;
    return core::fail(error_);
}

core::result<std::size_t> request_parser::feed(std::string_view in) {
    if (state_ == state::failed)
        return core::fail(error_);
    std::size_t used = 0;
    while (used < in.size() && state_ != state::done) {
        auto rest = in.substr(used);
        if (state_ == state::body) {
            auto n = std::min(remaining_, rest.size());
            req_.body.append(rest.substr(0, n));
            remaining_ -= n;
            used += n;
            if (remaining_ == 0)
                state_ = state::done;
            continue;
        }
        auto took = detail::take_line(line_, rest, limits_.max_head_bytes - head_bytes_);
        if (!took)
            return fail(core::error{make_error_code(errc::head_too_large), "request head too large"});
        used += *took;
        if (!detail::line_complete(line_))
            continue;
        head_bytes_ += line_.size();
        auto line = detail::strip_crlf(line_);
        auto r = line ? on_line(*line) : core::fail(errc::bad_field, "request line not ended by CRLF");
        line_.clear();
        if (!r)
            return fail(std::move(r).error());
    }
    return used;
}

core::result<void> request_parser::on_line(std::string_view line) {
    if (state_ == state::request_line) {
        // RFC 9112 section 2.2: ignore empty lines before the request line.
        return line.empty() ? core::result<void>{} : on_request_line(line);
    }
    if (line.empty())
        return on_head_done();
    auto f = detail::parse_field_line(line);
    if (!f)
        return core::fail(std::move(f).error());
    req_.fields.push_back(std::move(*f));
    return {};
}

core::result<void> request_parser::on_request_line(std::string_view line) {
    auto bad = [] { return core::fail(errc::bad_request_line, "malformed request line"); };
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos)
        return bad();
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos)
        return bad();
    auto method = line.substr(0, sp1);
    auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    auto minor = detail::parse_http1_version(line.substr(sp2 + 1));
    auto visible = [](char c) { return c > 0x20 && c < 0x7f; };
    if (!detail::is_token(method) || target.empty() || !std::all_of(target.begin(), target.end(), visible) ||
        !minor)
        return bad();
    req_.method = std::string(method);
    req_.target = std::string(target);
    http10_ = *minor == 0;
    state_ = state::field_line;
    return {};
}

core::result<void> request_parser::on_head_done() {
    const auto& fields = req_.fields;
    keep_alive_ = http10_ ? detail::has_token(fields, "connection", "keep-alive") : true;
    if (detail::has_token(fields, "connection", "close"))
        keep_alive_ = false;
    if (find_field(fields, "transfer-encoding"))
        return core::fail(errc::unsupported_transfer_coding,
                          "Transfer-Encoding in a request is not supported");
    auto length = detail::content_length(fields);
    if (!length)
        return core::fail(std::move(length).error());
    remaining_ = length->value_or(0);
    if (remaining_ > limits_.max_body_bytes)
        return core::fail(errc::body_too_large, "request body exceeds the limit");
    state_ = remaining_ == 0 ? state::done : state::body;
    return {};
}

} // namespace kubecoro::http
