// The Database controller in-process against a fake cluster: the protocol around its reconcile
// (status, events, finalizer, deletion policies) and the credentials it must never invent.
#include <kubecoro/json/json.hpp>
#include <kubecoro/manager/registry.hpp>
#include <kubecoro/testing/fake_cluster.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;
using testing::text;
using namespace std::chrono_literals;

namespace {

const api::resource databases{"kubecoro.dev", "v1alpha1", "databases", "Database"};
const api::resource secrets{"", "v1", "secrets", "Secret"};
const api::resource statefulsets{"apps", "v1", "statefulsets", "StatefulSet"};
const api::resource services{"", "v1", "services", "Service"};
const api::resource pvcs{"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"};
const api::resource cronjobs{"batch", "v1", "cronjobs", "CronJob"};

json::value database(std::string name, std::string version = "16", std::string deletion = "Retain") {
    return json::object{
        {"metadata", json::object{{"name", std::move(name)}, {"namespace", "demo"}}},
        {"spec",
         json::object{{"engine", "postgresql"},
                      {"version", std::move(version)},
                      {"storage", "1Gi"},
                      {"deletionPolicy", std::move(deletion)}}},
    };
}

struct fixture {
    asio::io_context io;
    testing::fake_cluster cluster{io};
    const manager::controller_factory& factory = manager::registered_controllers().at("database");

    fixture() { cluster.serve(databases); }

    // A condition of Database `name` as "status/reason".
    std::string condition(const std::string& name, std::string_view type) {
        auto db = cluster.get(databases, "demo", name);
        const json::value* list = db ? db->at("status", "conditions") : nullptr;
        if (list && list->if_array())
            for (const auto& c : *list->if_array())
                if (c.at("type")->string_or("") == type)
                    return c.at("status")->string_or("") + "/" + c.at("reason")->string_or("");
        return "<none>";
    }
    std::string phase(const std::string& name) {
        return text(cluster.get(databases, "demo", name), "status", "phase");
    }
    bool has_finalizer(const std::string& name) {
        auto db = cluster.get(databases, "demo", name);
        const json::value* f = db ? db->at("metadata", "finalizers") : nullptr;
        return f && f->if_array() && !f->if_array()->empty();
    }
    // Requests that change something (Events aside).
    std::size_t writes() {
        std::size_t n = 0;
        for (const auto& r : cluster.requests())
            if (r.method != "GET" && r.path.find("/events") == std::string::npos)
                ++n;
        return n;
    }
    // The StatefulSet's controller creating the data claim of ordinal 0.
    void data_claim(const std::string& name) {
        cluster.put(pvcs,
                    json::object{{"metadata",
                                  json::object{{"name", "data-" + name + "-0"},
                                               {"namespace", "demo"},
                                               {"labels",
                                                json::object{{"app.kubernetes.io/instance", name},
                                                             {"app.kubernetes.io/managed-by", "kubecoro"}}}}},
                                 {"spec", json::object{}}});
    }
    // Database db1 created with `policy`, with a data claim, then deleted.
    void delete_database(std::string policy) {
        cluster.put(databases, database("db1", "16", std::move(policy)));
        testing::running_controller db(cluster, factory);
        REQUIRE(db.settle());
        data_claim("db1");
        REQUIRE(db.settle());
        cluster.remove(databases, "demo", "db1");
        REQUIRE(db.settle());
    }
    // The StatefulSet's controller and the pod becoming ready.
    void server_ready(const std::string& name) {
        auto sts = cluster.get(statefulsets, "demo", name);
        REQUIRE(sts);
        cluster.set_status(statefulsets,
                           "demo",
                           name,
                           json::object{{"observedGeneration", sts->at("metadata", "generation")->int_or(1)},
                                        {"replicas", 1},
                                        {"readyReplicas", 1},
                                        {"updatedReplicas", 1},
                                        {"currentRevision", "r1"},
                                        {"updateRevision", "r1"}});
    }
};

} // namespace

