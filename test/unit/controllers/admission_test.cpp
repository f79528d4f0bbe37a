// The Database and HelloWorld admission webhooks in-process: each refusal the controller makes is
// made at admission with the same message (checked by running both on the same object), a
// protected deletion is refused there and held by the finalizer when it gets through anyway.
#include "database/admission.hpp"
#include <kubecoro/json/json.hpp>
#include <kubecoro/manager/registry.hpp>
#include <kubecoro/testing/fake_cluster.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>

using namespace kubecoro;
using testing::text;

namespace {

const api::resource databases{"kubecoro.dev", "v1alpha1", "databases", "Database"};
const api::resource statefulsets{"apps", "v1", "statefulsets", "StatefulSet"};
const api::resource pvcs{"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"};
const api::resource helloworlds{"kubecoro.dev", "v1alpha1", "helloworlds", "HelloWorld"};

json::value database(std::string name, json::object spec) {
    return json::object{
        {"apiVersion", "kubecoro.dev/v1alpha1"},
        {"kind", "Database"},
        {"metadata", json::object{{"name", std::move(name)}, {"namespace", "demo"}}},
        {"spec", std::move(spec)},
    };
}

json::object pg(std::string version = "16", std::string storage = "2Gi") {
    return json::object{
        {"engine", "postgresql"}, {"version", std::move(version)}, {"storage", std::move(storage)}};
}

admission::request
review(std::string operation, std::optional<json::value> object, std::optional<json::value> old = {}) {
    admission::request r;
    r.uid = "u1";
    r.group = "kubecoro.dev";
    r.version = "v1alpha1";
    r.kind = "Database";
    r.resource = "databases";
    r.namespace_ = "demo";
    r.operation = std::move(operation);
    const std::optional<json::value>& named = object ? object : old;
    r.name = named ? text(named, "metadata", "name") : "";
    r.object = std::move(object);
    r.old_object = std::move(old);
    return r;
}

struct fixture {
    asio::io_context io;
    testing::fake_cluster cluster{io};
    const manager::controller_factory& factory = manager::registered_controllers().at("database");

    fixture() { cluster.serve(databases); }

    admission::verdict admit(const admission::request& r) {
        std::optional<admission::verdict> out;
        auto c = cluster.client();
        asio::co_spawn(
            io, controllers::database::admit(*c, r), [&](std::exception_ptr e, admission::verdict v) {
                REQUIRE_FALSE(e);
                out = std::move(v);
            });
        for (int i = 0; !out && i < 100000; ++i)
            io.run_one();
        io.restart();
        REQUIRE(out);
        return *out;
    }
    // The ReconcileSucceeded condition's reason and message as the controller wrote them.
    std::pair<std::string, std::string> controller_says(const std::string& name) {
        testing::running_controller db(cluster, factory);
        REQUIRE(db.settle());
        auto o = cluster.get(databases, "demo", name);
        const json::value* list = o ? o->at("status", "conditions") : nullptr;
        if (list && list->if_array())
            for (const auto& c : *list->if_array())
                if (c.at("type")->string_or("") == "ReconcileSucceeded")
                    return {c.at("reason")->string_or(""), c.at("message")->string_or("")};
        return {"<none>", ""};
    }
};

} // namespace

TEST_CASE_FIXTURE(fixture,
                  "database admission: an invalid spec is refused with the controller's own message") {
    const std::vector<json::object> bad{
        json::object{{"engine", "postgresql"}, {"version", "16"}, {"storage", "10GB"}},
        json::object{{"engine", "mysql"}, {"version", "8.4"}, {"storage", "1Gi"}, {"replicas", 3}},
        json::object{{"engine", "postgresql"},
                     {"version", "16"},
                     {"storage", "1Gi"},
                     {"backup", json::object{{"schedule", "61 * * * *"}}}},
        json::object{{"engine", "oracle"}, {"version", "16"}, {"storage", "1Gi"}},
    };
    int i = 0;
    for (const auto& spec : bad) {
        const std::string name = "bad" + std::to_string(i++);
        auto v = admit(review("CREATE", database(name, spec)));
        CHECK_FALSE(v.allowed);
        CHECK(v.code == 422);
        cluster.put(databases, database(name, spec)); // as if the webhook had been down
        auto [reason, message] = controller_says(name);
        CHECK(reason == "InvalidSpec");
        CHECK_MESSAGE(message == v.message, name);
        CHECK(v.message.starts_with("spec."));
    }
    // A name the children cannot carry.
    const std::string long_name(60, 'a');
    auto v = admit(review("CREATE", database(long_name, pg())));
    CHECK_FALSE(v.allowed);
    CHECK(v.message.find("metadata.name") != std::string::npos);
    CHECK(admit(review("CREATE", database("good", pg()))).allowed);
}

