// The process's shared caches: one watcher per kind and scope, what it keeps, and handlers that
// arrive while it runs. Against the fake cluster's lists and watches.
#include <kubecoro/runtime/informer_cache.hpp>
#include <kubecoro/testing/fake_cluster.hpp>

#include <doctest/doctest.h>

#include <map>
#include <string>

using namespace kubecoro;
using namespace kubecoro::runtime;
using namespace std::chrono_literals;

namespace {

const api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};
const api::resource secrets{"", "v1", "secrets", "Secret"};

json::value configmap(std::string name, std::string app) {
    return json::object{
        {"metadata",
         json::object{
             {"name", std::move(name)}, {"namespace", "demo"}, {"labels", json::object{{"app", app}}}}},
        {"data", json::object{{"k", "v"}}},
        {"extra", json::object{{"x", "y"}}},
    };
}

watcher_config of(const api::resource& r, projection p, std::vector<std::string> labels = {}) {
    watcher_config c;
    c.resource = r;
    c.project = std::move(p);
    c.indexed_labels = std::move(labels);
    return c;
}

// What one handler heard: applied objects by name, and whether it was told the cache synced.
struct heard {
    std::map<std::string, int> applied;
    bool synced = false;
    watcher_handler handler() {
        return [this](const watcher_event& e) {
            if (e.kind == watcher_event::type::synced)
                synced = true;
            else if (e.kind == watcher_event::type::applied)
                ++applied[e.object->meta.name];
        };
    }
};

struct fixture {
    asio::io_context io;
    testing::fake_cluster cluster{io};
    std::shared_ptr<informer_cache> cache = cluster.informers();
    std::vector<asio::cancellation_signal> runs = std::vector<asio::cancellation_signal>(4);
    int running = 0;

    // Starts one more run() of the cache (as one more controller would).
    void start() {
        ++running;
        asio::co_spawn(io,
                       cache->run(),
                       asio::bind_cancellation_slot(runs.at(static_cast<std::size_t>(running - 1)).slot(),
                                                    [this](std::exception_ptr) { --running; }));
    }
    // Runs the io_context until `done` holds (false when it does not within 10 s).
    bool until(const std::function<bool()>& done) {
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            io.run_one_for(20ms);
            io.restart();
        }
        return done();
    }
    ~fixture() {
        for (auto& s : runs)
            s.emit(asio::cancellation_type::terminal);
        until([this] { return running == 0; });
    }
};

} // namespace

TEST_CASE_FIXTURE(
    fixture, "informer_cache: two handlers of one kind share one list and watch that keeps what both read") {
    cluster.put(configmaps, configmap("a", "one"));
    heard first, second;
    auto w1 = cache->watch(of(configmaps, keep_paths({{"data"}})), first.handler());
    auto w2 = cache->watch(of(configmaps, keep_paths({{"extra"}}), {"app"}), second.handler());
    CHECK(w1 == w2);
    CHECK(cache->size() == 1);
    start();
    REQUIRE(until([&] { return first.synced && second.synced; }));
    CHECK(cluster.lists(configmaps) == 1);
    CHECK(first.applied["a"] == 1);
    CHECK(second.applied["a"] == 1);
    object_ptr a = w1->cache().get("demo", "a");
    REQUIRE(a);
    CHECK(a->tree().at("data", "k"));
    CHECK(a->tree().at("extra", "x"));
    CHECK(w1->cache().labelled("demo", "app", "one").size() == 1);

    // Later changes reach both.
    cluster.put(configmaps, configmap("b", "two"));
    REQUIRE(until([&] { return first.applied["b"] == 1 && second.applied["b"] == 1; }));
    CHECK(w1->cache().labelled("demo", "app", "two").size() == 1);
}

TEST_CASE_FIXTURE(fixture, "informer_cache: another kind or another selector is another watcher") {
    heard a, b, c;
    auto w1 = cache->watch(of(configmaps, keep_metadata()), a.handler());
    auto w2 = cache->watch(of(secrets, keep_metadata()), b.handler());
    auto selected = of(configmaps, keep_metadata());
    selected.label_selector = "app=one";
    auto w3 = cache->watch(selected, c.handler());
    CHECK(w1 != w2);
    CHECK(w1 != w3);
    CHECK(cache->size() == 3);
}

