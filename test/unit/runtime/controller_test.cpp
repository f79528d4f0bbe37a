// The controller's queue driver on a real io_context, with events injected by hand (no sockets).
#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/metrics/metrics.hpp>
#include <kubecoro/runtime/controller.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <map>

using namespace kubecoro;
using namespace kubecoro::runtime;
using namespace std::chrono_literals;

namespace {

const api::resource widgets{"example.com", "v1", "widgets", "Widget"};

// What reconciles saw; reconcile coroutines capture nothing and report here.
struct observations {
    int active = 0;
    int max_active = 0;
    std::map<std::string, int> calls;
    std::map<std::string, int> active_per_key;
    bool overlap = false;
    std::function<reconcile_result(const std::string&, int)> decide = [](const std::string&, int) {
        return reconcile_result::done();
    };
    std::chrono::milliseconds work = 5ms;
    int finished = 0;
    int cancelled = 0;
    bool throw_first = false; // the first reconcile of a key throws something not a std::exception
    std::vector<std::string> log_lines;
};
observations seen;

// The queue's clock in these tests: keys fall due only when a test moves it.
std::chrono::steady_clock::time_point fake_now = std::chrono::steady_clock::time_point{} + 24h;

awaitable<reconcile_result> observe(reconcile_request r) {
    std::string key = r.key();
    int n = ++seen.calls[key];
    seen.overlap = seen.overlap || seen.active_per_key[key]++ > 0;
    seen.max_active = std::max(seen.max_active, ++seen.active);
    bool slept = co_await sleep_for(seen.work);
    --seen.active;
    --seen.active_per_key[key];
    if (seen.throw_first && n == 1)
        throw 42;
    if (!slept) {
        ++seen.cancelled;
        co_return reconcile_result::retry({core::errc::cancelled, "cancelled"});
    }
    ++seen.finished;
    co_return seen.decide(key, n);
}

std::shared_ptr<controller> make_controller(std::size_t workers,
                                            std::chrono::milliseconds shutdown = 1s,
                                            metrics::registry* registry = nullptr) {
    controller_builder builder("test", nullptr);
    builder.configure([](controller_config& c) { c.queue_clock = [] { return fake_now; }; });
    if (registry)
        builder.metrics(*registry);
    auto built =
        builder.for_resource(widgets)
            .reconcile_with(observe)
            .max_concurrent_reconciles(workers)
            .shutdown_timeout(shutdown)
            .sources(event_sources::manual)
            .logger(log::logger({.min_level = log::level::info,
                                 .format = log::format::json,
                                 .out = [](std::string_view line) { seen.log_lines.emplace_back(line); }}))
            .build();
    REQUIRE(built);
    return *built;
}

// Runs the controller and `script` (which ends by stopping it); both must finish in time and
// leave no work behind on the io_context.
void run(std::shared_ptr<controller> c, std::function<awaitable<void>(std::shared_ptr<controller>)> script) {
    asio::io_context io;
    bool run_done = false;
    bool script_done = false;
    asio::co_spawn(io, c->run(), [&](std::exception_ptr e) {
        CHECK_FALSE(e);
        run_done = true;
    });
    asio::co_spawn(io, script(c), [&](std::exception_ptr e) {
        CHECK_FALSE(e);
        script_done = true;
    });
    io.run_for(5s);
    CHECK(run_done);
    CHECK(script_done);
    CHECK(io.stopped());
}

awaitable<void> wait_until(std::function<bool()> condition) {
    for (int i = 0; i < 400 && !condition(); ++i)
        co_await sleep_for(5ms);
    CHECK(condition());
}

// Nothing runs, nothing is ready and nothing is due: until the clock moves, nothing will happen.
bool settled(const controller& c) {
    auto due = c.queue().next_deadline();
    return c.active_reconciles() == 0 && c.queue().depth() == 0 && (!due || *due > fake_now);
}

// Moves the queue's clock and lets the controller see it; then waits for it to settle.
awaitable<void> move_clock(std::shared_ptr<controller> c, std::chrono::steady_clock::duration d) {
    fake_now += d;
    c->wake();
    std::function<bool()> done = [c] { return settled(*c); }; // named: see core/asio.hpp
    co_await wait_until(done);
}

} // namespace

// Enqueues ns/w on a one-worker controller; after its first reconcile, moves the queue's clock
// by `before` (no second reconcile yet) and then by `after` (the second one).
void second_reconcile_between(std::chrono::steady_clock::duration before,
                              std::chrono::steady_clock::duration after) {
    auto c = make_controller(1);
    run(c, [before, after](std::shared_ptr<controller> c) -> awaitable<void> {
        c->enqueue({"ns", "w"});
        std::function<bool()> first = [c] { return seen.calls["ns/w"] == 1 && settled(*c); };
        co_await wait_until(first);
        co_await move_clock(c, before);
        CHECK(seen.calls["ns/w"] == 1);
        co_await move_clock(c, after - before);
        CHECK(seen.calls["ns/w"] == 2);
        c->stop();
    });
}

