// A watcher that fails takes every controller down, and the manager learns it: the process must
// exit non-zero, not sit unready until a signal.
#include <kubecoro/core/errc.hpp>
#include <kubecoro/manager/manager.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using namespace std::chrono_literals;

namespace {

const api::resource widgets{"example.com", "v1", "widgets", "Widget"};
const api::resource gadgets{"example.com", "v1", "gadgets", "Gadget"};

// Lists of widgets throw (a bug, not an API error the watcher would retry); gadgets list empty and
// their watches stay open.
runtime::watch_source source(const api::resource& r) {
    runtime::watch_source s;
    const bool broken = r.plural == "widgets";
    s.list = [broken](std::string,
                      api::list_options,
                      const runtime::projection&) -> awaitable<core::result<json::object_list>> {
        if (broken)
            throw std::runtime_error("the widget list broke");
        json::object_list l;
        l.resource_version = "1";
        co_return l;
    };
    s.watch = [](std::string, api::watch_options) -> awaitable<core::result<runtime::watch_source::next_fn>> {
        co_return runtime::watch_source::next_fn(
            []() -> awaitable<core::result<std::optional<json::watch_event>>> {
                asio::steady_timer forever(co_await asio::this_coro::executor,
                                           std::chrono::steady_clock::time_point::max());
                co_await forever.async_wait(use_tuple);
                co_return core::fail(core::errc::cancelled, "cancelled");
            });
    };
    return s;
}

awaitable<void> forever() {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::steady_clock::time_point::max());
    co_await t.async_wait(use_tuple);
}

} // namespace

TEST_CASE("run_controllers: a failed watcher stops every controller and returns false") {
    log::logger quiet({.min_level = log::level::error, .out = [](std::string_view) {}});
    auto informers = std::make_shared<runtime::informer_cache>(nullptr, quiet, source);
    auto reconcile = [](runtime::reconcile_context) -> awaitable<runtime::reconcile_result> {
        co_return runtime::reconcile_result::done();
    };
    auto controller_of = [&](std::string name, const api::resource& r) {
        return runtime::controller_builder(std::move(name), nullptr)
            .for_resource(r)
            .reconcile_with(runtime::reconcile_fn(reconcile))
            .informers(informers)
            .logger(quiet)
            .build();
    };
    auto broken = controller_of("broken", widgets);
    auto fine = controller_of("fine", gadgets);
    REQUIRE(broken);
    REQUIRE(fine);

    asio::io_context io;
    std::optional<std::variant<bool, std::monostate>> ended;
    using namespace awaitable_operators;
    std::vector<std::shared_ptr<runtime::controller>> controllers{*broken, *fine};
    auto both = [&]() -> awaitable<void> {
        // Named: g++ 12 destroys a temporary in a co_await expression twice.
        auto run = manager::run_controllers(controllers, quiet);
        auto wait = forever();
        ended = co_await (std::move(run) || std::move(wait));
    };
    asio::co_spawn(io, both(), [](std::exception_ptr e) { CHECK_FALSE(e); });
    io.run_for(10s);
    REQUIRE(ended);
    CHECK(ended->index() == 0); // the controllers ended, not the wait for a signal
    CHECK_FALSE(std::get<0>(*ended));
    CHECK(io.stopped()); // nothing left running: the gadget watch was closed too
}