TEST_CASE_FIXTURE(fixture,
                  "database: finalizer first, then the children; status once; a resync writes nothing") {
    cluster.put(databases, database("db1"));
    testing::running_controller db(cluster, factory);
    REQUIRE(db.settle());
    CHECK(has_finalizer("db1"));
    CHECK(cluster.get(statefulsets, "demo", "db1"));
    CHECK(cluster.get(services, "demo", "db1"));
    auto app = cluster.get(secrets, "demo", "db1-credentials");
    auto super = cluster.get(secrets, "demo", "db1-superuser");
    REQUIRE(app);
    REQUIRE(super);
    CHECK(app->at("metadata", "ownerReferences"));
    CHECK_FALSE(super->at("metadata", "ownerReferences")); // outlives a Retain deletion
    CHECK(phase("db1") == "Provisioning");
    // Pending (nothing existed when it looked), then Provisioning once its children showed up.
    const auto status_writes = cluster.count("PATCH", "/databases/db1/status");
    CHECK(status_writes == 2);
    CHECK(cluster.said("Creating") == 1);

    const auto before = writes();
    for (int i = 0; i < 3; ++i) {
        db.resync("demo", "db1");
        REQUIRE(db.settle());
    }
    CHECK(writes() == before);

    server_ready("db1");
    REQUIRE(db.settle());
    CHECK(phase("db1") == "Ready");
    CHECK(condition("db1", "Ready") == "True/AllReplicasReady");
    CHECK(cluster.count("PATCH", "/databases/db1/status") == status_writes + 1);
    CHECK(cluster.said("Creating") == 1);

    // No StatefulSet in the cache once the status has been written (a cache behind the first
    // reconcile's own create, or a deleted StatefulSet): applied again, not "Creating" again.
    cluster.remove(statefulsets, "demo", "db1");
    REQUIRE(db.settle());
    CHECK(cluster.get(statefulsets, "demo", "db1"));
    CHECK(cluster.said("Creating") == 1);
    for (const auto& r : cluster.requests())
        if (r.path.ends_with("/status"))
            CHECK(r.body.find("\"resourceVersion\"") != std::string::npos);
}

TEST_CASE_FIXTURE(fixture,
                  "database: an invalid spec is refused once, gets no finalizer and creates nothing") {
    cluster.put(databases, database("db1", "latest"));
    testing::running_controller db(cluster, factory);
    REQUIRE(db.settle());
    CHECK(phase("db1") == "Failed");
    CHECK(condition("db1", "ReconcileSucceeded") == "False/InvalidSpec");
    CHECK(cluster.said("InvalidSpec") == 1);
    CHECK_FALSE(has_finalizer("db1"));
    CHECK_FALSE(cluster.get(statefulsets, "demo", "db1"));
    CHECK_FALSE(cluster.get(secrets, "demo", "db1-credentials"));
    for (int i = 0; i < 3; ++i) {
        db.resync("demo", "db1");
        REQUIRE(db.settle());
    }
    CHECK(cluster.said("InvalidSpec") == 1);
    CHECK(cluster.count("PATCH", "/databases/db1/status") == 1);
    CHECK(writes() == 1);
}

TEST_CASE_FIXTURE(fixture, "database: a refusal is said after the status write that took, not on a 409") {
    cluster.fail("PATCH", "/databases/db1/status", 409, "the object has been modified", 1);
    cluster.put(databases, database("db1", "latest"));
    testing::running_controller db(cluster, factory);
    REQUIRE(db.settle());
    CHECK(cluster.count("PATCH", "/databases/db1/status") == 2);
    CHECK(cluster.said("InvalidSpec") == 1);
    CHECK(phase("db1") == "Failed");
}

TEST_CASE_FIXTURE(fixture, "database: a refused change is said once and changes nothing") {
    cluster.put(databases, database("db1"));
    testing::running_controller db(cluster, factory);
    REQUIRE(db.settle());
    auto sts_before = cluster.get(statefulsets, "demo", "db1");
    auto changed = database("db1");
    changed.if_object()->find("spec")->if_object()->set("engine", "mysql");
    changed.if_object()->find("spec")->if_object()->set("version", "8.4");
    cluster.put(databases, changed);
    REQUIRE(db.settle());
    for (int i = 0; i < 3; ++i) {
        db.resync("demo", "db1");
        REQUIRE(db.settle());
    }
    CHECK(condition("db1", "ReconcileSucceeded") == "False/ChangeRefused");
    CHECK(cluster.said("ChangeRefused") == 1);
    // The server becomes ready meanwhile: the status changes, the refusal is not said again.
    const auto writes_before = cluster.count("PATCH", "/databases/db1/status");
    server_ready("db1");
    REQUIRE(db.settle());
    CHECK(cluster.count("PATCH", "/databases/db1/status") == writes_before + 1);
    CHECK(condition("db1", "Ready") == "True/AllReplicasReady");
    CHECK(cluster.said("ChangeRefused") == 1);
    CHECK(*cluster.get(statefulsets, "demo", "db1")->at("spec") == *sts_before->at("spec"));
}

TEST_CASE_FIXTURE(fixture, "database: deletionPolicy Retain keeps the Secrets and claims, detached") {
    delete_database("Retain");
    CHECK_FALSE(cluster.get(databases, "demo", "db1"));
    CHECK_FALSE(cluster.get(statefulsets, "demo", "db1")); // garbage collected
    auto app = cluster.get(secrets, "demo", "db1-credentials");
    REQUIRE(app);
    CHECK_FALSE(app->at("metadata", "ownerReferences"));
    CHECK(cluster.get(secrets, "demo", "db1-superuser"));
    CHECK(cluster.get(pvcs, "demo", "data-db1-0"));
    CHECK(cluster.get(pvcs, "demo", "db1-backup"));
    CHECK(cluster.said("Retained") == 1);
    CHECK(cluster.said("DeletedData") == 0);
}