TEST_CASE("reconciles run with bounded concurrency, never the same key twice at once") {
    seen = {};
    seen.work = 20ms;
    auto c = make_controller(2);
    run(c, [](std::shared_ptr<controller> c) -> awaitable<void> {
        for (const char* name : {"a", "b", "c", "d", "e"})
            c->enqueue({"ns", name});
        std::function<bool()> a_runs = [] { return seen.active_per_key["ns/a"] == 1; };
        co_await wait_until(a_runs);
        c->enqueue({"ns", "a"}); // while "a" runs: queued again, not run beside it
        co_await wait_until([] { return seen.finished == 6; });
        c->stop();
    });
    CHECK(seen.max_active == 2);
    CHECK_FALSE(seen.overlap);
    CHECK(seen.calls["ns/a"] == 2);
    CHECK(seen.calls["ns/e"] == 1);
}

TEST_CASE("retry comes back after the rate-limited backoff, terminal does not") {
    seen = {};
    seen.work = 1ms;
    seen.decide = [](const std::string& key, int n) {
        if (key == "ns/flaky" && n < 3)
            return reconcile_result::retry({core::errc::timeout, "try again"});
        if (key == "ns/broken")
            return reconcile_result::terminal({core::errc::invalid_argument, "bad spec"});
        return reconcile_result::done();
    };
    auto c = make_controller(1);
    run(c, [](std::shared_ptr<controller> c) -> awaitable<void> {
        c->enqueue({"ns", "flaky"});
        c->enqueue({"ns", "broken"});
        for (int i = 1; i < 3; ++i) {
            std::function<bool()> failed = [c, i] { return seen.calls["ns/flaky"] == i && settled(*c); };
            co_await wait_until(failed);
            co_await move_clock(c, 1h); // the backoff passes
        }
        co_await move_clock(c, 24h); // long enough for any backoff: "broken" does not come back
        c->stop();
    });
    CHECK(seen.calls["ns/flaky"] == 3);
    CHECK(seen.calls["ns/broken"] == 1);
    CHECK(c->queue().num_requeues("ns/flaky") == 0); // forgotten after the success
}

TEST_CASE("a retry comes back no sooner than the server's Retry-After") {
    seen = {};
    seen.work = 1ms;
    seen.decide = [](const std::string&, int n) {
        if (n > 1)
            return reconcile_result::done();
        core::error busy{api::errc::too_many_requests, "429 TooManyRequests"};
        busy.retry_after = 200s;
        return reconcile_result::from_error(busy);
    };
    second_reconcile_between(199s, 200s); // the backoff alone is 5 ms
}

TEST_CASE("a reconcile that throws anything is retried: its key is not left processing") {
    seen = {};
    seen.throw_first = true;
    auto c = make_controller(1);
    run(c, [](std::shared_ptr<controller> c) -> awaitable<void> {
        c->enqueue({"ns", "a"});
        // Named: g++ 12 destroys a temporary in a co_await expression twice.
        std::function<bool()> threw = [c] { return seen.calls["ns/a"] == 1 && settled(*c); };
        co_await wait_until(threw);
        co_await move_clock(c, 1s); // its backoff
        std::function<bool()> retried = [c] {
            return seen.calls["ns/a"] == 2 && !c->queue().is_processing("ns/a");
        };
        co_await wait_until(retried);
        CHECK(seen.finished == 1); // the second one
        c->stop();
    });
    CHECK(std::any_of(seen.log_lines.begin(), seen.log_lines.end(), [](const std::string& l) {
        return l.find("reconcile threw") != std::string::npos;
    }));
}

TEST_CASE("from_error: cancelled and a conflict retry with backoff, the rest by is_retryable") {
    CHECK(reconcile_result::from_error({core::errc::cancelled, "x"}).kind == reconcile_result::type::retry);
    auto conflict = reconcile_result::from_error({api::errc::conflict, "409"});
    CHECK(conflict.kind == reconcile_result::type::retry);
    core::error busy{api::errc::service_unavailable, "503"};
    busy.retry_after = 1s;
    auto retry = reconcile_result::from_error(busy);
    CHECK(retry.kind == reconcile_result::type::retry);
    CHECK(retry.error.retry_after == 1s);
    CHECK(reconcile_result::from_error({api::errc::invalid, "422"}).kind == reconcile_result::type::terminal);
}

TEST_CASE("requeue_after comes back after the delay") {
    seen = {};
    seen.work = 1ms;
    seen.decide = [](const std::string&, int n) {
        return n == 1 ? reconcile_result::requeue_after(30min) : reconcile_result::done();
    };
    second_reconcile_between(29min, 30min);
}

