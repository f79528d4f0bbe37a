// The HelloWorld controller in-process against a fake cluster: what it writes, and how often.
#include <kubecoro/api/errc.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/manager/registry.hpp>
#include <kubecoro/runtime/conditions.hpp>
#include <kubecoro/testing/fake_cluster.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;
using testing::text;
using namespace std::chrono_literals;

namespace {

const api::resource helloworlds{"kubecoro.dev", "v1alpha1", "helloworlds", "HelloWorld"};
const api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};

json::value hello(std::string name, json::value message) {
    return json::object{
        {"metadata", json::object{{"name", std::move(name)}, {"namespace", "demo"}}},
        {"spec", json::object{{"message", std::move(message)}}},
    };
}

// The Ready condition as "status/reason", or its message.
std::string ready(const testing::fake_cluster& c, const std::string& name, bool message = false) {
    auto h = c.get(helloworlds, "demo", name);
    const json::value* list = h ? h->at("status", "conditions") : nullptr;
    if (list && list->if_array())
        for (const auto& cond : *list->if_array())
            if (cond.at("type")->string_or("") == "Ready")
                return message ? cond.at("message")->string_or("")
                               : cond.at("status")->string_or("") + "/" + cond.at("reason")->string_or("");
    return "<none>";
}

struct fixture {
    asio::io_context io;
    testing::fake_cluster cluster{io};
    const manager::controller_factory& factory = manager::registered_controllers().at("helloworld");
};

} // namespace

TEST_CASE_FIXTURE(fixture, "helloworld: the message becomes a ConfigMap it owns, and Ready says so") {
    cluster.put(helloworlds, hello("greeting", "hello, world"));
    testing::running_controller hw(cluster, factory);
    REQUIRE(hw.settle());
    auto cm = cluster.get(configmaps, "demo", "greeting");
    REQUIRE(cm);
    CHECK(text(cm, "data", "message") == "hello, world");
    CHECK(text(cm, "metadata", "labels", "app.kubernetes.io/managed-by") == "kubecoro");
    CHECK(text(cm, "metadata", "labels", "app.kubernetes.io/instance") == "greeting");
    const json::value* owner = &cm->at("metadata", "ownerReferences")->if_array()->front();
    CHECK(owner->at("kind")->string_or("") == "HelloWorld");
    CHECK(owner->at("controller")->bool_or(false));
    CHECK(owner->at("uid")->string_or("") ==
          text(cluster.get(helloworlds, "demo", "greeting"), "metadata", "uid"));
    CHECK(ready(cluster, "greeting") == "True/ConfigMapApplied");
    CHECK(cluster.get(helloworlds, "demo", "greeting")->at("status", "observedGeneration")->int_or(0) == 1);
}

TEST_CASE_FIXTURE(fixture, "helloworld: status written once, and nothing written when nothing changed") {
    cluster.put(helloworlds, hello("greeting", "hi"));
    testing::running_controller hw(cluster, factory);
    REQUIRE(hw.settle());
    CHECK(cluster.count("PATCH", "/helloworlds/greeting/status") == 1);
    CHECK(cluster.count("PATCH", "/configmaps/greeting") == 1);
    auto before = hw.reconciles();
    for (int i = 0; i < 3; ++i) {
        hw.resync("demo", "greeting");
        REQUIRE(hw.settle());
    }
    CHECK(hw.reconciles() >= before + 3);
    CHECK(cluster.count("PATCH") == 2); // no write at all in the resyncs
    // The status write was conditional on the resourceVersion it was computed from.
    for (const auto& r : cluster.requests())
        if (r.path.ends_with("/status"))
            CHECK(r.body.find("\"resourceVersion\"") != std::string::npos);
}

