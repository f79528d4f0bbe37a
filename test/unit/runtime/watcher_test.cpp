// The watcher driver against a scripted source: paging, watching, relisting, cancellation.
#include "fake_source.hpp"
#include <kubecoro/api/errc.hpp>
#include <kubecoro/runtime/watcher.hpp>

#include <doctest/doctest.h>

#include <algorithm>

using namespace kubecoro;
using namespace kubecoro::runtime;
using namespace kubecoro::runtime::test;
using namespace std::chrono_literals;

namespace {

const api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};

struct seen_event {
    watcher_event::type kind;
    std::string key;
    std::string rv;
    std::string old_rv;
};

struct harness {
    std::shared_ptr<fake_api> fake = std::make_shared<fake_api>();
    std::vector<seen_event> events;
    std::vector<std::string> errors;
    std::shared_ptr<watcher> w;

    explicit harness(std::vector<std::string> namespaces = {"ns"}, projection keep = keep_all()) {
        watcher_config config;
        config.project = std::move(keep);
        config.resource = configmaps;
        config.namespaces = std::move(namespaces);
        config.label_selector = "app=x";
        config.backoff = {1ms, 4ms, 2.0, 0.0, 120s};
        w = std::make_shared<watcher>(source(fake), config, [this](const watcher_event& e) {
            seen_event s{e.kind, "", "", ""};
            if (e.object) {
                s.key = object_key(e.object->meta);
                s.rv = e.object->meta.resource_version;
            }
            if (e.old)
                s.old_rv = e.old->meta.resource_version;
            events.push_back(s);
        });
        w->on_error = [this](const watcher_config&, std::string_view ns, const core::error& e) {
            errors.push_back(std::string(ns) + ": " + e.message);
        };
    }

    // Runs the watcher until `done` holds, then cancels it; it must end, leaving nothing behind.
    void run_until(std::function<bool()> done) {
        asio::io_context io;
        asio::cancellation_signal cancel;
        bool ended = false;
        asio::co_spawn(io, w->run(), asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
                           CHECK_FALSE(e);
                           ended = true;
                       }));
        asio::steady_timer poll(io);
        std::function<void(std::error_code)> check = [&](std::error_code) {
            if (done()) {
                cancel.emit(asio::cancellation_type::terminal);
                return;
            }
            poll.expires_after(1ms);
            poll.async_wait(check);
        };
        poll.expires_after(1ms);
        poll.async_wait(check);
        io.run_for(5s);
        CHECK(done());
        CHECK(ended);
        CHECK(io.stopped());
        CHECK(fake->open_watches == 0);
    }
};

} // namespace

TEST_CASE("watcher: pages, watch, bookmark, clean end, 410 and a relist that swaps the store") {
    harness h;
    auto& lists = h.fake->list_answers["ns"];
    lists.push_back(page({cm("ns", "a", "1")}, "", "c1"));
    lists.push_back(page({cm("ns", "b", "2")}, "10"));
    lists.push_back(page({cm("ns", "a", "12"), cm("ns", "c", "11")}, "20"));
    auto& watches = h.fake->watch_scripts["ns"];
    watches.push_back({event(json::event_type::added, cm("ns", "c", "11")), bookmark("15"), clean_end()});
    watches.push_back({core::fail(core::error{api::errc::gone, "410 Expired"})});

    h.run_until([&] { return h.fake->watches.size() == 3; });

    auto& calls = h.fake->lists;
    REQUIRE(calls.size() == 3);
    CHECK(calls[0].ns == "ns");
    CHECK(calls[0].options.limit == 100);
    CHECK(calls[0].options.label_selector == "app=x");
    CHECK(calls[0].options.continue_token.empty());
    CHECK(calls[1].options.continue_token == "c1");
    CHECK(calls[2].options.continue_token.empty()); // the relist starts over

    auto& w = h.fake->watches;
    CHECK(w[0].options.resource_version == "10");
    CHECK(w[0].options.allow_bookmarks);
    CHECK(w[0].options.label_selector == "app=x");
    CHECK(w[0].options.timeout_seconds >= 240);
    CHECK(w[0].options.timeout_seconds < 300);
    CHECK(w[1].options.resource_version == "15"); // after the bookmark and the clean end
    CHECK(w[2].options.resource_version == "20"); // after the relist

    using t = watcher_event::type;
    std::vector<std::string> trace;
    for (const auto& e : h.events)
        trace.push_back(e.kind == t::synced ? "synced"
                        : e.kind == t::deleted
                            ? "deleted " + e.key
                            : "applied " + e.key + "@" + e.rv + (e.old_rv.empty() ? "" : "<-" + e.old_rv));
    std::vector<std::string> expected{
        // Both pages, reported only once the list is complete.
        "applied ns/a@1",
        "applied ns/b@2",
        "synced",
        "applied ns/c@11",
        // The relist: a changed, b vanished, c unchanged.
        "applied ns/a@12<-1",
        "deleted ns/b",
    };
    CHECK(trace == expected);
    CHECK(h.w->synced());
    CHECK(h.w->cache().size() == 2);
    CHECK(h.w->cache().get("ns/a")->meta.resource_version == "12");
    CHECK(h.w->cache().get("ns/b") == nullptr);
    REQUIRE(h.errors.size() == 1);
    CHECK(h.errors[0] == "ns: 410 Expired");
}