TEST_CASE("an exception from a reconcile counts as a retry") {
    seen = {};
    seen.work = 1ms;
    seen.decide = [](const std::string&, int n) -> reconcile_result {
        if (n == 1)
            throw std::runtime_error("boom");
        return reconcile_result::done();
    };
    auto c = make_controller(1);
    run(c, [](std::shared_ptr<controller> c) -> awaitable<void> {
        c->enqueue({"ns", "w"});
        std::function<bool()> threw = [c] { return seen.calls["ns/w"] == 1 && settled(*c); };
        co_await wait_until(threw);
        co_await move_clock(c, 1s); // its backoff
        CHECK(seen.calls["ns/w"] == 2);
        c->stop();
    });
    CHECK(seen.calls["ns/w"] == 2);
    // The failure is logged with where it happened.
    auto failed = std::find_if(seen.log_lines.begin(), seen.log_lines.end(), [](const std::string& l) {
        return l.find("reconcile failed") != std::string::npos;
    });
    REQUIRE(failed != seen.log_lines.end());
    CHECK(failed->find("\"controller\":\"test\"") != std::string::npos);
    CHECK(failed->find("\"namespace\":\"ns\"") != std::string::npos);
    CHECK(failed->find("\"name\":\"w\"") != std::string::npos);
    CHECK(failed->find("\"reconcileID\":\"") != std::string::npos);
    CHECK(failed->find("boom") != std::string::npos);
}

TEST_CASE("stop lets reconciles in flight finish and takes no new work") {
    seen = {};
    seen.work = 100ms;
    auto c = make_controller(1);
    run(c, [](std::shared_ptr<controller> c) -> awaitable<void> {
        c->enqueue({"ns", "a"});
        c->enqueue({"ns", "b"});
        co_await wait_until([] { return seen.active == 1; });
        c->stop();
    });
    CHECK(seen.finished == 1); // "a" ran to its end
    CHECK(seen.calls.count("ns/b") == 0);
    CHECK(c->active_reconciles() == 0);
}

TEST_CASE("reconciles still running after the shutdown timeout are cancelled") {
    seen = {};
    seen.work = 10s;
    auto c = make_controller(1, 50ms);
    auto started = std::chrono::steady_clock::now();
    run(c, [](std::shared_ptr<controller> c) -> awaitable<void> {
        c->enqueue({"ns", "slow"});
        co_await wait_until([] { return seen.active == 1; });
        c->stop();
    });
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    CHECK(seen.finished == 0);
    CHECK(seen.cancelled == 1);
}

TEST_CASE("cancelling the awaiting coroutine stops the controller gracefully") {
    seen = {};
    seen.work = 50ms;
    auto c = make_controller(1);
    asio::io_context io;
    asio::cancellation_signal cancel;
    bool done = false;
    asio::co_spawn(io, c->run(), asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
                       CHECK_FALSE(e);
                       done = true;
                   }));
    c->enqueue({"ns", "a"});
    asio::steady_timer t(io, 10ms);
    t.async_wait([&](std::error_code) { cancel.emit(asio::cancellation_type::terminal); });
    io.run_for(5s);
    CHECK(done);
    CHECK(seen.finished == 1);
    CHECK(io.stopped());
}

TEST_CASE("run() twice is a programming error") {
    seen = {};
    auto c = make_controller(1);
    run(c, [](std::shared_ptr<controller> c) -> awaitable<void> {
        co_await sleep_for(1ms);
        c->stop();
    });
    asio::io_context io;
    bool threw = false;
    asio::co_spawn(io, c->run(), [&](std::exception_ptr e) { threw = e != nullptr; });
    io.run_for(1s);
    CHECK(threw);
}

TEST_CASE("reconcile and work queue metrics") {
    seen = {};
    seen.work = 1ms;
    seen.decide = [](const std::string& key, int n) {
        return key == "ns/bad" && n == 1 ? reconcile_result::retry({core::errc::timeout, "later"})
                                         : reconcile_result::done();
    };
    metrics::registry registry;
    auto c = make_controller(3, 1s, &registry);
    run(c, [](std::shared_ptr<controller> c) -> awaitable<void> {
        c->enqueue({"ns", "good"});
        c->enqueue({"ns", "bad"});
        std::function<bool()> first = [c] { return seen.finished == 2 && settled(*c); };
        co_await wait_until(first);
        co_await move_clock(c, 1s); // the backoff of "bad"
        CHECK(seen.finished == 3);
        c->stop();
    });
    std::string text = registry.render();
    auto has = [&](const std::string& line) {
        INFO(line);
        CHECK(text.find(line + "\n") != std::string::npos);
    };
    has(R"(controller_runtime_reconcile_total{controller="test",result="success"} 2)");
    has(R"(controller_runtime_reconcile_total{controller="test",result="error"} 1)");
    has(R"(controller_runtime_reconcile_errors_total{controller="test"} 1)");
    has(R"(controller_runtime_max_concurrent_reconciles{controller="test"} 3)");
    has(R"(controller_runtime_reconcile_time_seconds_count{controller="test"} 3)");
    has(R"(workqueue_adds_total{name="test"} 3)");
    has(R"(workqueue_retries_total{name="test"} 1)");
    has(R"(workqueue_depth{name="test"} 0)");
}
