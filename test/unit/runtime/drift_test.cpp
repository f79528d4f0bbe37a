#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/drift.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;

namespace {
json::value parse(const char* text) {
    auto v = json::parse(text);
    REQUIRE(v);
    return *v;
}
} // namespace

TEST_CASE("contains: extra fields in the actual object are defaults and do not count") {
    auto actual = parse(R"({"spec":{"replicas":1,"revisionHistoryLimit":10,"template":{"spec":{"containers":[
        {"name":"db","image":"postgres:16","imagePullPolicy":"IfNotPresent"}]}}}})");
    CHECK(runtime::contains(actual, parse(R"({"spec":{"replicas":1}})")));
    CHECK(runtime::contains(
        actual,
        parse(R"({"spec":{"template":{"spec":{"containers":[{"name":"db","image":"postgres:16"}]}}}})")));
    CHECK_FALSE(runtime::contains(actual, parse(R"({"spec":{"replicas":2}})")));
    CHECK_FALSE(runtime::contains(
        actual,
        parse(R"({"spec":{"template":{"spec":{"containers":[{"name":"db","image":"postgres:17"}]}}}})")));
    CHECK_FALSE(runtime::contains(actual, parse(R"({"spec":{"paused":true}})")));
}

TEST_CASE("contains: arrays must match in length and order") {
    auto actual = parse(R"({"ports":[{"port":5432},{"port":9187}]})");
    CHECK(runtime::contains(actual, parse(R"({"ports":[{"port":5432},{"port":9187}]})")));
    CHECK_FALSE(runtime::contains(actual, parse(R"({"ports":[{"port":5432}]})")));
    CHECK_FALSE(runtime::contains(actual, parse(R"({"ports":[{"port":9187},{"port":5432}]})")));
}

TEST_CASE("contains: quantities compare by value, numbers by value, empty maps read back as absent") {
    CHECK(runtime::contains(parse(R"({"storage":"1Gi"})"), parse(R"({"storage":"1024Mi"})")));
    CHECK_FALSE(runtime::contains(parse(R"({"storage":"1Gi"})"), parse(R"({"storage":"2Gi"})")));
    CHECK(runtime::contains(parse(R"({"n":2})"), parse(R"({"n":2.0})")));
    CHECK(runtime::contains(parse(R"({"a":1})"), parse(R"({"labels":{}})")));
    CHECK_FALSE(runtime::contains(parse(R"({"name":"x"})"), parse(R"({"name":"y"})")));
}

TEST_CASE("is_applied compares metadata we own and the body") {
    auto make = [] {
        runtime::object o;
        o.meta.name = "hello";
        o.meta.labels = {{"app.kubernetes.io/managed-by", "kubecoro"}, {"other", "x"}};
        o.meta.owner_references = {{"kubecoro.dev/v1alpha1", "HelloWorld", "hello", "uid-1", true, true}};
        o.body = parse(R"({"apiVersion":"v1","kind":"ConfigMap","data":{"message":"hi"}})");
        return o;
    };
    const runtime::object cached = make();
    auto desired = parse(R"({"apiVersion":"v1","kind":"ConfigMap",
        "metadata":{"name":"hello","namespace":"ns","labels":{"app.kubernetes.io/managed-by":"kubecoro"},
          "ownerReferences":[{"apiVersion":"kubecoro.dev/v1alpha1","kind":"HelloWorld","name":"hello","uid":"uid-1",
                              "controller":true,"blockOwnerDeletion":true}]},
        "data":{"message":"hi"}})");
    CHECK(runtime::is_applied(desired, &cached));
    CHECK_FALSE(runtime::is_applied(desired, nullptr));

    auto edited = make();
    edited.body = parse(R"({"data":{"message":"edited by hand"}})");
    CHECK_FALSE(runtime::is_applied(desired, &edited));

    // Kept packed (a child's cache): the same answers from its text.
    auto packed = make();
    packed.packed = json::write(packed.body);
    packed.body = json::value();
    CHECK(runtime::is_applied(desired, &packed));
    packed.packed = R"({"apiVersion":"v1","kind":"ConfigMap","data":{"message":"edited by hand"}})";
    CHECK_FALSE(runtime::is_applied(desired, &packed));

    auto unlabelled = make();
    unlabelled.meta.labels.clear();
    CHECK_FALSE(runtime::is_applied(desired, &unlabelled));

    auto orphaned = make();
    orphaned.meta.owner_references.clear();
    CHECK_FALSE(runtime::is_applied(desired, &orphaned));

    auto deleting = make();
    deleting.meta.deletion_timestamp = "2026-11-21T00:00:00Z";
    CHECK_FALSE(runtime::is_applied(desired, &deleting));
}
