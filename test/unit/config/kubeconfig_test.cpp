#include "unit/config/support.hpp"
#include <kubecoro/config/cluster_config.hpp>
#include <kubecoro/config/errc.hpp>
#include <kubecoro/core/base64.hpp>
#include <kubecoro/core/errc.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using core::base64_encode;
using test::env_var;
using test::temp_dir;

namespace {
const std::string ca_pem = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
const std::string cert_pem = "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n";
const std::string key_pem = "-----BEGIN EC PRIVATE KEY-----\nKEY\n-----END EC PRIVATE KEY-----\n";

// One context "main" over cluster "c" and user "u" with the given field lines.
std::string kubeconfig(const std::string& cluster_fields, const std::string& user_fields) {
    return "apiVersion: v1\nkind: Config\ncurrent-context: main\n"
           "clusters:\n- name: c\n  cluster:\n" +
           cluster_fields + "users:\n- name: u\n  user:\n" + user_fields +
           "contexts:\n- name: main\n  context:\n    cluster: c\n    user: u\n    namespace: apps\n";
}

core::result<config::cluster_config>
parse(const std::string& path, const std::string& text, std::string context = {}) {
    return config::from_kubeconfig({{path, text}}, context);
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}
} // namespace

TEST_CASE("a token user with inline CA data") {
    auto r = parse("/k/config",
                   kubeconfig("    server: https://10.0.0.1:6443/\n    certificate-authority-data: " +
                                  base64_encode(ca_pem) + "\n",
                              "    token: abc.def\n"));
    REQUIRE(r);
    CHECK(r->server == "https://10.0.0.1:6443");
    CHECK(r->ca_pem == ca_pem);
    CHECK(r->token == "abc.def");
    CHECK(r->token_file.empty());
    CHECK_FALSE(r->insecure_skip_tls_verify);
    CHECK(r->client_cert_pem.empty());
    CHECK_FALSE(r->exec);
    CHECK(r->namespace_ == "apps");
    CHECK(r->origin == "kubeconfig /k/config, context main");
}

TEST_CASE("file references are relative to the kubeconfig's folder") {
    temp_dir dir;
    dir.write("certs/ca.crt", ca_pem);
    dir.write("certs/client.crt", cert_pem);
    dir.write("certs/client.key", key_pem);
    auto r = parse(dir / "config",
                   kubeconfig("    server: https://k:6443\n    certificate-authority: certs/ca.crt\n",
                              "    client-certificate: certs/client.crt\n"
                              "    client-key: " +
                                  (dir / "certs/client.key") + "\n    tokenFile: tokens/../token\n"));
    REQUIRE(r);
    CHECK(r->ca_pem == ca_pem);
    CHECK(r->client_cert_pem == cert_pem);
    CHECK(r->client_key_pem == key_pem);
    CHECK(r->token_file == dir / "token"); // kept as a path: the client re-reads it
}

TEST_CASE("client certificate and key as data") {
    auto r = parse("/k/config",
                   kubeconfig("    server: https://k:6443\n",
                              "    client-certificate-data: " + base64_encode(cert_pem) +
                                  "\n    client-key-data: " + base64_encode(key_pem) + "\n"));
    REQUIRE(r);
    CHECK(r->client_cert_pem == cert_pem);
    CHECK(r->client_key_pem == key_pem);
}

TEST_CASE("insecure-skip-tls-verify and tls-server-name") {
    auto r = parse("/k/config",
                   kubeconfig("    server: 10.0.0.1:6443\n    insecure-skip-tls-verify: true\n"
                              "    tls-server-name: kubernetes.default\n",
                              "    token: t\n"));
    REQUIRE(r);
    CHECK(r->insecure_skip_tls_verify);
    CHECK(r->tls_server_name == "kubernetes.default");
    CHECK(r->server == "https://10.0.0.1:6443"); // no scheme: https, as kubectl does

    auto both = parse("/k/config",
                      kubeconfig("    server: https://k\n    insecure-skip-tls-verify: true\n"
                                 "    certificate-authority-data: " +
                                     base64_encode(ca_pem) + "\n",
                                 "    token: t\n"));
    REQUIRE_FALSE(both);
    CHECK(both.error().code == config::errc::malformed);
    CHECK(both.error().message ==
          "kubeconfig /k/config: clusters[0] \"c\": insecure-skip-tls-verify cannot be combined with a "
          "certificate authority");

    auto not_bool =
        parse("/k/config", kubeconfig("    server: https://k\n    insecure-skip-tls-verify: maybe\n", ""));
    REQUIRE_FALSE(not_bool);
    CHECK(contains(not_bool.error().message, "insecure-skip-tls-verify must be true or false"));
}