TEST_CASE_FIXTURE(fixture, "helloworld: a changed message, a hand edit and a deleted ConfigMap converge") {
    cluster.put(helloworlds, hello("greeting", "one"));
    testing::running_controller hw(cluster, factory);
    REQUIRE(hw.settle());
    cluster.put(helloworlds, hello("greeting", "two"));
    REQUIRE(hw.settle());
    CHECK(text(cluster.get(configmaps, "demo", "greeting"), "data", "message") == "two");
    CHECK(cluster.get(helloworlds, "demo", "greeting")->at("status", "observedGeneration")->int_or(0) == 2);

    auto cm = *cluster.get(configmaps, "demo", "greeting");
    cm.if_object()->set("data", json::object{{"message", "edited by hand"}});
    cluster.put(configmaps, cm);
    REQUIRE(hw.settle());
    CHECK(text(cluster.get(configmaps, "demo", "greeting"), "data", "message") == "two");

    cluster.remove(configmaps, "demo", "greeting");
    REQUIRE(hw.settle());
    CHECK(text(cluster.get(configmaps, "demo", "greeting"), "data", "message") == "two");
}

TEST_CASE_FIXTURE(fixture, "helloworld: an invalid spec is refused once: one status write, one Warning") {
    cluster.put(helloworlds, hello("broken", 42));
    testing::running_controller hw(cluster, factory);
    REQUIRE(hw.settle());
    CHECK(ready(cluster, "broken") == "False/InvalidSpec");
    CHECK(cluster.said("InvalidSpec") == 1);
    CHECK(cluster.count("PATCH", "/configmaps") == 0);
    for (int i = 0; i < 3; ++i) {
        hw.resync("demo", "broken");
        REQUIRE(hw.settle());
    }
    CHECK(cluster.said("InvalidSpec") == 1);
    CHECK(cluster.count("PATCH", "/helloworlds/broken/status") == 1);

    // Too large for a ConfigMap (counted in bytes), then fixed.
    std::string big;
    for (std::size_t i = 0; i < 1024 * 1024 / 2 + 1; ++i)
        big += "\u00e9";
    cluster.put(helloworlds, hello("broken", big));
    REQUIRE(hw.settle());
    CHECK(ready(cluster, "broken", true) ==
          "spec.message: 1048578 bytes do not fit a ConfigMap (at most 1048576 bytes)");
    CHECK(cluster.said("InvalidSpec") == 2); // a new refusal, said once
    cluster.put(helloworlds, hello("broken", "fixed"));
    REQUIRE(hw.settle());
    CHECK(ready(cluster, "broken") == "True/ConfigMapApplied");
    CHECK(text(cluster.get(configmaps, "demo", "broken"), "data", "message") == "fixed");
}

TEST_CASE_FIXTURE(fixture, "helloworld: lastTransitionTime moves when Ready's status does, and only then") {
    auto transition = [&] {
        auto h = cluster.get(helloworlds, "demo", "greeting");
        return h->at("status", "conditions")->if_array()->front().at("lastTransitionTime")->string_or("");
    };
    cluster.put(helloworlds, hello("greeting", "one"));
    testing::running_controller hw(cluster, factory);
    REQUIRE(hw.settle());
    const std::string first = transition();
    CHECK(first == runtime::now_rfc3339(cluster.now()));
    cluster.advance(1h);
    hw.resync("demo", "greeting");
    REQUIRE(hw.settle());
    cluster.put(helloworlds, hello("greeting", "two")); // still Ready: a new generation only
    REQUIRE(hw.settle());
    CHECK(transition() == first);
    CHECK(cluster.get(helloworlds, "demo", "greeting")->at("status", "observedGeneration")->int_or(0) == 2);
    cluster.advance(1h);
    cluster.put(helloworlds, hello("greeting", 7)); // Ready False now
    REQUIRE(hw.settle());
    CHECK(ready(cluster, "greeting") == "False/InvalidSpec");
    CHECK(transition() == runtime::now_rfc3339(cluster.now()));
    CHECK(transition() != first);
}

TEST_CASE_FIXTURE(fixture, "helloworld: a refused apply is said once, retried, and converges") {
    cluster.fail("PATCH", "/configmaps/greeting", 500, "etcdserver: request timed out", 3);
    cluster.put(helloworlds, hello("greeting", "hi"));
    testing::running_controller hw(cluster, factory);
    REQUIRE(hw.settle(std::chrono::seconds(5)));
    // Retried with backoff (5, 10, 20 ms ...) until the server takes it.
    CHECK(cluster.count("PATCH", "/configmaps/greeting") == 4);
    CHECK(cluster.said("ApplyFailed") == 1);
    CHECK(ready(cluster, "greeting") == "True/ConfigMapApplied");
    // Two status writes: the failure, then Ready.
    CHECK(cluster.count("PATCH", "/helloworlds/greeting/status") == 2);
}

