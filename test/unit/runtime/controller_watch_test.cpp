// A controller fed by scripted watchers: the path from list/watch to reconcile, with the caches
// a reconcile reads.
#include "fake_source.hpp"
#include <kubecoro/runtime/controller.hpp>

#include <doctest/doctest.h>

#include <optional>

using namespace kubecoro;
using namespace kubecoro::runtime;
using namespace kubecoro::runtime::test;
using namespace std::chrono_literals;

namespace {

const api::resource widgets{"example.com", "v1", "widgets", "Widget"};
const api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};

json::value widget(std::string rv, long generation, json::value status = json::object{}) {
    return json::object{
        {"apiVersion", "example.com/v1"},
        {"kind", "Widget"},
        {"metadata",
         json::object{{"name", "w"},
                      {"namespace", "ns"},
                      {"uid", "w-uid"},
                      {"resourceVersion", rv},
                      {"generation", generation}}},
        {"spec", json::object{{"size", 1}}},
        {"status", std::move(status)},
    };
}

json::value child(std::string rv, std::string value) {
    json::value c = cm("ns", "w-config", rv, json::object{{"key", value}});
    (*c.if_object()->find("metadata")->if_object())
        .set("ownerReferences",
             json::array{json::object{{"apiVersion", "example.com/v1"},
                                      {"kind", "Widget"},
                                      {"name", "w"},
                                      {"uid", "w-uid"},
                                      {"controller", true}}});
    return c;
}

struct reconcile_seen {
    std::string key;
    bool found = false;
    std::int64_t size = 0;
    std::vector<std::string> children;
};
std::vector<reconcile_seen> reconciles;
// What `look` returns: done, or (when set) requeue_after.
std::optional<std::chrono::milliseconds> requeue_for;

awaitable<reconcile_result> look(reconcile_context ctx) {
    reconcile_seen s;
    s.key = ctx.request().key();
    if (object_ptr w = ctx.get()) {
        s.found = true;
        s.size = w->body.at("spec", "size") ? w->body.at("spec", "size")->int_or(0) : 0;
    }
    for (const object_ptr& c : ctx.owned(configmaps))
        s.children.push_back(c->meta.name + "=" + c->tree().at("data", "key")->string_or(""));
    reconciles.push_back(s);
    co_return requeue_for ? reconcile_result::requeue_after(*requeue_for) : reconcile_result::done();
}

awaitable<void> wait_until(std::function<bool()> condition) {
    for (int i = 0; i < 1000 && !condition(); ++i)
        co_await sleep_for(2ms);
    REQUIRE(condition());
}

awaitable<void> script(std::shared_ptr<controller> c,
                       std::shared_ptr<fake_api> widget_api,
                       std::shared_ptr<fake_api> cm_api) {
    auto idle = [c] { return c->queue().depth() == 0 && c->active_reconciles() == 0; };
    // The initial lists: the widget and its child arrive; one reconcile sees both.
    co_await wait_until(
        [&] { return c->synced() && widget_api->opened.size() == 1 && cm_api->opened.size() == 1; });
    co_await wait_until([&] { return reconciles.size() == 1 && idle(); });
    CHECK(c->queue().delayed() == 1); // its resync

    // Our own status write, and a child update that changes nothing its owner reads: no reconcile.
    widget_api->opened[0]->push_back(
        event(json::event_type::modified, widget("11", 1, json::object{{"ready", true}})));
    cm_api->opened[0]->push_back(event(json::event_type::modified, child("21", "a")));
    co_await wait_until([&] {
        return cm_api->opened[0]->empty() && widget_api->opened[0]->empty() &&
               c->cache(configmaps)->get("ns/w-config")->meta.resource_version == "21";
    });
    // The handlers ran as the cache changed: an enqueued key would be in the queue by now.
    CHECK(idle());
    CHECK(reconciles.size() == 1);

    // The child's data changes: its owner is reconciled.
    cm_api->opened[0]->push_back(event(json::event_type::modified, child("22", "b")));
    co_await wait_until([&] { return reconciles.size() == 2 && idle(); });

    // The widget is deleted: reconciled once more, finding nothing in the cache.
    widget_api->opened[0]->push_back(event(json::event_type::deleted, widget("12", 1)));
    co_await wait_until([&] { return reconciles.size() == 3 && idle(); });
    c->stop();
}

// The queue's clock in the resync test: a resync falls due only when the test moves it.
std::chrono::steady_clock::time_point fake_now = std::chrono::steady_clock::time_point{} + 24h;