TEST_CASE("watcher: the store keeps the old contents until a relist completes") {
    harness h;
    auto& lists = h.fake->list_answers["ns"];
    lists.push_back(page({cm("ns", "a", "1")}, "10"));
    lists.push_back(page({cm("ns", "b", "20")}, "", "next")); // then the second page never comes
    h.fake->watch_scripts["ns"].push_back({core::fail(core::error{api::errc::gone, "410"})});
    h.run_until([&] { return h.fake->lists.size() == 3; });
    CHECK(h.w->cache().get("ns/a") != nullptr);
    CHECK(h.w->cache().get("ns/b") == nullptr);
    CHECK(h.fake->lists[2].options.continue_token == "next");
}

TEST_CASE("watcher: failures back off and retry where they were") {
    harness h;
    auto& lists = h.fake->list_answers["ns"];
    lists.push_back(core::fail(core::error{api::errc::server_error, "500 boom"}));
    lists.push_back(page({cm("ns", "a", "1")}, "10"));
    auto& watches = h.fake->watch_scripts["ns"];
    watches.push_back({event(json::event_type::modified, cm("ns", "a", "11")),
                       core::fail(core::error{core::errc::timeout, "no bytes"})});
    h.run_until([&] { return h.fake->watches.size() == 2; });
    CHECK(h.fake->lists.size() == 2);
    CHECK(h.fake->watches[1].options.resource_version == "11");
    CHECK(h.errors == std::vector<std::string>{"ns: 500 boom", "ns: no bytes"});
    CHECK(h.w->cache().get("ns/a")->meta.resource_version == "11");
}

TEST_CASE("watcher: one stream per namespace; synced once all have listed") {
    harness h({"x", "y"});
    h.fake->list_answers["x"].push_back(page({cm("x", "a", "1")}, "10"));
    h.fake->list_answers["y"].push_back(page({cm("y", "b", "2")}, "20"));
    h.fake->watch_scripts["x"].push_back({event(json::event_type::deleted, cm("x", "a", "11"))});
    h.run_until([&] { return h.fake->watches.size() == 2 && h.w->cache().size() == 1; });
    CHECK(h.w->synced());
    long synced = std::count_if(h.events.begin(), h.events.end(), [](const seen_event& e) {
        return e.kind == watcher_event::type::synced;
    });
    CHECK(synced == 1);
    CHECK(h.w->cache().get("y/b") != nullptr);
    std::vector<std::string> watched{h.fake->watches[0].ns, h.fake->watches[1].ns};
    std::sort(watched.begin(), watched.end());
    CHECK(watched == std::vector<std::string>{"x", "y"});
}

TEST_CASE("watcher: the source reduces list items to the watcher's projection as it decodes them") {
    harness h({"ns"}, keep_paths({{"data", "a"}}));
    h.fake->list_answers["ns"].push_back(
        page({cm("ns", "a", "1", json::object{{"a", "1"}, {"b", "2"}})}, "10"));
    h.run_until([&] { return h.w->cache().size() == 1; });
    REQUIRE(h.fake->lists.size() >= 1);
    const projection& asked = h.fake->lists[0].keep;
    CHECK_FALSE(asked.keeps_everything());
    CHECK(asked.covers(keep_paths({{"data", "a"}})));
    CHECK_FALSE(asked.covers(keep_paths({{"data", "b"}})));
    // The fake source did not reduce; the watcher projects all the same.
    CHECK(h.w->cache().get("ns/a")->tree().at("data", "b") == nullptr);
}

TEST_CASE("watcher: not synced while the first list fails") {
    harness h;
    for (int i = 0; i < 3; ++i)
        h.fake->list_answers["ns"].push_back(core::fail(core::error{api::errc::forbidden, "403 forbidden"}));
    h.run_until([&] { return h.fake->lists.size() == 4; });
    CHECK_FALSE(h.w->synced());
    CHECK(h.errors.size() == 3);
    CHECK(h.events.empty());
}