TEST_CASE("an exec plugin, v1 and v1beta1") {
    temp_dir dir;
    auto r = parse(dir / "config",
                   kubeconfig("    server: https://k\n",
                              "    exec:\n"
                              "      apiVersion: client.authentication.k8s.io/v1\n"
                              "      command: ./bin/get-token\n"
                              "      args: [--cluster, prod]\n"
                              "      env:\n"
                              "      - name: REGION\n"
                              "        value: eu-west-1\n"
                              "      - name: EMPTY\n"
                              "        value: ''\n"
                              "      installHint: install get-token\n"
                              "      provideClusterInfo: true\n"
                              "      interactiveMode: Never\n"));
    REQUIRE(r);
    REQUIRE(r->exec);
    CHECK(r->exec->api_version == "client.authentication.k8s.io/v1");
    CHECK(r->exec->command == dir / "bin/get-token");
    CHECK(r->exec->args == std::vector<std::string>{"--cluster", "prod"});
    REQUIRE(r->exec->env.size() == 2);
    CHECK(r->exec->env[0] == std::pair<std::string, std::string>{"REGION", "eu-west-1"});
    CHECK(r->exec->env[1] == std::pair<std::string, std::string>{"EMPTY", ""});
    CHECK(r->exec->install_hint == "install get-token");
    CHECK(r->exec->provide_cluster_info);

    auto beta = parse("/k/config",
                      kubeconfig("    server: https://k\n",
                                 "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
                                 "      command: aws\n"));
    REQUIRE(beta);
    CHECK(beta->exec->api_version == "client.authentication.k8s.io/v1beta1");
    CHECK(beta->exec->command == "aws"); // a bare name is looked up in $PATH
    CHECK(beta->exec->args.empty());
    CHECK_FALSE(beta->exec->provide_cluster_info);
}

TEST_CASE("exec configurations that cannot work") {
    const std::pair<std::string, std::string> cases[] = {
        {"      command: aws\n", "users[0] \"u\": exec: apiVersion is missing"},
        {"      apiVersion: client.authentication.k8s.io/v1alpha1\n      command: aws\n",
         "exec: apiVersion \"client.authentication.k8s.io/v1alpha1\" is not supported"},
        {"      apiVersion: client.authentication.k8s.io/v1\n", "exec: command is missing"},
        {"      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n      env:\n      - value: "
         "x\n",
         "exec: env[0]: name is missing"},
        {"      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n      args: --flag\n",
         "exec: args must be a list"},
        {"      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n      interactiveMode: "
         "Always\n",
         "interactiveMode Always is not supported"},
    };
    for (const auto& c : cases) {
        const std::string& exec = c.first; // clang 14 cannot capture structured bindings (CAPTURE)
        const std::string& expected = c.second;
        CAPTURE(exec);
        auto r = parse("/k/config", kubeconfig("    server: https://k\n", "    exec:\n" + exec));
        REQUIRE_FALSE(r);
        CHECK(contains(r.error().message, "kubeconfig /k/config: "));
        CHECK(contains(r.error().message, expected));
    }
}

