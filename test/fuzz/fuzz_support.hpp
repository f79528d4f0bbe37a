// Shared by the libFuzzer targets: drive a parser over a list of pieces and record what it produced,
// so that the same bytes split differently can be checked for the same outcome.
#pragma once

#include <kubecoro/http/request_parser.hpp>
#include <kubecoro/http/response_parser.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace fuzz {

using namespace kubecoro;

// Aborts (which libFuzzer reports as a crash) when a property does not hold.
inline void check(bool ok) {
    if (!ok)
        std::abort();
}

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// The input split at `at`, and (for small inputs) one byte at a time.
inline std::vector<std::vector<std::string_view>> splits(std::string_view in, std::size_t at) {
    at = in.empty() ? 0 : at % (in.size() + 1);
    std::vector<std::vector<std::string_view>> out{{in.substr(0, at), in.substr(at)}};
    if (in.size() <= 1024) {
        std::vector<std::string_view> bytes;
        for (std::size_t i = 0; i < in.size(); ++i)
            bytes.push_back(in.substr(i, 1));
        out.push_back(std::move(bytes));
    }
    return out;
}

struct response_outcome {
    struct message {
        int status;
        std::string reason;
        std::vector<http::field> fields;
        std::string body;
        http::body_framing framing;
        bool keep_alive;
        bool operator==(const message&) const = default;
    };
    std::vector<message> messages;
    std::optional<std::error_code> error;
    std::size_t unused = 0;
    bool operator==(const response_outcome&) const = default;
};

// One connection: every response in turn, then EOF.
inline response_outcome
drive_responses(const std::vector<std::string_view>& pieces, bool head_request, http::parser_limits limits) {
    http::response_parser p(limits);
    p.reset(head_request);
    response_outcome out;
    std::string body;
    bool started = false;
    auto record = [&] {
        auto& h = p.head();
        out.messages.push_back({h.status, h.reason, h.fields, std::move(body), p.framing(), p.keep_alive()});
        body.clear();
    };
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        auto in = pieces[i];
        while (!in.empty()) {
            if (!out.messages.empty() && !out.messages.back().keep_alive) {
                out.unused += in.size();
                for (std::size_t j = i + 1; j < pieces.size(); ++j)
                    out.unused += pieces[j].size();
                return out;
            }
            auto n = p.feed(in);
            if (!n) {
                out.error = n.error().code;
                check(!p.keep_alive());
                return out;
            }
            check(*n <= in.size());
            started = started || *n > 0;
            body += p.take_body();
            check(body.size() <= limits.max_body_bytes);
            in.remove_prefix(*n);
            if (p.done()) {
                check(p.head_done());
                record();
                p.reset(head_request);
                started = false;
            } else {
                check(in.empty());
            }
        }
    }
    if (started) {
        auto r = p.finish_eof();
        if (!r) {
            out.error = r.error().code;
            return out;
        }
        body += p.take_body();
        record();
    }
    return out;
}

struct request_outcome {
    std::vector<http::request> requests;
    std::vector<bool> keep_alive;
    std::optional<std::error_code> error;
    bool incomplete = false;
    bool operator==(const request_outcome& o) const {
        if (requests.size() != o.requests.size())
            return false;
        for (std::size_t i = 0; i < requests.size(); ++i) {
            auto& a = requests[i];
            auto& b = o.requests[i];
            if (a.method != b.method || a.target != b.target || a.fields != b.fields || a.body != b.body)
                return false;
        }
        return keep_alive == o.keep_alive && error == o.error && incomplete == o.incomplete;
    }
};

inline request_outcome drive_requests(const std::vector<std::string_view>& pieces,
                                      http::request_limits limits) {
    http::request_parser p(limits);
    request_outcome out;
    bool started = false;
    for (auto in : pieces) {
        while (!in.empty()) {
            auto n = p.feed(in);
            if (!n) {
                out.error = n.error().code;
                return out;
            }
            check(*n <= in.size());
            started = true;
            in.remove_prefix(*n);
            if (p.done()) {
                check(p.head().body.size() <= limits.max_body_bytes);
                out.requests.push_back(p.head());
                out.keep_alive.push_back(p.keep_alive());
                p.reset();
                started = false;
            } else {
                check(in.empty());
            }
        }
    }
    out.incomplete = started;
    return out;
}

} // namespace fuzz
