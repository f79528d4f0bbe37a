// HelloWorld: spec.message becomes ConfigMap <name>.data.message (kopf: one @kopf.on.create/update).
#include <kubecoro/manager/registry.hpp>
#include <kubecoro/runtime/managed.hpp>

namespace kubecoro::controllers::helloworld {
namespace {

const api::resource helloworlds{"kubecoro.dev", "v1alpha1", "helloworlds", "HelloWorld"};
const api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};
const std::size_t max_bytes = 1024 * 1024; // a ConfigMap's data (the CRD's maxLength counts characters)

core::result<std::string> read_message(const json::value& hello) {
    const json::value* m = hello.at("spec", "message");
    if (!m || !m->if_string())
        return core::fail(core::errc::invalid_argument, "spec.message: required, a string");
    if (m->if_string()->size() > max_bytes)
        return core::fail(core::errc::invalid_argument,
                          "spec.message: " + std::to_string(m->if_string()->size()) +
                              " bytes do not fit a ConfigMap (at most 1048576 bytes)");
    return *m->if_string();
}

core::result<std::string> message(const runtime::object& hello) {
    return read_message(hello.body);
}

runtime::outcome reconcile(runtime::managed_context& ctx, const std::string& message) {
    ctx.child(configmaps, ctx.name(), json::object{{"data", json::object{{"message", message}}}});
    return runtime::outcome::ready("ConfigMapApplied", "ConfigMap " + ctx.name() + " holds the message");
}

awaitable<core::result<std::shared_ptr<runtime::controller>>> make(manager::controller_env env) {
    co_return runtime::managed<std::string>(helloworlds)
        .decode(message)
        .owns(configmaps, runtime::keep_paths({{"data"}}))
        .reconcile(reconcile)
        .build(env.builder("helloworld"));
}

// The same check at `kubectl apply`.
admission::route make_webhook(manager::admission_env) {
    auto admit = [](const admission::request& r) -> awaitable<admission::verdict> {
        if (!r.subresource.empty() || (r.operation != "CREATE" && r.operation != "UPDATE"))
            co_return admission::verdict::allow();
        const json::value* spec = r.object->at("spec");
        const json::value* old_spec = r.old_object ? r.old_object->at("spec") : nullptr;
        if (spec && old_spec && *spec == *old_spec)
            co_return admission::verdict::allow(); // metadata only: judged when the spec was written
        if (auto m = read_message(*r.object); !m)
            co_return admission::verdict::deny(m.error().message);
        co_return admission::verdict::allow();
    };
    return {"/validate-kubecoro-dev-v1alpha1-helloworld", admit};
}

const bool registered = manager::register_controller("helloworld", make);
const bool validated = manager::register_admission("helloworld", make_webhook);

} // namespace
} // namespace kubecoro::controllers::helloworld