TEST_CASE_FIXTURE(fixture, "helloworld: a status write from a stale view is refused (409) and retried") {
    cluster.fail("PATCH", "/helloworlds/greeting/status", 409, "the object has been modified", 1);
    cluster.put(helloworlds, hello("greeting", "hi"));
    testing::running_controller hw(cluster, factory);
    REQUIRE(hw.settle(std::chrono::seconds(5)));
    CHECK(cluster.count("PATCH", "/helloworlds/greeting/status") == 2);
    CHECK(ready(cluster, "greeting") == "True/ConfigMapApplied");
}

TEST_CASE_FIXTURE(fixture,
                  "helloworld: the real precondition: a status computed before a spec change is refused") {
    cluster.put(helloworlds, hello("greeting", "one"));
    testing::running_controller hw(cluster, factory);
    REQUIRE(hw.settle());
    // A status write naming an older resourceVersion, as a reconcile from a stale cache would send.
    auto client = cluster.client();
    std::optional<core::result<json::value>> answer;
    json::value stale = json::object{
        {"apiVersion", "kubecoro.dev/v1alpha1"},
        {"kind", "HelloWorld"},
        {"metadata", json::object{{"name", "greeting"}, {"namespace", "demo"}, {"resourceVersion", "1"}}},
        {"status", json::object{{"observedGeneration", 7}}},
    };
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            api::patch_options o;
            o.field_manager = "test";
            o.subresource = "status";
            answer = co_await client->apply(helloworlds, stale, o);
        },
        asio::detached);
    while (!answer)
        io.run_one();
    io.restart();
    REQUIRE_FALSE(*answer);
    CHECK(answer->error().code == api::errc::conflict);
    CHECK(cluster.get(helloworlds, "demo", "greeting")->at("status", "observedGeneration")->int_or(0) == 1);
}

TEST_CASE_FIXTURE(fixture, "helloworld: no reconcile starts before every cache has synced") {
    cluster.put(helloworlds, hello("greeting", "hi"));
    cluster.hold_lists(configmaps);
    testing::running_controller hw(cluster, factory);
    CHECK_FALSE(hw.settle(std::chrono::seconds(2), std::chrono::milliseconds(300)));
    CHECK(hw.reconciles() == 0);
    CHECK(cluster.count("PATCH") == 0);
    cluster.release_lists(configmaps);
    REQUIRE(hw.settle());
    CHECK(hw.reconciles() >= 1);
    CHECK(ready(cluster, "greeting") == "True/ConfigMapApplied");
}

TEST_CASE_FIXTURE(fixture, "helloworld: only its own ConfigMaps are cached (the managed-by label)") {
    cluster.put(configmaps,
                json::object{{"metadata", json::object{{"name", "other"}, {"namespace", "demo"}}},
                             {"data", json::object{{"k", "v"}}}});
    cluster.put(helloworlds, hello("greeting", "hi"));
    testing::running_controller hw(cluster, factory);
    REQUIRE(hw.settle());
    const runtime::store* cache = hw.get().cache(configmaps);
    REQUIRE(cache);
    CHECK(cache->size() == 1);
    CHECK(cache->get("demo", "greeting"));
}

TEST_CASE_FIXTURE(fixture, "helloworld: an event said just before shutdown is still sent") {
    cluster.slow("POST", "/events", 300ms);
    cluster.put(helloworlds, hello("broken", 42));
    {
        testing::running_controller hw(cluster, factory);
        // Until the refusal is written; its event is said right after, and takes 300 ms to send.
        for (int i = 0; i < 2000 && cluster.count("PATCH", "/helloworlds/broken/status") == 0; ++i)
            io.run_one_for(10ms);
        REQUIRE(cluster.count("PATCH", "/helloworlds/broken/status") == 1);
        CHECK(cluster.said("InvalidSpec") == 0);
    } // stops the controller
    CHECK(cluster.said("InvalidSpec") == 1);
}