TEST_CASE("legacy auth providers, basic auth and impersonation are refused clearly") {
    auto gcp = parse(
        "/k/config",
        kubeconfig("    server: https://k\n",
                   "    auth-provider:\n      name: gcp\n      config:\n        access-token: secret-at\n"));
    REQUIRE_FALSE(gcp);
    CHECK(gcp.error().code == core::errc::not_supported);
    CHECK(contains(gcp.error().message,
                   "kubeconfig /k/config: users[0] \"u\": auth-provider \"gcp\" is not supported"));
    CHECK_FALSE(contains(gcp.error().message, "secret-at"));

    auto basic =
        parse("/k/config", kubeconfig("    server: https://k\n", "    username: admin\n    password: pw\n"));
    REQUIRE_FALSE(basic);
    CHECK(basic.error().code == core::errc::not_supported);

    auto as =
        parse("/k/config", kubeconfig("    server: https://k\n", "    token: t\n    as: system:admin\n"));
    REQUIRE_FALSE(as);
    CHECK(contains(as.error().message, "impersonation"));
}

TEST_CASE("invalid base64 names the file, the entry and the field, never the value") {
    auto r = parse("/root/.kube/config",
                   kubeconfig("    server: https://k\n",
                              "    client-certificate-data: " + base64_encode(cert_pem) +
                                  "\n    client-key-data: c2VjcmV0LWtleQ!!\n"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == config::errc::malformed);
    CHECK(r.error().message ==
          "kubeconfig /root/.kube/config: users[0] \"u\": client-key-data is not valid base64");
}

TEST_CASE("a cluster without server") {
    auto r = parse("/k/config", kubeconfig("    insecure-skip-tls-verify: true\n", "    token: t\n"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == config::errc::missing_field);
    CHECK(r.error().message == "kubeconfig /k/config: clusters[0] \"c\": server is missing");
}

TEST_CASE("entries without their body: a missing server, not a crash (found by fuzz_kubeconfig)") {
    auto r = parse("/k/config",
                   "current-context: main\nclusters:\n- name: c\nusers:\n- name: u\n"
                   "contexts:\n- name: main\n  context: {cluster: c, user: u}\n");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == "kubeconfig /k/config: clusters[0] \"c\": server is missing");
    auto no_context = parse("/k/config", "current-context: main\ncontexts:\n- name: main\n");
    REQUIRE_FALSE(no_context.has_value());
    CHECK(no_context.error().message == "kubeconfig /k/config: contexts[0] \"main\": cluster is missing");
}

TEST_CASE("unreadable and conflicting file references") {
    temp_dir dir;
    auto missing =
        parse(dir / "config",
              kubeconfig("    server: https://k\n    certificate-authority: nope.crt\n", "    token: t\n"));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == config::errc::unreadable);
    CHECK(missing.error().message == "kubeconfig " + (dir / "config") +
                                         ": clusters[0] \"c\": certificate-authority " + (dir / "nope.crt") +
                                         ": No such file or directory");

    dir.write("ca.crt", ca_pem);
    auto both = parse(dir / "config",
                      kubeconfig("    server: https://k\n    certificate-authority: ca.crt\n"
                                 "    certificate-authority-data: " +
                                     base64_encode(ca_pem) + "\n",
                                 ""));
    REQUIRE_FALSE(both);
    CHECK(
        contains(both.error().message, "certificate-authority and certificate-authority-data are both set"));

    auto half = parse("/k/config",
                      kubeconfig("    server: https://k\n",
                                 "    client-certificate-data: " + base64_encode(cert_pem) + "\n"));
    REQUIRE_FALSE(half);
    CHECK(half.error().code == config::errc::missing_field);
    CHECK(contains(half.error().message, "client-certificate is set but client-key is missing"));
}

