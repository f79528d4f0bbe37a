#include "rtcore_helpers.hpp"
#include <kubecoro/runtime/controller.hpp>
#include <kubecoro/runtime/predicates.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using namespace kubecoro::runtime;
using runtime::test::make;
using runtime::test::with;
// (resource_version = std::string("2"), not = "2": GCC 12 at -O3 reports a false -Wrestrict in
// std::string's assignment from a literal there, GCC PR 105329.)

namespace {

const api::resource widgets{"example.com", "v1", "widgets", "Widget"};
const api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};
const api::resource secrets{"", "v1", "secrets", "Secret"};

object_ptr widget(std::string rv, long generation) {
    return make({.name = "w",
                 .rv = std::move(rv),
                 .uid = "w-uid",
                 .generation = generation,
                 .body = json::object{{"spec", json::object{{"size", 1}}},
                                      {"status", json::object{{"ready", false}}}}});
}

} // namespace

TEST_CASE("request keys round-trip") {
    CHECK(request_from_key("ns/a") == reconcile_request{"ns", "a"});
    CHECK(request_from_key("node") == reconcile_request{"", "node"});
    CHECK(reconcile_request{"ns", "a"}.key() == "ns/a");
}

TEST_CASE("primary_changed: creation and what a reconcile reads") {
    auto w = widget("1", 1);
    CHECK(primary_changed(nullptr, *w));
    CHECK_FALSE(primary_changed(w.get(), *widget("2", 1)));

    SUBCASE("a status-only change (our own status write) is ignored") {
        auto status = with(w, [](object& o) {
            o.meta.resource_version = std::string("2");
            o.body.if_object()->set("status", json::object{{"ready", true}});
        });
        CHECK_FALSE(primary_changed(w.get(), *status));
    }
    SUBCASE("a generation change enqueues") {
        CHECK(primary_changed(w.get(), *widget("2", 2)));
    }
    SUBCASE("labels, annotations, finalizers and deletion enqueue") {
        CHECK(primary_changed(w.get(), *with(w, [](object& o) { o.meta.labels.set("a", "b"); })));
        CHECK(primary_changed(w.get(), *with(w, [](object& o) { o.meta.annotations.set("a", "b"); })));
        CHECK(primary_changed(w.get(), *with(w, [](object& o) { o.meta.finalizers.push_back("f"); })));
        CHECK(primary_changed(
            w.get(), *with(w, [](object& o) { o.meta.deletion_timestamp = "2024-01-01T00:00:00Z"; })));
    }
    SUBCASE("without metadata.generation, any change outside status enqueues") {
        auto cm = make({.name = "cm", .body = json::object{{"data", json::object{{"k", "v1"}}}}});
        auto edited =
            make({.name = "cm", .rv = "2", .body = json::object{{"data", json::object{{"k", "v2"}}}}});
        CHECK(primary_changed(cm.get(), *edited));
        auto same = make({.name = "cm",
                          .rv = "3",
                          .body = json::object{{"data", json::object{{"k", "v1"}}}, {"status", 1}}});
        CHECK_FALSE(primary_changed(cm.get(), *same));
    }
}

TEST_CASE("projection_changed ignores resourceVersion alone") {
    auto c = make({.name = "c", .body = json::object{{"status", json::object{{"ready", 1}}}}});
    CHECK(projection_changed(nullptr, *c));
    CHECK_FALSE(
        projection_changed(c.get(), *with(c, [](object& o) { o.meta.resource_version = std::string("9"); })));
    CHECK(projection_changed(c.get(), *with(c, [](object& o) { o.body = json::object{}; })));
    CHECK(projection_changed(c.get(), *with(c, [](object& o) { o.meta.labels.set("x", "y"); })));
}

TEST_CASE("projection_changed on packed children: their text, then what the watcher's projection keeps") {
    auto child = [](std::string rv, json::value spec, json::value status) {
        return make_object(json::object{{"apiVersion", "v1"},
                                        {"kind", "Thing"},
                                        {"metadata", json::object{{"name", "t"}, {"resourceVersion", rv}}},
                                        {"spec", std::move(spec)},
                                        {"status", std::move(status)}},
                           keep_paths({{"spec"}, {"status"}}));
    };
    auto a = child("1", json::object{{"size", 1}}, json::object{{"ready", 0}});
    REQUIRE_FALSE(a->packed.empty());
    CHECK_FALSE(
        projection_changed(a.get(), *child("2", json::object{{"size", 1}}, json::object{{"ready", 0}})));
    auto ready = child("3", json::object{{"size", 1}}, json::object{{"ready", 1}});
    CHECK(projection_changed(a.get(), *ready));
    // A watcher that reads only spec (its cache keeps more, for another controller).
    CHECK_FALSE(projection_changed(a.get(), *ready, keep_paths({{"spec"}})));
    CHECK(projection_changed(
        a.get(), *child("4", json::object{{"size", 2}}, json::object{{"ready", 0}}), keep_paths({{"spec"}})));
}

TEST_CASE("owner_request follows the controller reference of the owner's kind and group") {
    auto child = make({.ns = "ns", .name = "c", .owner_uid = "w-uid", .owner_name = "w"});
    CHECK(owner_request(child->meta, widgets) == reconcile_request{"ns", "w"});
    api::resource other_group = widgets;
    other_group.group = "other.io";
    CHECK_FALSE(owner_request(child->meta, other_group));
    CHECK_FALSE(owner_request(child->meta, configmaps));
    CHECK_FALSE(owner_request(make({.name = "orphan"})->meta, widgets));
    api::resource cluster_owner = widgets;
    cluster_owner.scope = api::scope::cluster;
    CHECK(owner_request(child->meta, cluster_owner) == reconcile_request{"", "w"});
    CHECK(api_group("apps/v1") == "apps");
    CHECK(api_group("v1").empty());
}

