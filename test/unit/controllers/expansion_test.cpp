#include "database/expansion.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;
using namespace kubecoro::controllers::database;
using test_helpers::parse;

namespace {

database_spec spec_of(std::string_view extra = "") {
    auto s = parse_spec(parse(R"({"spec":{"engine":"postgresql","version":"16","storage":"2Gi")" +
                              std::string(extra) + "}}"));
    REQUIRE(s.has_value());
    return *s;
}

observed_pvc claim(std::string name, std::string requested, std::optional<std::string> sc = std::nullopt) {
    return observed_pvc{
        .name = std::move(name), .requested = std::move(requested), .storage_class = std::move(sc)};
}

const std::vector<storage_class> classes{
    {.name = "fixed", .is_default = false, .allow_volume_expansion = false},
    {.name = "grow", .is_default = false, .allow_volume_expansion = true},
};

} // namespace

TEST_CASE("observe_storage_class reads allowVolumeExpansion and the default-class annotation") {
    auto sc = observe_storage_class(parse(R"({"metadata":{"name":"std","annotations":{
        "storageclass.kubernetes.io/is-default-class":"true"}},"allowVolumeExpansion":true})"));
    CHECK(sc.name == "std");
    CHECK(sc.is_default);
    CHECK(sc.allow_volume_expansion);
    auto plain = observe_storage_class(parse(R"({"metadata":{"name":"slow"}})"));
    CHECK_FALSE(plain.is_default);
    CHECK_FALSE(plain.allow_volume_expansion); // absent means false
}

TEST_CASE("refuse_expansion: nothing to grow, nothing refused") {
    observed_state o;
    o.data_pvcs = {claim("data-db-0", "2Gi", "fixed"), claim("data-db-1", "4Gi", "fixed")};
    CHECK_FALSE(refuse_expansion(spec_of(), o, classes));
    CHECK_FALSE(refuse_expansion(spec_of(), observed_state{}, classes)); // no claims yet
}

TEST_CASE("refuse_expansion: the claim's class decides") {
    observed_state o;
    SUBCASE("a class that allows expansion") {
        o.data_pvcs = {claim("data-db-0", "1Gi", "grow")};
        CHECK_FALSE(refuse_expansion(spec_of(), o, classes));
    }
    SUBCASE("a class that does not, named in the message") {
        o.data_pvcs = {claim("data-db-0", "1Gi", "fixed"), claim("data-db-1", "1Gi", "fixed")};
        auto r = refuse_expansion(spec_of(), o, classes);
        REQUIRE(r);
        CHECK(r->storage_classes == std::vector<std::string>{"fixed"});
        CHECK(r->message ==
              "the volume claims stay at their size: StorageClass \"fixed\" does not allow volume expansion "
              "(allowVolumeExpansion is not true)");
    }
    SUBCASE("a class that does not exist") {
        o.data_pvcs = {claim("data-db-0", "1Gi", "gone")};
        auto r = refuse_expansion(spec_of(), o, classes);
        REQUIRE(r);
        CHECK(r->message.find("StorageClass \"gone\" does not exist") != std::string::npos);
    }
    SUBCASE("the backup claim counts too") {
        o.data_pvcs = {claim("data-db-0", "2Gi", "grow")};
        o.backup_pvc = claim("db-backup", "1Gi", "fixed");
        CHECK(refuse_expansion(spec_of(), o, classes));
        CHECK_FALSE(refuse_expansion(spec_of(R"(,"backup":{"enabled":false})"), o, classes));
    }
}

TEST_CASE("refuse_expansion: without a class on the claim, spec.storageClassName, then the default") {
    observed_state o;
    o.data_pvcs = {claim("data-db-0", "1Gi")};
    CHECK_FALSE(refuse_expansion(spec_of(R"(,"storageClassName":"grow")"), o, classes));
    CHECK(refuse_expansion(spec_of(R"(,"storageClassName":"fixed")"), o, classes));

    auto r = refuse_expansion(spec_of(), o, classes);
    REQUIRE(r);
    CHECK(r->storage_classes == std::vector<std::string>{""});
    CHECK(r->message.find("claim data-db-0 has no StorageClass and the cluster has no default one") !=
          std::string::npos);

    auto with_default = classes;
    with_default.push_back({.name = "std", .is_default = true, .allow_volume_expansion = true});
    CHECK_FALSE(refuse_expansion(spec_of(), o, with_default));
    with_default.back().allow_volume_expansion = false;
    r = refuse_expansion(spec_of(), o, with_default);
    REQUIRE(r);
    CHECK(r->storage_classes == std::vector<std::string>{"std"});
}

TEST_CASE("hold_storage keeps the sizes the claims request now") {
    observed_state o;
    o.data_pvcs = {claim("data-db-0", "1Gi"), claim("data-db-1", "1536Mi")};
    o.backup_pvc = claim("db-backup", "1Gi");
    auto held = hold_storage(spec_of(), o);
    CHECK(held.storage == "1Gi");
    CHECK(held.backup.storage == "1Gi");
    auto same = hold_storage(spec_of(), observed_state{});
    CHECK(same.storage == "2Gi");
}