TEST_CASE_FIXTURE(fixture, "database: deletionPolicy Delete removes the Secrets and claims") {
    delete_database("Delete");
    CHECK_FALSE(cluster.get(databases, "demo", "db1"));
    CHECK_FALSE(cluster.get(secrets, "demo", "db1-credentials"));
    CHECK_FALSE(cluster.get(secrets, "demo", "db1-superuser"));
    CHECK_FALSE(cluster.get(pvcs, "demo", "data-db1-0"));
    CHECK(cluster.said("DeletedData") == 1);
    CHECK(cluster.said("Retained") == 0);
}

TEST_CASE_FIXTURE(fixture, "database: a failed finalizer removal is said, retried, and the Database goes") {
    cluster.put(databases, database("db1"));
    testing::running_controller db(cluster, factory);
    REQUIRE(db.settle());
    cluster.fail("PATCH", "/databases/db1$", 500, "etcdserver: leader changed", 2);
    cluster.remove(databases, "demo", "db1");
    REQUIRE(db.settle());
    CHECK(cluster.said("CleanupFailed") >= 1);
    std::size_t removals = 0;
    for (const auto& r : cluster.requests())
        if (r.method == "PATCH" && r.path.ends_with("/databases/db1") &&
            r.body.find("\"remove\"") != std::string::npos)
            ++removals;
    CHECK(removals == 3); // two refused, the third took
    CHECK_FALSE(cluster.get(databases, "demo", "db1"));
}

TEST_CASE_FIXTURE(fixture, "database: a Secret that cannot be read (not a 404) never gets a new password") {
    cluster.put(databases, database("db1"));
    testing::running_controller db(cluster, factory);
    REQUIRE(db.settle());
    const std::string password = text(cluster.get(secrets, "demo", "db1-credentials"), "data", "password");
    // The Secret leaves the cache (its labels removed by hand) and cannot be read.
    auto app = *cluster.get(secrets, "demo", "db1-credentials");
    app.if_object()->find("metadata")->if_object()->erase("labels");
    cluster.put(secrets, app);
    cluster.fail("GET", "/secrets/db1-credentials", 500, "etcdserver: request timed out", 1000);
    const auto applies_before = cluster.count("PATCH", "/secrets/db1-credentials");
    db.resync("demo", "db1");
    REQUIRE(db.settle());
    CHECK(cluster.count("GET", "/secrets/db1-credentials") >= 2); // retried with backoff
    CHECK(cluster.count("PATCH", "/secrets/db1-credentials") == applies_before);
    CHECK(text(cluster.get(secrets, "demo", "db1-credentials"), "data", "password") == password);
    CHECK(condition("db1", "ReconcileSucceeded") == "False/ApplyFailed");
    CHECK(cluster.said("ApplyFailed") == 1); // once, however often it is retried
    CHECK(cluster.said("CredentialsRestored") == 0);
}

TEST_CASE_FIXTURE(fixture, "database: a deleted superuser Secret is never regenerated once data exists") {
    cluster.put(databases, database("db1"));
    testing::running_controller db(cluster, factory);
    REQUIRE(db.settle());
    cluster.remove(secrets, "demo", "db1-superuser");
    REQUIRE(db.settle());
    CHECK_FALSE(cluster.get(secrets, "demo", "db1-superuser"));
    CHECK(condition("db1", "ReconcileSucceeded") == "False/CredentialsMissing");
    CHECK(condition("db1", "CredentialsReady") == "False/SuperuserSecretMissing");
    CHECK(cluster.said("CredentialsMissing") == 1);
}

TEST_CASE_FIXTURE(fixture, "database: no reconcile starts before every cache has synced") {
    cluster.put(databases, database("db1"));
    cluster.hold_lists(statefulsets);
    testing::running_controller db(cluster, factory);
    CHECK_FALSE(db.settle(2s, 300ms));
    CHECK(db.reconciles() == 0);
    CHECK(writes() == 0);
    cluster.release_lists(statefulsets);
    REQUIRE(db.settle());
    CHECK(db.reconciles() >= 1);
    CHECK(cluster.get(statefulsets, "demo", "db1"));
}

TEST_CASE_FIXTURE(fixture, "database: children no longer wanted are deleted; the others stay") {
    cluster.put(databases, database("db1"));
    testing::running_controller db(cluster, factory);
    REQUIRE(db.settle());
    REQUIRE(cluster.get(cronjobs, "demo", "db1-backup"));
    auto no_backup = database("db1");
    no_backup.if_object()->find("spec")->if_object()->set("backup", json::object{{"enabled", false}});
    cluster.put(databases, no_backup);
    REQUIRE(db.settle());
    CHECK_FALSE(cluster.get(cronjobs, "demo", "db1-backup"));
    CHECK(cluster.get(statefulsets, "demo", "db1"));
    CHECK(cluster.get(services, "demo", "db1"));
    CHECK(cluster.get(pvcs, "demo", "db1-backup")); // the dumps stay
}
