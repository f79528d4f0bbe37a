// Both controllers on the process's one cache, as the manager runs them: one list and watch per
// kind, and each controller woken only by its own children.
#include <kubecoro/json/json.hpp>
#include <kubecoro/manager/registry.hpp>
#include <kubecoro/testing/fake_cluster.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;
using testing::text;

namespace {

const api::resource helloworlds{"kubecoro.dev", "v1alpha1", "helloworlds", "HelloWorld"};
const api::resource databases{"kubecoro.dev", "v1alpha1", "databases", "Database"};
const api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};

struct fixture {
    asio::io_context io;
    testing::fake_cluster cluster{io};
    const manager::controller_factory& hello = manager::registered_controllers().at("helloworld");
    const manager::controller_factory& database = manager::registered_controllers().at("database");

    fixture() {
        cluster.serve(databases);
        cluster.put(helloworlds,
                    json::object{{"metadata", json::object{{"name", "greeting"}, {"namespace", "demo"}}},
                                 {"spec", json::object{{"message", "hi"}}}});
        cluster.put(databases,
                    json::object{{"metadata", json::object{{"name", "db1"}, {"namespace", "demo"}}},
                                 {"spec",
                                  json::object{{"engine", "postgresql"},
                                               {"version", "16"},
                                               {"storage", "1Gi"},
                                               {"deletionPolicy", "Retain"}}}});
    }
};

bool settle(testing::running_controller& a, testing::running_controller& b) {
    return a.settle() && b.settle() && a.settle();
}

} // namespace

TEST_CASE_FIXTURE(fixture,
                  "shared cache: HelloWorld and Database list and watch ConfigMaps once between them") {
    auto informers = cluster.informers();
    testing::running_controller hw(cluster, hello, {}, informers);
    testing::running_controller db(cluster, database, {}, informers);
    REQUIRE(settle(hw, db));
    CHECK(text(cluster.get(configmaps, "demo", "greeting"), "data", "message") == "hi");
    CHECK(cluster.get(configmaps, "demo", "db1-init"));
    CHECK(cluster.lists(configmaps) == 1);
    CHECK(cluster.lists(helloworlds) == 1);
    CHECK(cluster.lists(databases) == 1);

    // A HelloWorld's ConfigMap changed by hand wakes HelloWorld, not Database.
    auto before = db.reconciles();
    auto cm = *cluster.get(configmaps, "demo", "greeting");
    cm.if_object()->set("data", json::object{{"message", "tampered"}});
    cluster.put(configmaps, cm);
    REQUIRE(settle(hw, db));
    CHECK(text(cluster.get(configmaps, "demo", "greeting"), "data", "message") == "hi");
    CHECK(db.reconciles() == before);
}

TEST_CASE_FIXTURE(fixture, "shared cache: each controller on a cache of its own lists ConfigMaps once each") {
    // The control for the test above: without sharing, the same work lists twice.
    testing::running_controller hw(cluster, hello);
    testing::running_controller db(cluster, database);
    REQUIRE(settle(hw, db));
    CHECK(cluster.lists(configmaps) == 2);
}

TEST_CASE_FIXTURE(
    fixture,
    "shared cache: a controller started after another already watches its kinds still sees everything") {
    auto informers = cluster.informers();
    testing::running_controller hw(cluster, hello, {}, informers);
    REQUIRE(hw.settle());
    {
        // Database's children made by an earlier operator, so there is something already cached.
        testing::running_controller earlier(cluster, database);
        REQUIRE(earlier.settle());
    }
    auto writes = cluster.count("PATCH", "/configmaps/db1-init");
    auto lists = cluster.lists(configmaps);
    testing::running_controller db(cluster, database, {}, informers);
    REQUIRE(settle(hw, db));
    CHECK(cluster.lists(configmaps) == lists); // the running ConfigMap watch is shared, not listed again
    CHECK(db.reconciles() >= 1);
    CHECK(cluster.count("PATCH", "/configmaps/db1-init") == writes); // seen as cached: nothing drifted
    CHECK(db.get().synced());
}
