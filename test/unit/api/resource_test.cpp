#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/api/options.hpp>
#include <kubecoro/api/resource.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;

namespace {
const api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};
const api::resource deployments{"apps", "v1", "deployments", "Deployment"};
const api::resource databases{"example.com", "v1alpha1", "databases", "Database"};
const api::resource namespaces{"", "v1", "namespaces", "Namespace", api::scope::cluster};
const api::resource crds{"apiextensions.k8s.io",
                         "v1",
                         "customresourcedefinitions",
                         "CustomResourceDefinition",
                         api::scope::cluster};
} // namespace

TEST_CASE("api_version") {
    CHECK(configmaps.api_version() == "v1");
    CHECK(deployments.api_version() == "apps/v1");
    CHECK(databases.api_version() == "example.com/v1alpha1");
}

TEST_CASE("paths") {
    CHECK(api::path(configmaps, "default") == "/api/v1/namespaces/default/configmaps");
    CHECK(api::path(configmaps, "default", "x") == "/api/v1/namespaces/default/configmaps/x");
    CHECK(api::path(configmaps, "") == "/api/v1/configmaps");
    CHECK(api::path(deployments, "prod", "web", "scale") ==
          "/apis/apps/v1/namespaces/prod/deployments/web/scale");
    CHECK(api::path(databases, "db", "main", "status") ==
          "/apis/example.com/v1alpha1/namespaces/db/databases/main/status");
    CHECK(api::path(databases, "") == "/apis/example.com/v1alpha1/databases");
    // A subresource needs an object.
    CHECK(api::path(databases, "db", "", "status") == "/apis/example.com/v1alpha1/namespaces/db/databases");
}

TEST_CASE("cluster-scoped paths ignore the namespace") {
    CHECK(api::path(namespaces, "", "kube-system") == "/api/v1/namespaces/kube-system");
    CHECK(api::path(namespaces, "ignored", "kube-system", "finalize") ==
          "/api/v1/namespaces/kube-system/finalize");
    CHECK(api::path(crds, "") == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
    CHECK(api::path(crds, "x", "databases.example.com") ==
          "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/databases.example.com");
}

TEST_CASE("path segments are percent-encoded") {
    CHECK(api::path(configmaps, "a/b", "c d?e") == "/api/v1/namespaces/a%2Fb/configmaps/c%20d%3Fe");
    CHECK(api::path(configmaps, "ns", "../x") == "/api/v1/namespaces/ns/configmaps/..%2Fx");
}

TEST_CASE("url_encode") {
    CHECK(api::url_encode("") == "");
    CHECK(api::url_encode("AZaz09-._~") == "AZaz09-._~");
    CHECK(api::url_encode("app=web,tier in (a,b)") == "app%3Dweb%2Ctier%20in%20%28a%2Cb%29");
    CHECK(api::url_encode("a+b&c/d%") == "a%2Bb%26c%2Fd%25");
    CHECK(api::url_encode("\xc3\xa9\x01") == "%C3%A9%01");
}

TEST_CASE("list query") {
    CHECK(api::query(api::list_options{}) == "");
    api::list_options o{"app=web", "metadata.name=x", 500, "tok/en=", "12"};
    CHECK(api::query(o) == "?labelSelector=app%3Dweb&fieldSelector=metadata.name%3Dx&limit=500&continue=tok%"
                           "2Fen%3D&resourceVersion=12");
    CHECK(api::query(api::list_options{.limit = -1}) == "");
    CHECK(api::query(api::list_options{.resource_version = "0"}) == "?resourceVersion=0");
}

TEST_CASE("watch query") {
    CHECK(api::query(api::watch_options{}) == "?watch=1&allowWatchBookmarks=true");
    api::watch_options o{"app", "", "4711", false, 300};
    CHECK(api::query(o) == "?watch=1&labelSelector=app&resourceVersion=4711&timeoutSeconds=300");
}

TEST_CASE("patch query and content types") {
    CHECK(api::query(api::patch_options{}) == "");
    api::patch_options o{"kubecoro", true, "status"};
    CHECK(api::query(o) == "?fieldManager=kubecoro&force=true");
    CHECK(api::query(o, api::patch_type::apply) == "?fieldManager=kubecoro&force=true");
    CHECK(api::query(o, api::patch_type::merge) == "?fieldManager=kubecoro");
    CHECK(api::query(o, api::patch_type::strategic) == "?fieldManager=kubecoro");
    CHECK(api::query(api::patch_options{.field_manager = "a b"}, api::patch_type::apply) ==
          "?fieldManager=a%20b");

    CHECK(std::string(api::content_type(api::patch_type::merge)) == "application/merge-patch+json");
    CHECK(std::string(api::content_type(api::patch_type::json)) == "application/json-patch+json");
    CHECK(std::string(api::content_type(api::patch_type::strategic)) ==
          "application/strategic-merge-patch+json");
    CHECK(std::string(api::content_type(api::patch_type::apply)) == "application/apply-patch+yaml");
}

TEST_CASE("delete query") {
    CHECK(api::query(api::delete_options{}) == "");
    api::delete_options o{api::propagation::foreground, "uid", std::nullopt, 0};
    CHECK(api::query(o) == "?propagationPolicy=Foreground&gracePeriodSeconds=0");
    CHECK(api::query(api::delete_options{.propagation_policy = api::propagation::orphan}) ==
          "?propagationPolicy=Orphan");
    CHECK(std::string(api::to_string(api::propagation::background)) == "Background");
}

TEST_CASE("object_meta helpers") {
    api::object_meta m;
    CHECK(m.controller_ref() == nullptr);
    CHECK_FALSE(m.has_finalizer("example.com/cleanup"));
    auto ref =
        [](std::string_view api_version, std::string_view kind, std::string_view name, bool controller) {
            return api::owner_reference{api::interned(api_version),
                                        api::interned(kind),
                                        api::interned(name),
                                        api::interned(std::string(name) + "-uid"),
                                        controller,
                                        controller};
        };
    m.owner_references = {ref("v1", "ConfigMap", "a", false),
                          ref("example.com/v1", "Database", "db", true),
                          ref("apps/v1", "Deployment", "d", true)};
    m.finalizers = {"other", "example.com/cleanup"};
    REQUIRE(m.controller_ref() != nullptr);
    CHECK(m.controller_ref()->name == "db");
    CHECK(m.has_finalizer("example.com/cleanup"));
    CHECK_FALSE(m.has_finalizer("example.com"));
}
