#include "client_impl.hpp"
#include <kubecoro/api/errc.hpp>
#include <kubecoro/api/status.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/net/errc.hpp>

#include <array>

namespace kubecoro::client {
namespace {

using namespace awaitable_operators;
using shared = watch_stream::state::shared;

// An ERROR event carries a Status object: 410 Expired becomes api::errc::gone.
core::error error_event(const shared& s, const json::value& object) {
    api::status st;
    auto read = [&](const char* key) {
        return object.at(key) ? object.at(key)->string_or("") : std::string();
    };
    st.status = read("status");
    st.reason = read("reason");
    st.message = read("message");
    st.code = object.at("code") ? static_cast<int>(object.at("code")->int_or(0)) : 0;
    auto e = api::to_error(st.code != 0 ? st.code : 500, st);
    e.http_status = st.code;
    e.message = s.what + ": " + e.message;
    return e;
}

void on_line(shared& s, std::string_view line) {
    if (s.failure)
        return;
    auto ev = json::decode_watch_event(line);
    if (!ev) {
        s.failure = core::error{api::errc::decode, s.what + ": undecodable event: " + ev.error().message};
        return;
    }
    if (ev->type == json::event_type::error) {
        s.failure = error_event(s, ev->object);
        return;
    }
    s.events.push_back(std::move(*ev));
}

void finish(shared& s, std::optional<core::error> failure) {
    if (failure && !s.failure)
        s.failure = std::move(failure);
    if (s.conn)
        s.conn->close();
}

// Feeds received bytes through the chunked decoding and the line splitter into events.
void consume(shared& s, std::string_view bytes) {
    auto used = s.parser.feed(bytes);
    if (!used)
        return finish(
            s, core::error{used.error().code, s.what + ": bad chunked stream: " + used.error().message});
    auto body = s.parser.take_body();
    if (auto fed = s.lines.feed(body, [&s](std::string_view line) { on_line(s, line); }); !fed)
        return finish(s, core::error{fed.error().code, s.what + ": " + fed.error().message});
    if (s.failure)
        return finish(s, std::nullopt);
    if (s.parser.done()) {
        s.ended = true;
        finish(s, std::nullopt);
    }
}

awaitable<core::result<watch_stream>>
start_watch(std::shared_ptr<client_impl> impl, api::resource r, std::string ns, api::watch_options o) {
    http::request request;
    request.method = "GET";
    request.target = api::path(r, ns) + api::query(o);
    auto what = "watch " + api::path(r, ns);
    auto opened = co_await open_stream(impl, std::move(request));
    if (!opened)
        co_return core::fail(std::move(opened).error());
    auto st = std::make_unique<watch_stream::state>();
    st->s = std::make_shared<shared>();
    auto& s = *st->s;
    s.conn = std::move(opened->conn);
    s.parser = std::move(opened->parser);
    s.idle_timeout = impl->options.watch_idle_timeout;
    s.what = std::move(what);
    // Bytes that came with the head are already decoded: split them, then go on from the parser.
    if (auto fed = s.lines.feed(opened->body, [&s](std::string_view line) { on_line(s, line); }); !fed)
        finish(s, core::error{fed.error().code, s.what + ": " + fed.error().message});
    if (s.failure)
        finish(s, std::nullopt);
    else if (s.parser.done()) {
        s.ended = true;
        finish(s, std::nullopt);
    }
    co_return watch_stream(std::move(st));
}

} // namespace

awaitable<core::result<watch_stream>> client::watch(api::resource r, std::string ns, api::watch_options o) {
    return start_watch(impl_, std::move(r), std::move(ns), std::move(o));
}

watch_stream::watch_stream(std::unique_ptr<state> s)
    : state_(std::move(s)) {}
watch_stream::watch_stream(watch_stream&&) noexcept = default;
watch_stream& watch_stream::operator=(watch_stream&& other) noexcept {
    if (this != &other) {
        close();
        state_ = std::move(other.state_);
    }
    return *this;
}
watch_stream::~watch_stream() {
    close();
}

void watch_stream::close() {
    if (!state_ || !state_->s)
        return;
    state_->s->closed = true;
    if (state_->s->conn)
        state_->s->conn->close();
}

awaitable<core::result<std::optional<json::watch_event>>> watch_stream::next() {
    if (!state_ || !state_->s)
        co_return core::fail(core::errc::invalid_argument, "next() on a moved-from watch_stream");
    // From here on only `s`: the watch_stream may be closed or destroyed while we wait.
    std::shared_ptr<shared> s = state_->s;
    std::array<char, 16 * 1024> buffer;
    for (;;) {
        if (!s->events.empty()) {
            std::optional<json::watch_event> ev(std::move(s->events.front()));
            s->events.pop_front();
            co_return ev;
        }
        if (s->failure)
            co_return core::fail(*s->failure);
        if (s->ended)
            co_return std::optional<json::watch_event>{};
        if (s->closed)
            co_return core::fail(core::errc::cancelled, s->what + " closed");

        auto read = co_await (s->conn->read_some(buffer) || sleep_for(s->idle_timeout));
        if (s->closed)
            co_return core::fail(core::errc::cancelled, s->what + " closed");
        if (read.index() == 1) {
            if (std::get<1>(read))
                finish(*s,
                       core::error{core::errc::timeout,
                                   s->what + ": no bytes for " + std::to_string(s->idle_timeout.count()) +
                                       "ms"});
            else
                finish(*s, core::error{core::errc::cancelled, s->what + " cancelled"});
            continue;
        }
        auto n = std::move(std::get<0>(read));
        if (!n) {
            auto e = std::move(n).error();
            e.message = s->what + ": " + e.message;
            finish(*s, std::move(e));
        } else if (*n == 0) {
            if (s->parser.finish_eof()) {
                s->ended = true; // a body framed by the connection's end
                finish(*s, std::nullopt);
            } else {
                finish(*s,
                       core::error{net::errc::closed,
                                   s->what + ": connection closed in the middle of the stream"});
            }
        } else {
            consume(*s, std::string_view(buffer.data(), *n));
        }
    }
}

} // namespace kubecoro::client