TEST_CASE("several files merge like $KUBECONFIG: the first to set a name or current-context wins") {
    temp_dir dir;
    dir.write("a/ca.crt", "CA-A");
    dir.write("b/ca.crt", "CA-B");
    const std::string a = "clusters:\n- name: shared\n  cluster:\n    server: https://a\n"
                          "    certificate-authority: ca.crt\n"
                          "users:\n- name: ua\n  user:\n    token: token-a\n"
                          "contexts:\n- name: ctx-a\n  context:\n    cluster: shared\n    user: ub\n";
    const std::string b = "current-context: ctx-b\n"
                          "clusters:\n- name: shared\n  cluster:\n    server: https://b\n"
                          "- name: only-b\n  cluster:\n    server: https://only-b\n"
                          "    certificate-authority: ca.crt\n"
                          "users:\n- name: ub\n  user:\n    token: token-b\n"
                          "contexts:\n- name: ctx-b\n  context:\n    cluster: only-b\n    user: ua\n"
                          "    namespace: ns-b\n"
                          "- name: ctx-a\n  context:\n    cluster: only-b\n";
    const std::string c = "current-context: ctx-c\n";
    const std::vector<std::pair<std::string, std::string>> files{
        {dir / "a/config", a}, {dir / "empty", ""}, {dir / "b/config", b}, {dir / "c/config", c}};

    auto current = config::from_kubeconfig(files, "");
    REQUIRE(current);
    CHECK(current->server == "https://only-b");
    CHECK(current->ca_pem == "CA-B"); // relative to b/, the file that defined the cluster
    CHECK(current->token == "token-a");
    CHECK(current->namespace_ == "ns-b");
    CHECK(current->origin == "kubeconfig " + (dir / "b/config") + ", context ctx-b");

    auto first = config::from_kubeconfig(files, "ctx-a");
    REQUIRE(first);
    CHECK(first->server == "https://a"); // "shared" and "ctx-a" from a/config win over b/config
    CHECK(first->ca_pem == "CA-A");
    CHECK(first->token == "token-b");
    CHECK(first->namespace_.empty());
}

TEST_CASE("--context overrides current-context; unknown contexts list the known ones") {
    const std::string text = "current-context: one\n"
                             "clusters:\n- name: c\n  cluster:\n    server: https://k\n"
                             "contexts:\n- name: one\n  context:\n    cluster: c\n    namespace: first\n"
                             "- name: two\n  context:\n    cluster: c\n    namespace: second\n";
    CHECK(parse("/x", text)->namespace_ == "first");
    CHECK(parse("/x", text, "two")->namespace_ == "second");

    auto missing = parse("/x", text, "foo");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == config::errc::unknown_context);
    CHECK(missing.error().message == "context \"foo\" not found in kubeconfig /x (contexts: one, two)");

    auto multi = config::from_kubeconfig({{"/a", text}, {"/b", ""}}, "foo");
    REQUIRE_FALSE(multi);
    CHECK(multi.error().message == "context \"foo\" not found in kubeconfig /a:/b (contexts: one, two)");

    auto unset = parse("/x", "contexts: []\n");
    REQUIRE_FALSE(unset);
    CHECK(unset.error().code == config::errc::unknown_context);
    CHECK(contains(unset.error().message, "current-context is not set"));
}

TEST_CASE("contexts naming clusters or users that do not exist") {
    const std::string text = "current-context: main\n"
                             "clusters:\n- name: c\n  cluster:\n    server: https://k\n"
                             "contexts:\n- name: main\n  context:\n    cluster: c\n    user: ghost\n"
                             "- name: lost\n  context:\n    cluster: nowhere\n";
    auto user = parse("/x", text);
    REQUIRE_FALSE(user);
    CHECK(user.error().message ==
          "kubeconfig /x: contexts[0] \"main\": user \"ghost\" not found (users: none)");
    auto cluster = parse("/x", text, "lost");
    REQUIRE_FALSE(cluster);
    CHECK(cluster.error().message ==
          "kubeconfig /x: contexts[1] \"lost\": cluster \"nowhere\" not found (clusters: c)");
}

TEST_CASE("malformed YAML and wrong shapes say where") {
    auto yaml = parse("/x", "clusters:\n- name: c\n  cluster: {server: [unclosed\n");
    REQUIRE_FALSE(yaml);
    CHECK(yaml.error().code == config::errc::malformed);
    CHECK(contains(yaml.error().message, "kubeconfig /x: malformed YAML at line "));
    CHECK(contains(yaml.error().message, ", column "));

    auto tab = parse("/x", "current-context: a\n\tclusters: []\n");
    REQUIRE_FALSE(tab);
    CHECK(contains(tab.error().message, "malformed YAML at line 2"));

    auto list = parse("/x", "clusters:\n  c:\n    server: https://k\n");
    REQUIRE_FALSE(list);
    CHECK(list.error().message == "kubeconfig /x: clusters must be a list (line 2)");

    auto top = parse("/x", "- just\n- a list\n");
    REQUIRE_FALSE(top);
    CHECK(contains(top.error().message, "top level must be a mapping"));

    auto unnamed = parse("/x", "users:\n- user:\n    token: t\n");
    REQUIRE_FALSE(unnamed);
    CHECK(unnamed.error().message == "kubeconfig /x: users[0]: name is missing");
}

