// The one place that names Asio's version-specific spellings (Debian's Asio is 1.22.1:
// as_tuple, awaitable_operators and channel still live in asio::experimental).
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/version.hpp>

#include <chrono>

static_assert(ASIO_VERSION >= 102201, "kubecoro needs Asio 1.22.1 or newer");

// g++ 12 miscompiles braced temporaries inside a co_await expression (an aggregate or a braced
// list passed to a coroutine is destroyed twice): name them in a variable first.

namespace kubecoro {

template <class T = void>
using awaitable = asio::awaitable<T>;

// Completion token: `auto [ec, n] = co_await sock.async_read_some(buf, use_tuple);`
inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

template <class Signature>
using channel = asio::experimental::channel<Signature>;

namespace awaitable_operators = asio::experimental::awaitable_operators;

// Whether the coroutine whose state this is has been asked to stop.
inline bool cancelled(const asio::cancellation_state& cs) {
    return cs.cancelled() != asio::cancellation_type::none;
}

// Suspends for `d` on the current executor; returns false when cancelled.
inline awaitable<bool> sleep_for(std::chrono::steady_clock::duration d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    auto [ec] = co_await timer.async_wait(use_tuple);
    co_return !ec;
}

} // namespace kubecoro