TEST_CASE_FIXTURE(
    fixture,
    "informer_cache: a handler added while it runs is told what the cache holds when run() is next called") {
    cluster.put(configmaps, configmap("a", "one"));
    heard first, late, wider;
    cache->watch(of(configmaps, keep_paths({{"data"}, {"extra"}})), first.handler());
    start();
    REQUIRE(until([&] { return first.synced; }));

    // It keeps at least as much: shared, and nothing is listed again.
    auto shared = cache->watch(of(configmaps, keep_paths({{"data"}})), late.handler());
    CHECK(cache->size() == 1);
    CHECK(late.applied.empty()); // not before its controller runs
    start();
    REQUIRE(until([&] { return late.synced; }));
    CHECK(late.applied["a"] == 1);
    CHECK(cluster.lists(configmaps) == 1);

    // It keeps less than asked (or indexes less): a watcher of its own.
    auto own = cache->watch(of(configmaps, keep_all()), wider.handler());
    CHECK(own != shared);
    CHECK(cache->size() == 2);
    start();
    REQUIRE(until([&] { return wider.synced; }));
    CHECK(wider.applied["a"] == 1);
    REQUIRE(own->cache().get("demo", "a"));
    CHECK(own->cache().get("demo", "a")->tree().at("metadata") == nullptr);
    CHECK(own->cache().get("demo", "a")->tree().at("extra", "x"));

    // Everyone hears later changes once.
    cluster.put(configmaps, configmap("b", "two"));
    REQUIRE(until([&] { return first.applied["b"] && late.applied["b"] && wider.applied["b"]; }));
    CHECK(first.applied["b"] == 1);
    CHECK(late.applied["b"] == 1);
}

TEST_CASE_FIXTURE(fixture, "informer_cache: the watchers run until the last caller stops") {
    heard h;
    auto w = cache->watch(of(configmaps, keep_metadata()), h.handler());
    start();
    start();
    REQUIRE(until([&] { return h.synced; }));
    runs[0].emit(asio::cancellation_type::terminal);
    REQUIRE(until([&] { return running == 1; }));
    cluster.put(configmaps, configmap("a", "one"));
    CHECK(until([&] { return h.applied["a"] == 1; })); // still watching
    runs[1].emit(asio::cancellation_type::terminal);
    CHECK(until([&] { return running == 0; }));
}

TEST_CASE("projection: merged keeps what either keeps; a path under a kept one adds nothing") {
    auto decoded = [] {
        return json::value(json::object{{"apiVersion", "v1"},
                                        {"kind", "X"},
                                        {"spec", json::object{{"replicas", 3}, {"image", "i"}}},
                                        {"status", json::object{{"ready", 1}}},
                                        {"data", "d"}});
    };
    // The nested path first: keeping "spec" must still keep all of spec.
    projection p = keep_paths({{"spec", "replicas"}}).merged(keep_paths({{"spec"}, {"status"}}));
    json::value kept = p(decoded());
    CHECK(kept.at("spec", "replicas"));
    CHECK(kept.at("spec", "image"));
    CHECK(kept.at("status", "ready"));
    CHECK(kept.at("data") == nullptr);
    CHECK(kept.at("kind"));
    CHECK(p.covers(keep_paths({{"spec", "image"}})));
    CHECK(p.covers(keep_metadata()));
    CHECK_FALSE(p.covers(keep_paths({{"data"}})));
    CHECK_FALSE(p.covers(keep_all()));
    CHECK(keep_metadata().merged(keep_all()).keeps_everything());
    CHECK(keep_all().covers(p));
    CHECK(keep_metadata()(decoded()).at("spec") == nullptr);
}

TEST_CASE("informer_cache: a watcher that fails ends every run() with its exception") {
    asio::io_context io;
    testing::fake_cluster cluster{io};
    auto make_source = [&cluster](const api::resource& r) {
        watch_source s = cluster.source(r);
        if (r.plural == "secrets")
            s.list = [](std::string, api::list_options, const runtime::projection&)
                -> awaitable<core::result<json::object_list>> { throw std::runtime_error("broken list"); };
        return s;
    };
    log::logger quiet({.min_level = log::level::error, .out = [](std::string_view) {}});
    auto cache = std::make_shared<informer_cache>(cluster.client(), quiet, make_source);
    heard h;
    cache->watch(of(configmaps, keep_metadata()), h.handler());
    cache->watch(of(secrets, keep_metadata()), h.handler());
    int threw = 0;
    for (int i = 0; i < 2; ++i)
        asio::co_spawn(io, cache->run(), [&threw](std::exception_ptr e) {
            try {
                if (e)
                    std::rethrow_exception(e);
            } catch (const std::runtime_error& ex) {
                threw += std::string(ex.what()) == "broken list";
            }
        });
    io.run_for(10s);
    CHECK(threw == 2);
    CHECK(io.stopped()); // the ConfigMap watch was closed as well
}