TEST_CASE("load: --kubeconfig, then $KUBECONFIG, then in-cluster, then ~/.kube/config") {
    temp_dir dir;
    const std::string home_config =
        "current-context: h\nclusters:\n- name: c\n  cluster:\n    server: https://home\n"
        "contexts:\n- name: h\n  context:\n    cluster: c\n";
    const std::string env_config =
        "current-context: e\nclusters:\n- name: c\n  cluster:\n    server: https://env\n"
        "contexts:\n- name: e\n  context:\n    cluster: c\n"
        "- name: other\n  context:\n    cluster: c\n    namespace: o\n";
    dir.write("home/.kube/config", home_config);
    const std::string env_path = dir.write("env-config", env_config);
    const std::string explicit_path = dir.write("explicit", home_config + "");

    env_var home("HOME", dir / "home");
    env_var no_kubeconfig("KUBECONFIG", std::nullopt);
    env_var no_host("KUBERNETES_SERVICE_HOST", std::nullopt);
    env_var no_port("KUBERNETES_SERVICE_PORT", std::nullopt);

    SUBCASE("~/.kube/config last") {
        auto r = config::load({});
        REQUIRE(r);
        CHECK(r->server == "https://home");
        CHECK(r->origin == "kubeconfig " + (dir / "home/.kube/config") + ", context h");
    }
    SUBCASE("$KUBECONFIG skips missing files, and --context applies") {
        env_var list("KUBECONFIG", (dir / "missing") + ":" + env_path);
        auto r = config::load({.context = "other"});
        REQUIRE(r);
        CHECK(r->server == "https://env");
        CHECK(r->namespace_ == "o");
    }
    SUBCASE("--kubeconfig wins over $KUBECONFIG") {
        env_var list("KUBECONFIG", env_path);
        auto r = config::load({.kubeconfig = explicit_path});
        REQUIRE(r);
        CHECK(r->server == "https://home");
        CHECK(r->origin == "kubeconfig " + explicit_path + ", context h");
    }
    SUBCASE("a missing --kubeconfig is an error, not a fallback") {
        auto r = config::load({.kubeconfig = dir / "nope"});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == config::errc::unreadable);
        CHECK(r.error().message == "kubeconfig " + (dir / "nope") + ": No such file or directory");
    }
    SUBCASE("$KUBECONFIG wins over in-cluster, in-cluster over ~/.kube/config") {
        env_var host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
        env_var port("KUBERNETES_SERVICE_PORT", "443");
        {
            env_var list("KUBECONFIG", env_path);
            auto r = config::load({});
            REQUIRE(r);
            CHECK(r->server == "https://env");
        }
        // Either outcome shows in-cluster was chosen over the valid ~/.kube/config.
        auto r = config::load({});
        if (r)
            CHECK(r->server == "https://10.96.0.1:443"); // the tests run in a pod
        else
            CHECK(contains(r.error().message,
                           "in-cluster: token /var/run/secrets/kubernetes.io/serviceaccount/token"));
    }
    SUBCASE("nothing at all") {
        env_var no_home("HOME", dir / "nobody");
        auto r = config::load({});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == config::errc::no_configuration);

        env_var list("KUBECONFIG", (dir / "missing-1") + ":" + (dir / "missing-2"));
        auto listed = config::load({});
        REQUIRE_FALSE(listed);
        CHECK(listed.error().code == config::errc::no_configuration);
        CHECK(contains(listed.error().message, "$KUBECONFIG"));
    }
}
