#include <kubecoro/json/json.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;
using json::value;

namespace {

const char* config_map = R"({
  "apiVersion": "v1",
  "kind": "ConfigMap",
  "metadata": {
    "name": "app-config",
    "namespace": "shop",
    "uid": "3f0c2d5e-8a43-4b8e-9d0a-6f1c2b7a9e11",
    "resourceVersion": "48213",
    "creationTimestamp": "2024-03-01T10:15:30Z",
    "labels": {"app.kubernetes.io/name": "shop", "tier": "backend"},
    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"a\":1}\n", "note": "kept"}
  },
  "data": {"LOG_LEVEL": "debug", "config.yaml": "port: 8080\nhost: \"0.0.0.0\"\n"}
})";

const char* stateful_set =
    R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","namespace":"prod",
"uid":"a1b2","resourceVersion":"9001","generation":3,"creationTimestamp":"2024-03-01T10:15:30Z",
"deletionTimestamp":"2024-03-02T00:00:00Z","labels":{"app":"db"},
"ownerReferences":[{"apiVersion":"example.com/v1","kind":"Database","name":"db","uid":"c3d4","controller":true,"blockOwnerDeletion":true},
{"apiVersion":"v1","kind":"ConfigMap","name":"other","uid":"e5f6"}],
"finalizers":["example.com/cleanup","foregroundDeletion"],
"managedFields":[{"manager":"kubecoro","operation":"Apply","apiVersion":"apps/v1","time":"2024-03-01T10:15:30Z",
"fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:replicas":{}}}}]},
"spec":{"replicas":3,"serviceName":"db","selector":{"matchLabels":{"app":"db"}},
"template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"postgres","image":"postgres:16",
"ports":[{"containerPort":5432}]}]}}},"status":{"replicas":3,"readyReplicas":2,"observedGeneration":3}})";

value parsed(std::string_view text) {
    auto r = json::parse(text);
    REQUIRE_MESSAGE(r, r.error().message);
    return std::move(r).value();
}

} // namespace

TEST_CASE("decode_meta: ConfigMap") {
    api::object_meta m = json::decode_meta(parsed(config_map));
    CHECK(m.name == "app-config");
    CHECK(m.namespace_ == "shop");
    CHECK(m.uid == "3f0c2d5e-8a43-4b8e-9d0a-6f1c2b7a9e11");
    CHECK(m.resource_version == "48213");
    CHECK(m.generation == 0);
    CHECK(m.creation_timestamp == "2024-03-01T10:15:30Z");
    CHECK_FALSE(m.deletion_timestamp);
    CHECK(m.labels == api::string_map{{"app.kubernetes.io/name", "shop"}, {"tier", "backend"}});
    // kubectl's copy of the whole object is not kept; other annotations are.
    CHECK(m.annotations == api::string_map{{"note", "kept"}});
    CHECK(m.owner_references.empty());
    CHECK(m.finalizers.empty());
}

TEST_CASE("take_meta reads what decode_meta reads and removes metadata") {
    for (const char* text : {stateful_set, config_map}) {
        value tree = parsed(text);
        api::object_meta expected = json::decode_meta(tree);
        CHECK_FALSE(expected.name.empty());
        CHECK(json::take_meta(tree) == expected);
        CHECK(tree.at("metadata") == nullptr);
        CHECK(tree.at("kind") != nullptr);
    }
    value not_object = parsed("[1]");
    CHECK(json::take_meta(not_object) == api::object_meta{});
    CHECK(not_object == parsed("[1]"));
}

TEST_CASE("decode_meta: StatefulSet with owners, finalizers, deletion") {
    api::object_meta m = json::decode_meta(parsed(stateful_set));
    CHECK(m.name == "db");
    CHECK(m.generation == 3);
    REQUIRE(m.deletion_timestamp);
    CHECK(*m.deletion_timestamp == "2024-03-02T00:00:00Z");
    REQUIRE(m.owner_references.size() == 2);
    CHECK(m.owner_references[0] ==
          api::owner_reference{"example.com/v1", "Database", "db", "c3d4", true, true});
    CHECK(m.owner_references[1] == api::owner_reference{"v1", "ConfigMap", "other", "e5f6", false, false});
    CHECK(m.finalizers == std::vector<std::string>{"example.com/cleanup", "foregroundDeletion"});
}

