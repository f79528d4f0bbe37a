#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/apply.hpp>
#include <kubecoro/runtime/finalizer.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using namespace kubecoro::runtime;

namespace {

const std::string fin = "example.com/cleanup";

api::object_meta meta(std::vector<std::string> finalizers, bool deleting) {
    // Built, not assigned: g++ 12 warns falsely (-Wrestrict) on assigning short literals at -O3.
    api::object_meta m{.name = "w", .namespace_ = "ns", .uid = "uid-1", .resource_version = "42"};
    m.finalizers = std::move(finalizers);
    if (deleting)
        m.deletion_timestamp = std::string("2024-01-01T00:00:00Z");
    return m;
}

json::value parsed(const std::string& text) {
    auto v = json::parse(text);
    REQUIRE(v);
    return *v;
}

} // namespace

TEST_CASE("decide_finalizer: add first, proceed, clean up, released") {
    CHECK(decide_finalizer(meta({}, false), fin) == finalizer_step::add);
    CHECK(decide_finalizer(meta({"other"}, false), fin) == finalizer_step::add);
    CHECK(decide_finalizer(meta({"other", fin}, false), fin) == finalizer_step::proceed);
    CHECK(decide_finalizer(meta({fin}, true), fin) == finalizer_step::cleanup);
    CHECK(decide_finalizer(meta({"other"}, true), fin) == finalizer_step::released);
}

TEST_CASE("the add patch tests resourceVersion before adding") {
    json::value first = parsed(add_finalizer_patch(meta({}, false), fin));
    json::value expected = json::array{
        json::object{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", "42"}},
        json::object{{"op", "add"}, {"path", "/metadata/finalizers"}, {"value", json::array{fin}}},
    };
    CHECK(first == expected);

    json::value append = parsed(add_finalizer_patch(meta({"other"}, false), fin));
    REQUIRE(append.if_array());
    REQUIRE(append.if_array()->size() == 2);
    CHECK((*append.if_array())[1] ==
          json::value(json::object{{"op", "add"}, {"path", "/metadata/finalizers/-"}, {"value", fin}}));
}

TEST_CASE("the remove patch tests the entry at its index") {
    json::value patch = parsed(remove_finalizer_patch(meta({"a", fin, "b"}, true), fin));
    json::value expected = json::array{
        json::object{{"op", "test"}, {"path", "/metadata/finalizers/1"}, {"value", fin}},
        json::object{{"op", "remove"}, {"path", "/metadata/finalizers/1"}},
    };
    CHECK(patch == expected);
    CHECK(remove_finalizer_patch(meta({"a"}, true), fin).empty());
}

TEST_CASE("owner_reference_to makes a controller reference") {
    api::object_meta owner = meta({}, false);
    api::resource widgets{"example.com", "v1", "widgets", "Widget"};
    api::owner_reference ref = owner_reference_to(owner, widgets);
    CHECK(ref.api_version == "example.com/v1");
    CHECK(ref.kind == "Widget");
    CHECK(ref.name == "w");
    CHECK(ref.uid == "uid-1");
    CHECK(ref.controller);
    CHECK(ref.block_owner_deletion);
    json::value j = to_json(ref);
    CHECK(j.at("apiVersion")->string_or("") == "example.com/v1");
    CHECK(j.at("controller")->bool_or(false));
    CHECK(j.at("blockOwnerDeletion")->bool_or(false));
    CHECK(j.at("uid")->string_or("") == "uid-1");
}
