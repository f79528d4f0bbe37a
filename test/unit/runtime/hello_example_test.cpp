// The HelloWorld controller as a user of the runtime writes it: a ConfigMap from spec.message.
// Compiled here so the example in the docs keeps working; the e2e tests run it for real.
#include <kubecoro/runtime/runtime.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;

namespace {

const api::resource helloworlds{"demo.kubecoro.io", "v1", "helloworlds", "HelloWorld"};
const api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};

json::value render_configmap(const runtime::object& hello) {
    const json::value* message = hello.body.at("spec", "message");
    return json::object{
        {"metadata",
         json::object{
             {"name", hello.meta.name + "-greeting"},
             {"namespace", hello.meta.namespace_},
             {"ownerReferences",
              json::array{runtime::to_json(runtime::owner_reference_to(hello.meta, helloworlds))}},
         }},
        {"data", json::object{{"message", message ? message->string_or("") : ""}}},
    };
}

awaitable<runtime::reconcile_result> reconcile(runtime::reconcile_context ctx) {
    runtime::object_ptr hello = ctx.get();
    if (!hello || hello->meta.deletion_timestamp)
        co_return runtime::reconcile_result::done();  // garbage collection removes the ConfigMap
    json::value configmap = render_configmap(*hello); // named: see core/asio.hpp on g++ 12
    auto applied = co_await ctx.apply(configmaps, std::move(configmap));
    if (!applied)
        co_return runtime::reconcile_result::from_error(applied.error());
    json::value status = json::object{
        {"metadata", json::object{{"name", hello->meta.name}, {"namespace", hello->meta.namespace_}}},
        {"status", json::object{{"observedGeneration", hello->meta.generation}}},
    };
    if (auto written = co_await ctx.apply_status(helloworlds, std::move(status)); !written)
        co_return runtime::reconcile_result::from_error(written.error());
    co_return runtime::reconcile_result::done();
}

core::result<std::shared_ptr<runtime::controller>> hello_controller(std::shared_ptr<client::client> client) {
    return runtime::controller_builder("helloworld", std::move(client))
        .for_resource(helloworlds)
        .owns(configmaps, runtime::keep_paths({{"data"}}))
        .reconcile_with(reconcile)
        .build();
}

} // namespace

TEST_CASE("the HelloWorld example renders an owned ConfigMap") {
    runtime::object hello;
    hello.meta.name = std::string("greeter");
    hello.meta.namespace_ = std::string("demo");
    hello.meta.uid = std::string("u-1");
    hello.body = json::object{{"spec", json::object{{"message", "hi"}}}};
    json::value cm = render_configmap(hello);
    CHECK(cm.at("metadata", "name")->string_or("") == "greeter-greeting");
    CHECK(cm.at("data", "message")->string_or("") == "hi");
    const json::array* owners = cm.at("metadata", "ownerReferences")->if_array();
    REQUIRE(owners);
    REQUIRE(owners->size() == 1);
    CHECK((*owners)[0].at("kind")->string_or("") == "HelloWorld");
    CHECK((*owners)[0].at("uid")->string_or("") == "u-1");
}

TEST_CASE("the HelloWorld example builds over a client (no request is sent)") {
    CHECK_FALSE(hello_controller(nullptr));
    asio::io_context io;
    config::cluster_config cfg;
    cfg.server = "https://127.0.0.1:6443";
    cfg.token = "t";
    auto client = client::client::create(io.get_executor(), cfg);
    REQUIRE(client);
    auto hello = hello_controller(*client);
    REQUIRE(hello);
    CHECK_FALSE((*hello)->synced()); // nothing listed yet
    CHECK((*hello)->name() == "helloworld");
    CHECK((*hello)->sources().size() == 2);
    CHECK((*hello)->cache(configmaps) != nullptr);
}