TEST_CASE("decode_meta takes what it can from wrong types") {
    value v =
        parsed(R"({"metadata":{"name":42,"namespace":"ns","generation":"7","labels":{"a":"b","n":1,"o":{}},
        "annotations":[],"ownerReferences":[5,{"name":"x","controller":"yes"}],"finalizers":["f",null,3],
        "deletionTimestamp":123}})");
    api::object_meta m = json::decode_meta(v);
    CHECK(m.name.empty());
    CHECK(m.namespace_ == "ns");
    CHECK(m.generation == 0);
    CHECK(m.labels == api::string_map{{"a", "b"}});
    CHECK(m.annotations.empty());
    REQUIRE(m.owner_references.size() == 1);
    CHECK(m.owner_references[0].name == "x");
    CHECK_FALSE(m.owner_references[0].controller);
    CHECK(m.finalizers == std::vector<std::string>{"f"});
    CHECK_FALSE(m.deletion_timestamp);

    CHECK(json::decode_meta(parsed(R"({"metadata":"x"})")) == api::object_meta{});
    CHECK(json::decode_meta(parsed("[1]")) == api::object_meta{});
    CHECK(json::decode_meta(value()) == api::object_meta{});
}

TEST_CASE("encode_meta writes only fields that are set") {
    api::object_meta m;
    m.name = "db";
    m.namespace_ = "prod";
    m.labels = {{"app", "db"}};
    CHECK(json::write(json::encode_meta(m)) == R"({"name":"db","namespace":"prod","labels":{"app":"db"}})");
    CHECK(json::write(json::encode_meta(api::object_meta{})) == "{}");

    m.owner_references.push_back({"example.com/v1", "Database", "db", "c3d4", true, true});
    m.owner_references.push_back({"v1", "ConfigMap", "cm", "e5f6", false, false});
    m.finalizers = {"example.com/cleanup"};
    CHECK(json::write(json::encode_meta(m)) ==
          R"({"name":"db","namespace":"prod","labels":{"app":"db"},"ownerReferences":[)"
          R"({"apiVersion":"example.com/v1","kind":"Database","name":"db","uid":"c3d4","controller":true,)"
          R"("blockOwnerDeletion":true},{"apiVersion":"v1","kind":"ConfigMap","name":"cm","uid":"e5f6"}],)"
          R"("finalizers":["example.com/cleanup"]})");
}

TEST_CASE("encode_meta then decode_meta is the identity") {
    api::object_meta m = json::decode_meta(parsed(stateful_set));
    value tree(json::object{{"metadata", json::encode_meta(m)}});
    CHECK(json::decode_meta(tree) == m);
    CHECK(json::decode_meta(parsed(json::write(tree))) == m);
}

TEST_CASE("decode_status: 404 NotFound") {
    auto s = json::decode_status(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
        "message":"configmaps \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"configmaps"},
        "code":404})");
    REQUIRE(s);
    CHECK(s->code == 404);
    CHECK(s->status == "Failure");
    CHECK(s->reason == "NotFound");
    CHECK(s->message == "configmaps \"nope\" not found");
    CHECK(s->details_name == "nope");
    CHECK(s->details_kind == "configmaps");
    CHECK(s->causes.empty());
    CHECK(s->retry_after_seconds == 0);
}

TEST_CASE("decode_status: 409 Conflict and 422 causes, 429 retryAfterSeconds") {
    auto conflict =
        json::decode_status(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
        "message":"Operation cannot be fulfilled on databases.example.com \"db\": the object has been modified; please apply your changes to the latest version and try again",
        "reason":"Conflict","details":{"name":"db","group":"example.com","kind":"databases"},"code":409})");
    REQUIRE(conflict);
    CHECK(conflict->code == 409);
    CHECK(conflict->reason == "Conflict");

    auto invalid = json::decode_status(R"({"kind":"Status","status":"Failure","reason":"Invalid","code":422,
        "details":{"name":"db","kind":"Database","causes":[
          {"reason":"FieldValueRequired","message":"Required value","field":"spec.image"},
          {"reason":"FieldValueInvalid","message":"must be positive"},
          "garbage"]}})");
    REQUIRE(invalid);
    REQUIRE(invalid->causes.size() == 2);
    CHECK(invalid->causes[0].reason == "FieldValueRequired");
    CHECK(invalid->causes[0].message == "Required value");
    CHECK(invalid->causes[0].field == "spec.image");
    CHECK(invalid->causes[1].field.empty());

    auto throttled = json::decode_status(
        R"({"kind":"Status","code":429,"reason":"TooManyRequests","details":{"retryAfterSeconds":2}})");
    REQUIRE(throttled);
    CHECK(throttled->retry_after_seconds == 2);
}

TEST_CASE("decode_status: 410 Expired") {
    auto s = json::decode_status(R"j({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
        "message":"too old resource version: 1000 (5000)","reason":"Expired","code":410})j");
    REQUIRE(s);
    CHECK(s->code == 410);
    CHECK(s->reason == "Expired");
    CHECK(s->message == "too old resource version: 1000 (5000)");
}

