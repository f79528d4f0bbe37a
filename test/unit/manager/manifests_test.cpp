#include "kubecoro_version.h"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/manager/manifests.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <string_view>

using namespace kubecoro;

namespace {

std::size_t count(std::string_view text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + what.size()))
        ++n;
    return n;
}

std::string render(std::string image, std::string ns) {
    manager::manifests_options o;
    o.image = std::move(image);
    o.namespace_ = std::move(ns);
    auto r = manager::render_manifests(o);
    REQUIRE(r);
    return *r;
}

} // namespace

TEST_CASE("the defaults render the install set as manifests/ has it") {
    std::string y = render(std::string(manager::default_manifests_image), "kubecoro-system");
    for (auto kind : {"Namespace",
                      "CustomResourceDefinition",
                      "ServiceAccount",
                      "ClusterRole",
                      "ClusterRoleBinding",
                      "Role",
                      "RoleBinding",
                      "Deployment",
                      "Service",
                      "ValidatingWebhookConfiguration"})
        CHECK_MESSAGE(count(y, std::string("\nkind: ") + kind + "\n") >= 1, kind);
    CHECK(count(y, "\nkind: CustomResourceDefinition\n") == 2);
    CHECK(count(y, "metadata:\n  name: databases.kubecoro.dev\n") == 1);
    CHECK(count(y, "metadata:\n  name: helloworlds.kubecoro.dev\n") == 1);
    CHECK(count(y, "  - name: databases.kubecoro.dev\n") == 1); // the webhook
    CHECK(y.find("kind: Deployment") < y.find("kind: ValidatingWebhookConfiguration"));
    CHECK(count(y, "image: kubecoro:" KUBECORO_VERSION "\n") == 1); // the release, pinned
    CHECK(count(y, "  name: kubecoro-metrics\n") == 1);             // the metrics Service
    CHECK(y.find("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kubecoro-system\n") !=
          std::string::npos);
    // Namespace first: `kubectl apply -f -` creates objects in stream order.
    CHECK(y.find("kind: Namespace") < y.find("kind: ServiceAccount"));
    CHECK(y.find("kind: CustomResourceDefinition") < y.find("kind: Deployment"));
    CHECK(count(y, "\n---\n") >= 7);
}

TEST_CASE("image and namespace are substituted everywhere") {
    std::string y = render("registry.example:5000/team/kubecoro@sha256:0123abcd", "ops");
    CHECK(count(y, "kubecoro-system") == 0);
    CHECK(count(y, "kubecoro:" KUBECORO_VERSION) == 0);
    CHECK(count(y, "  image: registry.example:5000/team/kubecoro@sha256:0123abcd\n") == 1);
    CHECK(y.find("kind: Namespace\nmetadata:\n  name: ops\n") != std::string::npos);
    // ServiceAccount, Role, RoleBinding, Deployment, the webhook's and the metrics Services; the
    // three bindings' subjects and the two webhooks' Service references (indented deeper).
    CHECK(count(y, "  namespace: ops\n") == 11);
    CHECK(count(y, "    namespace: ops\n") == 5);
    // Names that are not the namespace stay.
    CHECK(count(y, "  name: kubecoro-manager\n") >= 2);
    CHECK(count(y, "  name: kubecoro\n") >= 1);
}

TEST_CASE("a value that YAML would misread is quoted") {
    // YAML 1.1 (kubectl's) reads y, no, off, ... as booleans and 123 as a number.
    for (std::string ns : {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "123", "1-2"}) {
        std::string y = render(std::string(manager::default_manifests_image), ns);
        CHECK_MESSAGE(y.find("kind: Namespace\nmetadata:\n  name: \"" + ns + "\"\n") != std::string::npos,
                      ns);
        CHECK_MESSAGE(count(y, "  namespace: \"" + ns + "\"\n") == 11, ns);
    }
    CHECK(count(render("Off", "ops"), "  image: \"Off\"\n") == 1);
    CHECK(count(render("yes.example/x", "ops"), "  image: yes.example/x\n") == 1);
    CHECK(count(render("*odd\"image\\", "ops"), "  image: \"*odd\\\"image\\\\\"\n") == 1);
    CHECK(count(render("-odd", "ops"), "  image: \"-odd\"\n") == 1);
}

TEST_CASE("bad namespace or image is refused") {
    const std::string too_long(64, 'a');
    for (std::string ns : {std::string(),
                           std::string("Ops"),
                           std::string("-ops"),
                           std::string("ops-"),
                           std::string("a.b"),
                           std::string("ops_1"),
                           too_long}) {
        manager::manifests_options o;
        o.namespace_ = ns;
        auto r = manager::render_manifests(o);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == core::errc::invalid_argument);
    }
    for (auto image : {"", "a b", "a\nb", "a\tb"}) {
        manager::manifests_options o;
        o.image = image;
        CHECK_FALSE(manager::render_manifests(o));
    }
    manager::manifests_options o;
    o.namespace_ = std::string(63, 'a');
    CHECK(manager::render_manifests(o));
}

TEST_CASE("the pinned image is this release's, in manifests/ and as the flag's default") {
    CHECK(manager::default_manifests_image == "kubecoro:" KUBECORO_VERSION);
    CHECK(manager::manifests_options{}.image == manager::default_manifests_image);
}
