#include "client_impl.hpp"
#include <kubecoro/api/errc.hpp>
#include <kubecoro/api/status.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/net/errc.hpp>

#include <array>
#include <charconv>
#include <type_traits>

namespace kubecoro::client {
namespace {

using namespace awaitable_operators;

constexpr std::size_t read_chunk = 16 * 1024;

std::string path_only(std::string_view target) {
    return std::string(target.substr(0, target.find('?')));
}

void add_field(std::vector<http::field>& fields, std::string name, std::string value) {
    if (!http::find_field(fields, name))
        fields.push_back({std::move(name), std::move(value)});
}

void report(const client_impl& impl, const std::string& method, int code) {
    if (impl.options.on_request)
        impl.options.on_request(method, code);
}

std::string excerpt(std::string_view body) {
    constexpr std::size_t max = 200;
    std::string out;
    for (char c : body.substr(0, max))
        out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    if (body.size() > max)
        out += "...";
    return out;
}

std::chrono::milliseconds parse_retry_after(std::string_view v) {
    long seconds = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (ec != std::errc{} || end != v.data() + v.size() || seconds < 0)
        return std::chrono::milliseconds(0); // an HTTP date: not worth honouring precisely
    return std::chrono::seconds(seconds);
}

// Throttled requests go out in groups at most this far apart (rate_limiter.hpp): at the default
// 50 qps, five per wake-up instead of one every 20 ms, each up to this much later than its token.
constexpr std::chrono::milliseconds throttle_tick(100);

// Waits for a token of the rate limiter: false when cancelled meanwhile.
awaitable<bool> throttle(std::shared_ptr<client_impl> impl) {
    auto wait = impl->limiter.reserve(rate_limiter::clock::now());
    if (wait > rate_limiter::clock::duration::zero())
        co_return co_await sleep_for(wait);
    co_return true;
}

// The current credentials; a client certificate from an exec plugin replaces the TLS context.
awaitable<core::result<credentials>> current_credentials(std::shared_ptr<client_impl> impl) {
    auto creds = co_await impl->auth.current();
    if (!creds || !impl->tls || creds->client_cert_pem.empty() ||
        creds->client_cert_pem == impl->tls->config().client_cert_pem)
        co_return creds;
    auto tc = impl->tls->config();
    tc.client_cert_pem = creds->client_cert_pem;
    tc.client_key_pem = creds->client_key_pem;
    auto ctx = net::tls_context::create(std::move(tc));
    if (!ctx)
        co_return core::fail(std::move(ctx).error());
    impl->tls = std::move(*ctx);
    impl->pool.clear();
    co_return creds;
}

std::string wire_request(const client_impl& impl, http::request request, const credentials& creds) {
    request.target = impl.url.path_prefix + request.target;
    add_field(request.fields, "Host", impl.url.ep.to_string());
    if (!creds.bearer_token.empty())
        add_field(request.fields, "Authorization", "Bearer " + creds.bearer_token);
    add_field(request.fields, "User-Agent", impl.options.user_agent);
    add_field(request.fields, "Accept", "application/json");
    return http::serialize(request);
}

awaitable<core::result<std::unique_ptr<net::connection>>> connect(std::shared_ptr<client_impl> impl) {
    // A named local: g++ 12 miscompiles aggregate temporaries passed to a coroutine in a co_await.
    net::connect_config config{impl->url.ep, impl->tls, impl->options.connect_timeout};
    co_return co_await net::connection::connect(std::move(config));
}

core::failure protocol_error(const net::connection& conn, core::error e) {
    e.message = "bad HTTP response from " + conn.remote().to_string() + ": " + e.message;
    return core::fail(std::move(e));
}

core::failure closed_early(const net::connection& conn) {
    return core::fail(net::errc::closed,
                      "connection to " + conn.remote().to_string() +
                          " closed before the response was complete");
}

struct exchange_state {
    bool got_bytes = false; // a stale keep-alive connection fails before any byte
    bool reusable = false;
};

awaitable<core::result<response>>
read_response(net::connection& conn, bool head_request, exchange_state& st) {
    http::response_parser parser;
    parser.reset(head_request);
    response out;
    std::array<char, read_chunk> buffer;
    bool extra_bytes = false;
    while (!parser.done()) {
        auto n = co_await conn.read_some(buffer);
        if (!n)
            co_return core::fail(std::move(n).error());
        if (*n == 0) {
            if (auto eof = parser.finish_eof(); !eof)
                co_return closed_early(conn);
            break;
        }
        st.got_bytes = true;
        std::string_view in(buffer.data(), *n);
        auto used = parser.feed(in);
        if (!used)
            co_return protocol_error(conn, std::move(used).error());
        extra_bytes = *used < in.size();
        out.body += parser.take_body();
    }
    out.status = parser.head().status;
    out.fields = parser.head().fields;
    st.reusable = parser.keep_alive() && !extra_bytes && parser.framing() != http::body_framing::until_close;
    co_return out;
}

// One request on a pooled connection, or on a fresh one when none is idle or the pooled one
// turns out to be closed by the server.
awaitable<core::result<response>>
round_trip(std::shared_ptr<client_impl> impl, std::string wire, bool head_request) {
    for (int attempt = 0;; ++attempt) {
        std::unique_ptr<net::connection> conn;
        if (attempt == 0)
            conn = impl->pool.acquire(impl->pool_key);
        bool reused = conn != nullptr;
        if (!conn) {
            auto c = co_await connect(impl);
            if (!c)
                co_return core::fail(std::move(c).error());
            conn = std::move(*c);
        }
        exchange_state st;
        auto written = co_await conn->write(wire);
        // (No co_await inside ?: — g++ 12 destroys its result too early.)
        core::result<response> r = core::fail(core::error{});
        if (written)
            r = co_await read_response(*conn, head_request, st);
        else
            r = core::fail(std::move(written).error());
        if (r) {
            if (st.reusable)
                impl->pool.release(impl->pool_key, std::move(conn));
            co_return r;
        }
        conn->close();
        if (reused && !st.got_bytes && r.error().code != core::errc::cancelled)
            continue;
        co_return r;
    }
}

core::failure timed_out(const http::request& request, std::chrono::milliseconds limit, bool timer_fired) {
    if (!timer_fired)
        return core::fail(core::errc::cancelled,
                          request.method + " " + path_only(request.target) + " cancelled");
    return core::fail(core::errc::timeout,
                      request.method + " " + path_only(request.target) + " timed out after " +
                          std::to_string(limit.count()) + "ms");
}

// Connects, sends, and reads up to the head (the whole body when the answer is not 200).
awaitable<core::result<open_response>> open_once(std::shared_ptr<client_impl> impl, std::string wire) {
    auto c = co_await connect(impl);
    if (!c)
        co_return core::fail(std::move(c).error());
    open_response out{std::move(*c), http::response_parser{}, {}};
    out.parser.reset(false);
    if (auto w = co_await out.conn->write(wire); !w)
        co_return core::fail(std::move(w).error());
    std::array<char, read_chunk> buffer;
    while (!out.parser.head_done() || (out.parser.head().status != 200 && !out.parser.done())) {
        auto n = co_await out.conn->read_some(buffer);
        if (!n)
            co_return core::fail(std::move(n).error());
        if (*n == 0) {
            if (auto eof = out.parser.finish_eof(); !eof || !out.parser.head_done())
                co_return closed_early(*out.conn);
            break;
        }
        auto used = out.parser.feed(std::string_view(buffer.data(), *n));
        if (!used)
            co_return protocol_error(*out.conn, std::move(used).error());
        out.body += out.parser.take_body();
    }
    co_return out;
}

// `request` through `exchange(impl, wire)`: the rate limiter, the credentials, the request timeout,
// every attempt reported (code 0 when no status came), a 401 retried once with fresh credentials.
// `request` outlives the task: the callers await it at once.
template <class Exchange, class StatusOf>
std::invoke_result_t<Exchange&, std::shared_ptr<client_impl>, std::string> send_authorized(
    std::shared_ptr<client_impl> impl, const http::request& request, Exchange exchange, StatusOf status_of) {
    for (int attempt = 0;; ++attempt) {
        if (!co_await throttle(impl)) // a caller who gave up while it waited: nothing is sent
            co_return core::fail(core::errc::cancelled,
                                 request.method + " " + path_only(request.target) +
                                     ": cancelled while waiting for the client's rate limiter");
        auto creds = co_await current_credentials(impl);
        if (!creds) {
            report(*impl, request.method, 0);
            co_return core::fail(std::move(creds).error());
        }
        if (impl->options.write_gate && request.method != "GET" && request.method != "HEAD" &&
            !impl->options.write_gate()) {
            report(*impl, request.method, 0);
            co_return core::fail(core::errc::fenced,
                                 request.method + " " + path_only(request.target) +
                                     ": not sent, this process may no longer be the leader");
        }
        auto limit = impl->options.request_timeout;
        auto outcome = co_await (exchange(impl, wire_request(*impl, request, *creds)) || sleep_for(limit));
        if (outcome.index() == 1) {
            report(*impl, request.method, 0);
            co_return timed_out(request, limit, std::get<1>(outcome));
        }
        auto r = std::move(std::get<0>(outcome));
        if (!r) {
            // No answer (a connection cut, garbage, a TLS failure): say which request it was.
            report(*impl, request.method, 0);
            auto e = std::move(r).error();
            e.message = request.method + " " + path_only(request.target) + ": " + e.message;
            co_return core::fail(std::move(e));
        }
        const int status = status_of(*r);
        report(*impl, request.method, status);
        if (status == 401 && attempt == 0) {
            impl->auth.invalidate();
            continue;
        }
        co_return r;
    }
}

} // namespace

client_impl::client_impl(asio::any_io_executor ex,
                         config::cluster_config c,
                         client_options o,
                         net::server_url u)
    : executor(ex)
    , config(std::move(c))
    , options(std::move(o))
    , url(std::move(u))
    , pool_key(url.ep.to_string())
    , pool(options.max_idle_connections)
    , limiter(options.qps, options.burst, rate_limiter::clock::now(), throttle_tick)
    , auth(ex, config) {}

core::error status_error(const http::request& request,
                         int status,
                         const std::vector<http::field>& fields,
                         const std::string& body) {
    core::error e;
    auto decoded = json::decode_status(body);
    if (decoded && (!decoded->reason.empty() || !decoded->message.empty())) {
        e = api::to_error(status, *decoded);
        if (decoded->retry_after_seconds > 0)
            e.retry_after = std::chrono::seconds(decoded->retry_after_seconds);
    } else {
        e.code = api::errc_from_status(status, "");
        e.message = std::to_string(status) + (body.empty() ? "" : ": " + excerpt(body));
    }
    e.http_status = status;
    if (auto ra = http::find_field(fields, "Retry-After"))
        e.retry_after = parse_retry_after(*ra);
    e.message = request.method + " " + path_only(request.target) + ": " + e.message;
    return e;
}

awaitable<core::result<response>> send_request(std::shared_ptr<client_impl> impl, http::request request) {
    if (impl->options.transport) {
        auto answer = co_await impl->options.transport(request);
        report(*impl, request.method, answer ? answer->status : 0);
        co_return answer;
    }
    const bool head_request = request.method == "HEAD";
    auto exchange = [head_request](std::shared_ptr<client_impl> i, std::string wire) {
        return round_trip(std::move(i), std::move(wire), head_request);
    };
    co_return co_await send_authorized(impl, request, exchange, [](const response& r) { return r.status; });
}

awaitable<core::result<open_response>> open_stream(std::shared_ptr<client_impl> impl, http::request request) {
    auto r = co_await send_authorized(
        impl, request, open_once, [](const open_response& o) { return o.parser.head().status; });
    if (!r)
        co_return r;
    const auto& head = r->parser.head();
    if (head.status != 200)
        co_return core::fail(status_error(request, head.status, head.fields, r->body));
    co_return r;
}

} // namespace kubecoro::client