TEST_CASE("decode_status rejects what is not a Status") {
    CHECK(json::decode_status("<html>502 Bad Gateway</html>").error().code == json::errc::syntax);
    CHECK(json::decode_status("[]").error().code == json::errc::type);
    CHECK(json::decode_status(R"({"kind":"Pod"})").error().code == json::errc::type);
    // Wrong field types degrade to empty fields.
    auto s = json::decode_status(R"({"code":"404","reason":1,"details":"x"})");
    REQUIRE(s);
    CHECK(s->code == 0);
    CHECK(s->reason.empty());
    CHECK(json::decode_status(R"({"code":99999999999})")->code == 0);
}

TEST_CASE("decode_watch_event: MODIFIED StatefulSet without managedFields") {
    std::string line = std::string(R"({"type":"MODIFIED","object":)") + stateful_set + "}\n";
    auto ev = json::decode_watch_event(line);
    REQUIRE_MESSAGE(ev, ev.error().message);
    CHECK(ev->type == json::event_type::modified);
    CHECK(ev->object.at("metadata", "managedFields") == nullptr);
    CHECK(ev->object.at("metadata", "name")->string_or("") == "db");
    CHECK(ev->object.at("spec", "replicas")->int_or(0) == 3);
    CHECK(json::decode_meta(ev->object).finalizers.size() == 2);
    // Nothing but managedFields was removed.
    value expected = parsed(stateful_set);
    expected.if_object()->find("metadata")->if_object()->erase("managedFields");
    CHECK(ev->object == expected);
}

TEST_CASE("decode_watch_event: every type") {
    const std::pair<const char*, json::event_type> types[] = {
        {"ADDED", json::event_type::added},
        {"MODIFIED", json::event_type::modified},
        {"DELETED", json::event_type::deleted},
        {"BOOKMARK", json::event_type::bookmark},
        {"ERROR", json::event_type::error},
    };
    for (auto [name, type] : types) {
        auto ev = json::decode_watch_event(std::string(R"({"type":")") + name + R"(","object":{}})");
        REQUIRE(ev);
        CHECK(ev->type == type);
    }
}

TEST_CASE("decode_watch_event: BOOKMARK") {
    auto ev = json::decode_watch_event(
        R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"12746",)"
        R"("creationTimestamp":null,"annotations":{"k8s.io/initial-events-end":"true"}}}})");
    REQUIRE(ev);
    CHECK(ev->type == json::event_type::bookmark);
    api::object_meta m = json::decode_meta(ev->object);
    CHECK(m.resource_version == "12746");
    CHECK(m.creation_timestamp.empty());
    CHECK(m.annotations.value_or_empty("k8s.io/initial-events-end") == "true");
}

TEST_CASE("decode_watch_event: ERROR carries a Status") {
    auto ev = json::decode_watch_event(
        R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
        R"j("message":"too old resource version: 4 (1123)","reason":"Expired","code":410}})j");
    REQUIRE(ev);
    CHECK(ev->type == json::event_type::error);
    api::status s = json::decode_status_object(ev->object);
    CHECK(s.code == 410);
    CHECK(s.reason == "Expired");
    CHECK(s.message == "too old resource version: 4 (1123)");
}

TEST_CASE("decode_watch_event: bad events are errors") {
    CHECK(json::decode_watch_event(R"({"type":"RENAMED","object":{}})").error().code == json::errc::type);
    CHECK(json::decode_watch_event(R"({"type":"added","object":{}})").error().code == json::errc::type);
    CHECK(json::decode_watch_event(R"({"type":1,"object":{}})").error().code == json::errc::type);
    CHECK(json::decode_watch_event(R"({"object":{}})").error().code == json::errc::type);
    CHECK(json::decode_watch_event(R"({"type":"ADDED"})").error().code == json::errc::type);
    CHECK(json::decode_watch_event(R"({"type":"ADDED","object":[]})").error().code == json::errc::type);
    CHECK(json::decode_watch_event(R"(["ADDED"])").error().code == json::errc::type);
    CHECK(json::decode_watch_event(R"({"type":"ADDED","object":{"metadata":{"name":"x"})").error().code ==
          json::errc::syntax);
    CHECK(json::decode_watch_event("").error().code == json::errc::syntax);
    auto unknown = json::decode_watch_event(R"({"type":"NOT\u0001KNOWN","object":{}})");
    CHECK(unknown.error().message.find("NOT?KNOWN") != std::string::npos);
}

