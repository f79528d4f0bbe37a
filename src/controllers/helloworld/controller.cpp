#include "helloworld/controller.hpp"

#include "helloworld/helloworld.hpp"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/runtime/apply.hpp>
#include <kubecoro/runtime/conditions.hpp>
#include <kubecoro/runtime/drift.hpp>

namespace kubecoro::controllers::helloworld {
namespace {

const api::resource helloworlds{"kubecoro.dev", "v1alpha1", "helloworlds", "HelloWorld"};
const api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};

awaitable<runtime::reconcile_result> reconcile(runtime::reconcile_context ctx) {
    auto hello = ctx.get();
    if (!hello || hello->meta.deletion_timestamp)
        co_return runtime::reconcile_result::done(); // the ConfigMap goes with its owner

    outcome result;
    core::error failure;
    if (auto message = parse_message(hello->body); !message) {
        result = {outcome_kind::invalid_spec, message.error().message};
    } else {
        auto desired = render_configmap(hello->meta, *message);
        auto current = ctx.owned(configmaps);
        if (!runtime::is_applied(desired, current.empty() ? nullptr : current.front().get())) {
            auto applied = co_await runtime::apply(ctx.client(), configmaps, desired, ctx.field_manager());
            if (!applied) {
                failure = applied.error();
                result = {outcome_kind::apply_failed, failure.message};
            }
        }
    }

    const json::value* status_now = hello->body.at("status");
    std::vector<runtime::condition> conditions;
    if (const json::value* c = status_now ? status_now->at("conditions") : nullptr)
        if (auto decoded = runtime::conditions_from_json(*c))
            conditions = std::move(*decoded);
    auto status = render_status(
        hello->meta, std::move(conditions), result, runtime::now_rfc3339(std::chrono::system_clock::now()));
    bool wrote = false;
    if (!status_now || !runtime::contains(*status_now, *status.at("status"))) {
        runtime::require_resource_version(status, hello->meta.resource_version);
        auto written = co_await runtime::apply_status(ctx.client(), helloworlds, status, ctx.field_manager());
        if (!written && result.kind != outcome_kind::apply_failed)
            co_return runtime::reconcile_result::from_error(written.error()); // retried: say it then
        wrote = written.has_value();
    }

    switch (result.kind) {
    case outcome_kind::applied:
        co_return runtime::reconcile_result::done();
    case outcome_kind::invalid_spec:
        // Once, with the status write that said it (not again from a view older than that write).
        if (wrote)
            ctx.record(runtime::event_type::warning, "InvalidSpec", result.message);
        co_return runtime::reconcile_result::terminal(
            core::error{core::errc::invalid_argument, result.message});
    case outcome_kind::apply_failed:
        break;
    }
    co_return runtime::reconcile_result::from_error(failure);
}

} // namespace

awaitable<core::result<std::shared_ptr<runtime::controller>>> make_controller(manager::controller_env env) {
    co_return env.builder("helloworld")
        .for_resource(helloworlds)
        .owns(configmaps, runtime::keep_paths({{"data"}}))
        .reconcile_with(reconcile)
        .build();
}

} // namespace kubecoro::controllers::helloworld