TEST_CASE_FIXTURE(fixture,
                  "database admission: a change the controller refuses is refused, with its message") {
    cluster.put(databases, database("db1", pg("16", "2Gi")));
    REQUIRE(controller_says("db1").first == "Succeeded");
    REQUIRE(cluster.get(statefulsets, "demo", "db1"));
    const json::value old = *cluster.get(databases, "demo", "db1");
    struct change {
        json::object spec;
        std::string field;
    };
    const std::vector<change> refused{
        {pg("16", "1Gi"), "spec.storage"},
        {json::object{{"engine", "mariadb"}, {"version", "11.4"}, {"storage", "2Gi"}}, "spec.engine"},
        {pg("15", "2Gi"), "spec.version"},
    };
    for (const auto& [spec, field] : refused) {
        json::value now = database("db1", spec);
        auto v = admit(review("UPDATE", now, old));
        CHECK_FALSE(v.allowed);
        CHECK_MESSAGE(v.message.starts_with(field), v.message);
        cluster.put(databases, now);
        auto [reason, message] = controller_says("db1");
        CHECK(reason == "ChangeRefused");
        CHECK(message == v.message);
        cluster.put(databases, old); // reverted
        REQUIRE(controller_says("db1").first == "Succeeded");
    }
    // Growing, and a metadata-only change of an object whose spec is already refused, pass.
    CHECK(admit(review("UPDATE", database("db1", pg("16", "3Gi")), old)).allowed);
    json::value labelled = database("db1", pg("16", "1Gi"));
    CHECK(admit(review("UPDATE", labelled, labelled)).allowed);
    // The status subresource is not judged.
    auto status = review("UPDATE", database("db1", pg("16", "1Gi")), old);
    status.subresource = "status";
    CHECK(admit(status).allowed);
}

TEST_CASE_FIXTURE(fixture,
                  "database admission: a claim kept by Retain is judged before anything is created") {
    // A PostgreSQL 15 claim left behind by an earlier Database of the same name.
    cluster.put(pvcs,
                json::object{{"metadata",
                              json::object{{"name", "data-db2-0"},
                                           {"namespace", "demo"},
                                           {"labels",
                                            json::object{{"app.kubernetes.io/instance", "db2"},
                                                         {"app.kubernetes.io/managed-by", "kubecoro"},
                                                         {"app.kubernetes.io/name", "postgresql"},
                                                         {"kubecoro.dev/postgresql-major", "15"}}}}},
                             {"spec",
                              json::object{{"resources",
                                            json::object{{"requests", json::object{{"storage", "2Gi"}}}}}}}});
    auto v = admit(review("CREATE", database("db2", pg("16", "2Gi"))));
    CHECK_FALSE(v.allowed);
    CHECK(v.message.find("claim data-db2-0 holds PostgreSQL 15 data") != std::string::npos);
    CHECK(admit(review("CREATE", database("db2", pg("15", "2Gi")))).allowed);
}

TEST_CASE_FIXTURE(
    fixture,
    "database admission: a StatefulSet or claim of the same name made by someone else is not judged") {
    json::object foreign_labels{{"app.kubernetes.io/instance", "db6"}, {"app.kubernetes.io/name", "mariadb"}};
    cluster.put(
        statefulsets,
        json::object{
            {"metadata", json::object{{"name", "db6"}, {"namespace", "demo"}, {"labels", foreign_labels}}},
            {"spec", json::object{}}});
    cluster.put(
        pvcs,
        json::object{
            {"metadata",
             json::object{{"name", "data-db6-0"}, {"namespace", "demo"}, {"labels", foreign_labels}}},
            {"spec",
             json::object{{"resources", json::object{{"requests", json::object{{"storage", "9Gi"}}}}}}}});
    CHECK(admit(review("CREATE", database("db6", pg("16", "2Gi")))).allowed);
}

TEST_CASE_FIXTURE(fixture,
                  "database admission: when the children cannot be read the change passes with a warning") {
    cluster.fail("GET", "/statefulsets/db3", 500, "etcd is slow");
    auto v = admit(review("CREATE", database("db3", pg())));
    CHECK(v.allowed);
    REQUIRE(v.warnings.size() == 1);
    CHECK(v.warnings[0].find("checks it when it reconciles") != std::string::npos);
}