TEST_CASE("decode_list: items without managedFields, continue token") {
    std::string text =
        std::string(R"({"kind":"StatefulSetList","apiVersion":"apps/v1",)") +
        R"("metadata":{"resourceVersion":"9100","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ","remainingItemCount":7},)" +
        R"("items":[)" + stateful_set + "," + config_map + "]}";
    auto list = json::decode_list(text);
    REQUIRE_MESSAGE(list, list.error().message);
    CHECK(list->resource_version == "9100");
    CHECK(list->continue_token == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ");
    REQUIRE(list->items.size() == 2);
    CHECK(list->items[0].at("metadata", "managedFields") == nullptr);
    CHECK(json::decode_meta(list->items[0]).name == "db");
    CHECK(json::decode_meta(list->items[1]).name == "app-config");
}

TEST_CASE("only metadata.managedFields of the object is left out, nothing of the same name elsewhere") {
    const char* object = R"({"metadata":{"name":"a","managedFields":[{"manager":"m"}]},)"
                         R"("managedFields":1,"spec":{"metadata":{"managedFields":2},"managedFields":3}})";
    value expected = parsed(R"({"metadata":{"name":"a"},"managedFields":1,)"
                            R"("spec":{"metadata":{"managedFields":2},"managedFields":3}})");
    auto ev = json::decode_watch_event(std::string(R"({"type":"ADDED","object":)") + object + "}");
    REQUIRE(ev);
    CHECK(ev->object == expected);
    auto list = json::decode_list(std::string(R"({"metadata":{"managedFields":4},"items":[)") + object + "," +
                                  object + "]}");
    REQUIRE(list);
    REQUIRE(list->items.size() == 2);
    CHECK(list->items[0] == expected);
    CHECK(list->items[1] == expected);
    // parse builds everything.
    CHECK(json::parse(object)->at("metadata", "managedFields") != nullptr);
}

TEST_CASE("decode_list with reduce: each item through it as decoded, in order; the rest as without") {
    std::string text = std::string(R"({"metadata":{"resourceVersion":"12","continue":"c"},"items":[)") +
                       stateful_set + "," + config_map + R"(,7]})";
    std::vector<std::string> seen;
    auto list = json::decode_list(text, [&](value item) {
        // managedFields is skipped before the reducer sees the item.
        CHECK(item.at("metadata", "managedFields") == nullptr);
        seen.push_back(json::decode_meta(item).name);
        return value(json::object{{"metadata", json::object{{"name", seen.back()}}}});
    });
    REQUIRE_MESSAGE(list, list.error().message);
    CHECK(list->resource_version == "12");
    CHECK(list->continue_token == "c");
    CHECK(seen == std::vector<std::string>{"db", "app-config"}); // 7 is no object: kept as it is
    REQUIRE(list->items.size() == 3);
    CHECK(list->items[0] == parsed(R"({"metadata":{"name":"db"}})"));
    CHECK(list->items[1] == parsed(R"({"metadata":{"name":"app-config"}})"));
    CHECK(list->items[2] == value(7));
    auto keep = [](value v) { return v; };
    CHECK(json::decode_list(R"({"items":{}})", keep).error().code == json::errc::type);
    CHECK(json::decode_list(R"({"items":null,"metadata":{"resourceVersion":"3"}})", keep)->resource_version ==
          "3");
    CHECK(json::decode_list(R"({"items":[{"a":1},{"b":)", keep).error().code == json::errc::syntax);
    std::string deep = R"({"items":[{"a":1},)" + std::string(200, '[') + std::string(200, ']') + "]}";
    CHECK(json::decode_list(deep, keep).error().code == json::errc::too_deep);
    CHECK(json::decode_list(deep).error().code == json::errc::too_deep);
}

TEST_CASE("decode_list: empty, null and wrong items") {
    auto empty = json::decode_list(
        R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[]})");
    REQUIRE(empty);
    CHECK(empty->items.empty());
    CHECK(empty->continue_token.empty());
    auto null_items = json::decode_list(R"({"metadata":{"resourceVersion":"5"},"items":null})");
    REQUIRE(null_items);
    CHECK(null_items->resource_version == "5");
    CHECK(json::decode_list(R"({"items":{}})").error().code == json::errc::type);
    CHECK(json::decode_list(R"([])").error().code == json::errc::type);
    CHECK(json::decode_list(R"({"items":[)").error().code == json::errc::syntax);
    // Items that are not objects are kept as they are.
    auto odd = json::decode_list(R"({"items":[1,"x"]})");
    REQUIRE(odd);
    CHECK(odd->items.size() == 2);
}
