#include "syntax.hpp"
#include <kubecoro/http/response_parser.hpp>

#include <algorithm>
#include <limits>
#include <utility>

namespace kubecoro::http {

namespace {
// A chunk-size line is a hex number and optional extensions; nothing legitimate comes near this.
constexpr std::size_t max_chunk_line = 4096;

bool is_text(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
}
int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
} // namespace

response_parser::response_parser(parser_limits limits)
    : limits_(limits) {}

void response_parser::reset(bool head_request) {
    head_ = {};
    line_.clear();
    body_.clear();
    error_ = {};
    remaining_ = 0;
    body_total_ = 0;
    head_bytes_ = 0;
    state_ = state::status_line;
    framing_ = body_framing::none;
    head_request_ = head_request;
    head_done_ = false;
    keep_alive_ = true;
    http10_ = false;
}

core::result<std::size_t> response_parser::feed(std::string_view in) {
    if (state_ == state::failed)
        return core::fail(error_);
    std::size_t used = 0;
    // Every step consumes at least one byte or completes the message, so this terminates.
    while (used < in.size() && state_ != state::done) {
        auto n = step(in.substr(used));
        if (!n)
            return n;
        used += *n;
    }
    return used;
}

core::result<void> response_parser::finish_eof() {
    switch (state_) {
    case state::until_close:
        state_ = state::done;
        return {};
    case state::done:
        return {};
    case state::failed:
        return core::fail(error_);
    default:
        break;
    }
    auto where = head_done_ ? "body" : "head";
    return fail(errc::unexpected_eof, std::string("connection closed in the response ") + where);
}

bool response_parser::head_done() const noexcept {
    return head_done_;
}
const response_head& response_parser::head() const noexcept {
    return head_;
}
body_framing response_parser::framing() const noexcept {
    return framing_;
}
bool response_parser::done() const noexcept {
    return state_ == state::done;
}
bool response_parser::keep_alive() const noexcept {
    return keep_alive_ && state_ != state::failed;
}
std::string response_parser::take_body() {
    return std::exchange(body_, {});
}

core::failure response_parser::fail(errc e, std::string message) {
    return fail(core::error{make_error_code(e), std::move(message)});
}

core::failure response_parser::fail(core::error e) {
    error_ = std::move(e);
    state_ = state::failed;
    keep_alive_ = false;
    return core::fail(error_);
}

core::result<std::size_t> response_parser::step(std::string_view in) {
    switch (state_) {
    case state::status_line:
    case state::field_line:
    case state::trailer: {
        auto budget = limits_.max_head_bytes - std::min(head_bytes_, limits_.max_head_bytes);
        return feed_line(in, budget, errc::head_too_large);
    }
    case state::chunk_size:
        return feed_line(in, max_chunk_line, errc::bad_chunk);
    case state::body:
    case state::chunk_data: {
        auto n = std::min(remaining_, in.size());
        auto r = append_body(in.substr(0, n));
        if (!r)
            return r;
        remaining_ -= n;
        if (remaining_ == 0)
            state_ = state_ == state::body ? state::done : state::chunk_cr;
        return n;
    }
    case state::chunk_cr:
    case state::chunk_lf: {
        char expected = state_ == state::chunk_cr ? '\r' : '\n';
        if (in.front() != expected)
            return fail(errc::bad_chunk, "missing CRLF after chunk data");
        state_ = state_ == state::chunk_cr ? state::chunk_lf : state::chunk_size;
        return 1;
    }
    case state::until_close:
        return append_body(in);
    case state::done:
    case state::failed:
        break;
    }
    return 0;
}

core::result<std::size_t> response_parser::feed_line(std::string_view in, std::size_t limit, errc too_long) {
    auto took = detail::take_line(line_, in, limit);
    if (!took) {
        switch (state_) {
        case state::chunk_size:
            return fail(too_long, "chunk size line too long");
        case state::trailer:
            return fail(too_long, "trailer section too large");
        default:
            return fail(too_long, "response head too large");
        }
    }
    if (!detail::line_complete(line_))
        return *took;
    if (state_ != state::chunk_size)
        head_bytes_ += line_.size();
    auto r = on_line();
    line_.clear();
    if (!r)
        return fail(std::move(r).error());
    return *took;
}

core::result<void> response_parser::on_line() {
    auto line = detail::strip_crlf(line_);
    if (!line) {
        switch (state_) {
        case state::status_line:
            return core::fail(errc::bad_status_line, "status line not ended by CRLF");
        case state::chunk_size:
            return core::fail(errc::bad_chunk, "chunk size line not ended by CRLF");
        default:
            return core::fail(errc::bad_field, "header line not ended by CRLF");
        }
    }
    if (state_ == state::status_line)
        return on_status_line(*line);
    if (state_ == state::chunk_size)
        return on_chunk_size(*line);
    if (line->empty()) {
        if (state_ == state::field_line)
            return on_head_done();
        state_ = state::done;
        return {};
    }
    auto f = detail::parse_field_line(*line);
    if (!f)
        return core::fail(std::move(f).error());
    // Trailer fields are checked for syntax and dropped: nothing we call sends any we need.
    if (state_ == state::field_line)
        head_.fields.push_back(std::move(*f));
    return {};
}

core::result<void> response_parser::on_status_line(std::string_view line) {
    auto bad = [] { return core::fail(errc::bad_status_line, "malformed status line"); };
    auto sp = line.find(' ');
    auto minor = detail::parse_http1_version(line.substr(0, sp));
    if (!minor || sp == std::string_view::npos)
        return bad();
    auto rest = line.substr(sp + 1);
    if (rest.size() < 3 || (rest.size() > 3 && rest[3] != ' '))
        return bad();
    int status = 0;
    for (char c : rest.substr(0, 3)) {
        if (c < '0' || c > '9')
            return bad();
        status = status * 10 + (c - '0');
    }
    if (status < 100)
        return bad();
    auto reason = rest.size() > 3 ? rest.substr(4) : std::string_view{};
    if (!std::all_of(reason.begin(), reason.end(), is_text))
        return bad();
    head_.status = status;
    head_.reason = std::string(reason);
    http10_ = *minor == 0;
    state_ = state::field_line;
    return {};
}

core::result<void> response_parser::on_head_done() {
    int status = head_.status;
    if (status >= 100 && status < 200 && status != 101) {
        // Interim response (100 Continue, 103 Early Hints): the real one follows.
        head_ = {};
        state_ = state::status_line;
        return {};
    }
    head_done_ = true;
    const auto& fields = head_.fields;
    keep_alive_ = http10_ ? detail::has_token(fields, "connection", "keep-alive") : true;
    if (detail::has_token(fields, "connection", "close"))
        keep_alive_ = false;

    if (head_request_ || status == 204 || status == 304 || status == 101) {
        // 101: the connection now speaks another protocol; nothing we can reuse.
        if (status == 101)
            keep_alive_ = false;
        framing_ = body_framing::none;
        state_ = state::done;
        return {};
    }

    bool has_te = false;
    int chunked = 0;
    bool chunked_last = false;
    for (const auto& f : fields) {
        if (!detail::iequals(f.name, "transfer-encoding"))
            continue;
        has_te = true;
        // Only the final coding may be (and a framed body must end with) chunked.
        detail::for_each_element(f.value, [&](std::string_view coding) {
            chunked_last = detail::iequals(coding, "chunked");
            chunked += chunked_last ? 1 : 0;
        });
    }
    if (has_te) {
        if (chunked > 1 || (chunked == 1 && !chunked_last))
            return core::fail(errc::bad_field, "chunked is not the final transfer coding");
        if (chunked_last) {
            // With both framings present the message may have been smuggled: don't reuse the connection.
            if (find_field(fields, "content-length"))
                keep_alive_ = false;
            framing_ = body_framing::chunked;
            state_ = state::chunk_size;
            return {};
        }
        framing_ = body_framing::until_close;
        keep_alive_ = false;
        state_ = state::until_close;
        return {};
    }

    auto length = detail::content_length(fields);
    if (!length)
        return core::fail(std::move(length).error());
    if (*length) {
        if (**length > limits_.max_body_bytes)
            return core::fail(errc::body_too_large, "Content-Length exceeds the body limit");
        framing_ = body_framing::content_length;
        remaining_ = **length;
        state_ = remaining_ == 0 ? state::done : state::body;
        return {};
    }
    framing_ = body_framing::until_close;
    keep_alive_ = false;
    state_ = state::until_close;
    return {};
}

core::result<void> response_parser::on_chunk_size(std::string_view line) {
    std::size_t size = 0;
    std::size_t i = 0;
    for (; i < line.size() && hex_value(line[i]) >= 0; ++i) {
        if (size > (std::numeric_limits<std::size_t>::max() >> 4))
            return core::fail(errc::bad_chunk, "chunk size overflows");
        size = size * 16 + static_cast<std::size_t>(hex_value(line[i]));
    }
    if (i == 0)
        return core::fail(errc::bad_chunk, "missing chunk size");
    auto ext = line.substr(i);
    while (!ext.empty() && detail::is_ows(ext.front()))
        ext.remove_prefix(1);
    // Chunk extensions (";name=value") carry nothing we use; check they are text and skip them.
    if (!ext.empty() && (ext.front() != ';' || !std::all_of(ext.begin(), ext.end(), is_text)))
        return core::fail(errc::bad_chunk, "malformed chunk size line");
    if (size > limits_.max_body_bytes - body_total_)
        return core::fail(errc::body_too_large, "chunked body exceeds the body limit");
    if (size == 0) {
        head_bytes_ = 0;
        state_ = state::trailer;
    } else {
        remaining_ = size;
        state_ = state::chunk_data;
    }
    return {};
}

core::result<std::size_t> response_parser::append_body(std::string_view data) {
    if (data.size() > limits_.max_body_bytes - body_total_)
        return fail(errc::body_too_large, "response body exceeds the body limit");
    body_.append(data);
    body_total_ += data.size();
    return data.size();
}

} // namespace kubecoro::http