awaitable<void> resync_script(std::shared_ptr<controller> c) {
    // Named: g++ 12 destroys a temporary in a co_await expression twice.
    std::function<bool()> settled = [c] {
        auto due = c->queue().next_deadline();
        return c->active_reconciles() == 0 && c->queue().depth() == 0 && (!due || *due > fake_now);
    };
    std::size_t want = 1;
    std::function<bool()> reconciled = [&] { return reconciles.size() == want && settled(); };
    co_await wait_until(reconciled);
    // 10 min with 10% jitter: due in [9 min, 11 min).
    for (; want <= 2;) {
        fake_now += 9min - 1s;
        c->wake();
        co_await wait_until(settled);
        CHECK(reconciles.size() == want);
        fake_now += 2min + 1s;
        c->wake();
        ++want;
        co_await wait_until(reconciled);
    }
    c->stop();
}

std::shared_ptr<controller> widget_controller(std::shared_ptr<fake_api> widget_api,
                                              std::shared_ptr<fake_api> cm_api,
                                              std::chrono::milliseconds resync = 10min) {
    auto built = controller_builder("widgets", nullptr)
                     .for_resource(widgets)
                     .owns(configmaps, keep_paths({{"data"}}))
                     .reconcile_with(look)
                     .resync_period(resync)
                     .configure([widget_api, cm_api](controller_config& c) {
                         c.queue_clock = [] { return fake_now; };
                         c.make_source = [widget_api, cm_api](const api::resource& r) {
                             return source(r.plural == "widgets" ? widget_api : cm_api);
                         };
                     })
                     .logger(log::logger({.min_level = log::level::error, .out = [](std::string_view) {}}))
                     .build();
    REQUIRE(built);
    return *built;
}

} // namespace

TEST_CASE("controller over watchers: initial list, child changes, status-only changes, deletion") {
    reconciles.clear();
    auto widget_api = std::make_shared<fake_api>();
    auto cm_api = std::make_shared<fake_api>();
    widget_api->list_answers[""].push_back(page({widget("1", 1)}, "10"));
    cm_api->list_answers[""].push_back(page({child("2", "a")}, "20"));
    auto c = widget_controller(widget_api, cm_api);
    CHECK_FALSE(c->synced());

    asio::io_context io;
    bool done = false;
    asio::co_spawn(io, c->run(), [&](std::exception_ptr e) {
        CHECK_FALSE(e);
        done = true;
    });
    asio::co_spawn(io, script(c, widget_api, cm_api), [&](std::exception_ptr e) { CHECK_FALSE(e); });
    io.run_for(5s);
    CHECK(done);
    CHECK(io.stopped());
    CHECK(widget_api->open_watches == 0);
    CHECK(cm_api->open_watches == 0);
    CHECK(c->synced());

    REQUIRE(reconciles.size() == 3);
    for (const auto& r : reconciles)
        CHECK(r.key == "ns/w");
    CHECK(reconciles[0].found);
    CHECK(reconciles[0].size == 1);
    CHECK(reconciles[0].children == std::vector<std::string>{"w-config=a"});
    CHECK(reconciles[1].children == std::vector<std::string>{"w-config=b"});
    CHECK_FALSE(reconciles[2].found);
    CHECK(reconciles[2].children.empty());
    CHECK(c->cache(widgets)->get("ns/w") == nullptr);
}

// One widget with a 10 min resync period, the queue's clock moved by resync_script: how many
// reconciles it saw (listed once, then each resync).
std::size_t reconciles_over_two_resyncs() {
    reconciles.clear();
    auto widget_api = std::make_shared<fake_api>();
    auto cm_api = std::make_shared<fake_api>();
    widget_api->list_answers[""].push_back(page({widget("1", 1)}, "10"));
    cm_api->list_answers[""].push_back(page({}, "20"));
    auto c = widget_controller(widget_api, cm_api, 10min);
    asio::io_context io;
    bool done = false;
    asio::co_spawn(io, c->run(), [&](std::exception_ptr e) {
        CHECK_FALSE(e);
        done = true;
    });
    asio::co_spawn(io, resync_script(c), [&](std::exception_ptr e) { CHECK_FALSE(e); });
    io.run_for(5s);
    CHECK(done);
    CHECK(io.stopped());
    return reconciles.size();
}

TEST_CASE("controller over watchers: a successful reconcile comes back after the resync period") {
    CHECK(reconciles_over_two_resyncs() == 3); // listed once, resynced twice, without any event
}

TEST_CASE("controller over watchers: a recheck later than the resync period does not put drift repair off") {
    requeue_for = std::chrono::hours(5); // e.g. the next backup
    const std::size_t seen = reconciles_over_two_resyncs();
    requeue_for.reset();
    CHECK(seen == 3); // listed once, then at the resync period, twice
}