TEST_CASE_FIXTURE(fixture,
                  "database admission: DoNotTerminate refuses the deletion; other policies allow it") {
    json::object spec = pg();
    spec.set("deletionPolicy", "DoNotTerminate");
    auto v = admit(review("DELETE", std::nullopt, database("db4", spec)));
    CHECK_FALSE(v.allowed);
    CHECK(v.code == 403);
    CHECK(v.message.find("spec.deletionPolicy is DoNotTerminate") != std::string::npos);
    spec.set("deletionPolicy", "Retain");
    CHECK(admit(review("DELETE", std::nullopt, database("db4", spec))).allowed);
}

TEST_CASE_FIXTURE(
    fixture, "database: DoNotTerminate deleted anyway is held by the finalizer until the policy changes") {
    json::object spec = pg();
    spec.set("deletionPolicy", "DoNotTerminate");
    cluster.put(databases, database("db5", spec));
    testing::running_controller db(cluster, factory);
    REQUIRE(db.settle());
    cluster.remove(databases, "demo", "db5"); // the webhook was down
    REQUIRE(db.settle());
    auto held = cluster.get(databases, "demo", "db5");
    REQUIRE(held);
    CHECK(held->at("metadata", "deletionTimestamp"));
    CHECK(cluster.get(statefulsets, "demo", "db5")); // still serving
    CHECK(cluster.said("DeletionProtected") == 1);
    const json::value* conditions = held->at("status", "conditions");
    REQUIRE(conditions);
    CHECK(json::write(*conditions).find("DeletionProtected") != std::string::npos);
    // A resync changes nothing and says nothing more.
    db.resync("demo", "db5");
    REQUIRE(db.settle());
    CHECK(cluster.get(databases, "demo", "db5"));
    CHECK(cluster.said("DeletionProtected") == 1);
    // Changing the policy lets the deletion finish (Retain: the claims would be kept).
    json::value retain = *held;
    retain.if_object()->find("spec")->if_object()->set("deletionPolicy", "Retain");
    cluster.put(databases, retain);
    REQUIRE(db.settle());
    CHECK_FALSE(cluster.get(databases, "demo", "db5"));
}

TEST_CASE_FIXTURE(fixture,
                  "database: DoNotTerminate holds the deletion even when the spec no longer decodes") {
    json::object spec = pg();
    spec.set("deletionPolicy", "DoNotTerminate");
    cluster.put(databases, database("db7", spec));
    testing::running_controller db(cluster, factory);
    REQUIRE(db.settle());
    spec.set("storage", "0"); // made invalid while the webhook was down
    cluster.put(databases, database("db7", spec));
    REQUIRE(db.settle());
    cluster.remove(databases, "demo", "db7");
    REQUIRE(db.settle());
    auto held = cluster.get(databases, "demo", "db7");
    REQUIRE(held);
    CHECK(held->at("metadata", "deletionTimestamp"));
    CHECK(cluster.said("DeletionProtected") == 1);
}

TEST_CASE("helloworld admission: the controller's check of spec.message") {
    asio::io_context io;
    testing::fake_cluster cluster(io);
    auto route =
        manager::registered_admissions().at("helloworld")(manager::admission_env{cluster.client(), {}});
    CHECK(route.path == "/validate-kubecoro-dev-v1alpha1-helloworld");
    auto judge = [&](json::value message) {
        admission::request r = review("CREATE",
                                      json::object{{"metadata", json::object{{"name", "h"}}},
                                                   {"spec", json::object{{"message", std::move(message)}}}});
        std::optional<admission::verdict> out;
        asio::co_spawn(io, route.admit(r), [&](std::exception_ptr, admission::verdict v) { out = v; });
        io.run();
        io.restart();
        REQUIRE(out);
        return *out;
    };
    CHECK(judge("hello").allowed);
    // A label change of a HelloWorld whose message was refused later (admitted while the webhook
    // was down: failurePolicy Ignore) passes; the controller reports the message.
    admission::request relabel = review(
        "UPDATE",
        json::object{{"metadata", json::object{{"name", "h"}}}, {"spec", json::object{{"message", 42}}}},
        json::object{{"metadata", json::object{{"name", "h"}}}, {"spec", json::object{{"message", 42}}}});
    std::optional<admission::verdict> out;
    asio::co_spawn(io, route.admit(relabel), [&](std::exception_ptr, admission::verdict v) { out = v; });
    io.run();
    io.restart();
    REQUIRE(out);
    CHECK(out->allowed);
    auto v = judge(42);
    CHECK_FALSE(v.allowed);
    CHECK(v.message == "spec.message: required, a string");
    CHECK_FALSE(judge(std::string(1024 * 1024 + 1, 'x')).allowed);
}