namespace {

awaitable<reconcile_result> never_called(reconcile_context) {
    co_return reconcile_result::done();
}

std::shared_ptr<controller> routing_controller() {
    auto built = controller_builder("routing", nullptr)
                     .for_resource(widgets)
                     .owns(configmaps, keep_paths({{"data"}}))
                     .watches(secrets,
                              [](const object& secret) {
                                  std::vector<reconcile_request> out;
                                  auto it = secret.meta.labels.find("widget");
                                  if (it != secret.meta.labels.end())
                                      out.push_back({secret.meta.namespace_, it->second.str()});
                                  return out;
                              })
                     .reconcile_with(never_called)
                     .sources(event_sources::manual)
                     .build();
    REQUIRE(built);
    return *built;
}

std::vector<std::string> queued(const controller& c) {
    work_queue q = c.queue();
    std::vector<std::string> out;
    while (auto k = q.pop(work_queue::clock::now()))
        out.push_back(*k);
    return out;
}

using ev = watcher_event::type;

} // namespace

TEST_CASE("controller routing: primaries") {
    auto c = routing_controller();
    auto w = widget("1", 1);
    c->on_watch_event(0, {ev::applied, w, nullptr});
    CHECK(queued(*c) == std::vector<std::string>{"default/w"});

    auto c2 = routing_controller();
    auto status_only = with(w, [](object& o) {
        o.meta.resource_version = std::string("2");
        o.body.if_object()->set("status", json::object{{"ready", true}});
    });
    c2->on_watch_event(0, {ev::applied, status_only, w});
    CHECK(queued(*c2).empty());
    c2->on_watch_event(0, {ev::applied, widget("3", 2), status_only});
    CHECK(queued(*c2) == std::vector<std::string>{"default/w"});

    auto c3 = routing_controller();
    c3->on_watch_event(0, {ev::deleted, w, nullptr});
    CHECK(queued(*c3) == std::vector<std::string>{"default/w"});
}

TEST_CASE("controller routing: a child's change enqueues its owner") {
    auto c = routing_controller();
    auto cm = make({.name = "w-config", .owner_uid = "w-uid", .owner_kind = "Widget", .owner_name = "w"});
    c->on_watch_event(
        1, {ev::applied, with(cm, [](object& o) { o.meta.resource_version = std::string("2"); }), cm});
    CHECK(queued(*c).empty()); // nothing the owner reads changed
    // A field a shared cache keeps for another controller, but this one does not read.
    c->on_watch_event(1, {ev::applied, with(cm, [](object& o) { o.body = json::object{{"other", 1}}; }), cm});
    CHECK(queued(*c).empty());
    c->on_watch_event(1, {ev::applied, with(cm, [](object& o) { o.body = json::object{{"data", 1}}; }), cm});
    CHECK(queued(*c) == std::vector<std::string>{"default/w"});

    auto c2 = routing_controller();
    c2->on_watch_event(1, {ev::deleted, cm, nullptr});
    CHECK(queued(*c2) == std::vector<std::string>{"default/w"});

    auto c3 = routing_controller();
    auto foreign =
        make({.name = "x", .owner_uid = "d-uid", .owner_kind = "Deployment", .owner_api_version = "apps/v1"});
    c3->on_watch_event(1, {ev::applied, foreign, nullptr});
    CHECK(queued(*c3).empty());
}

TEST_CASE("controller routing: watched resources go through the mapper, old and new") {
    auto c = routing_controller();
    auto s = make({.name = "creds"});
    auto labelled = with(s, [](object& o) {
        o.meta.resource_version = std::string("2");
        o.meta.labels.set("widget", "a");
    });
    c->on_watch_event(2, {ev::applied, labelled, nullptr});
    CHECK(queued(*c) == std::vector<std::string>{"default/a"});

    auto c2 = routing_controller();
    auto moved = with(labelled, [](object& o) {
        o.meta.resource_version = std::string("3");
        o.meta.labels.set("widget", "b");
    });
    c2->on_watch_event(2, {ev::applied, moved, labelled});
    CHECK(queued(*c2) == std::vector<std::string>{"default/b", "default/a"});
}

TEST_CASE("controller_builder validates") {
    CHECK_FALSE(controller_builder("x", nullptr).for_resource(widgets).reconcile_with(never_called).build());
    CHECK_FALSE(
        controller_builder("x", nullptr).reconcile_with(never_called).sources(event_sources::manual).build());
    CHECK_FALSE(
        controller_builder("x", nullptr).for_resource(widgets).sources(event_sources::manual).build());
    CHECK_FALSE(controller_builder("x", nullptr)
                    .for_resource(widgets)
                    .reconcile_with(never_called)
                    .max_concurrent_reconciles(0)
                    .sources(event_sources::manual)
                    .build());
    auto ok = controller_builder("x", nullptr)
                  .for_resource(widgets)
                  .owns(configmaps)
                  .reconcile_with(never_called)
                  .sources(event_sources::manual)
                  .build();
    REQUIRE(ok);
    CHECK((*ok)->synced());
    CHECK((*ok)->cache(configmaps) != nullptr);
    CHECK((*ok)->cache(secrets) == nullptr);
    CHECK((*ok)->primary() == widgets);
}
