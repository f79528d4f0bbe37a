#include "database/observe.hpp"

#include "database/replication.hpp"
#include <kubecoro/api/errc.hpp>
#include <kubecoro/json/json.hpp>

#include <algorithm>

namespace kubecoro::controllers::database {

void observe_storage(observed_state& seen,
                     const api::object_meta& db,
                     const resources& rs,
                     const child_lookup& find) {
    if (auto sts = find(rs.statefulsets, db.name))
        seen.statefulset = observe_statefulset(*sts);
    int claims = seen.statefulset ? std::max(seen.statefulset->spec_replicas, 5) : 5;
    for (int i = 0; i < claims; ++i)
        if (auto pvc = find(rs.pvcs, data_claim_name(db, i)))
            seen.data_pvcs.push_back(observe_pvc(*pvc));
    if (auto pvc = find(rs.pvcs, backup_name(db)))
        seen.backup_pvc = observe_pvc(*pvc);
}

observed_state observe(const runtime::managed_context& ctx, const resources& rs) {
    observed_state seen;
    const runtime::object& db = ctx.primary();
    const auto& ns = db.meta.namespace_;
    observe_storage(seen, db.meta, rs, [&ctx](const api::resource& r, const std::string& name) {
        auto cached = ctx.cached(r, name);
        return cached ? std::optional<json::value>(whole(*cached)) : std::nullopt;
    });
    seen.primary = current_primary(db);
    if (auto cj = ctx.cached(rs.cronjobs, backup_name(db.meta)))
        seen.cronjob = observe_cronjob(whole(*cj));
    if (const runtime::store* jobs = ctx.cache(rs.jobs))
        for (const auto& job : jobs->labelled(ns, runtime::instance_label, db.meta.name)) {
            observed_job j = observe_job(whole(*job));
            (j.component == "credentials" ? seen.credentials_jobs : seen.backup_jobs).push_back(std::move(j));
        }
    return seen;
}

std::vector<storage_class> storage_classes(const runtime::managed_context& ctx, const resources& rs) {
    std::vector<storage_class> out;
    if (const runtime::store* classes = ctx.cache(rs.storageclasses))
        for (const auto& sc : classes->list())
            out.push_back(observe_storage_class(whole(*sc)));
    return out;
}

std::string current_primary(const runtime::object& db) {
    const json::value* v = db.body.at("status", "currentPrimary");
    const std::string* name = v ? v->if_string() : nullptr;
    if (name && instance_ordinal(db.meta, *name) >= 0)
        return *name;
    return instance_name(db.meta, 0);
}

awaitable<core::result<std::vector<observed_pod>>> list_instances(runtime::managed_context& ctx,
                                                                  const resources& rs,
                                                                  const database_spec& spec,
                                                                  const observed_state& seen,
                                                                  const replication_record& recorded) {
    std::vector<observed_pod> out;
    const auto& sts = seen.statefulset;
    // (Also while synchronous standbys are recorded: until every member has dropped the setting,
    // a lone server left with it would hold every commit.)
    bool replicated = spec.replicas > 1 || (sts && (sts->spec_replicas > 1 || sts->replicas > 1)) ||
                      recorded.in_progress || !recorded.standbys.empty() || !recorded.reseeding.empty();
    if (spec.engine == engine::mysql || !replicated || !sts)
        co_return out;
    api::list_options by_label;
    for (const auto& [key, value] : selector_labels(ctx.meta(), spec.engine))
        by_label.label_selector += (by_label.label_selector.empty() ? "" : ",") + key + "=" + value;
    auto pods = co_await ctx.client().list(rs.pods, ctx.namespace_(), by_label);
    if (!pods) // without them, nothing about the primary can be decided: the reconcile fails
        co_return core::fail(pods.error());
    for (const json::value& pod : pods->items)
        out.push_back(observe_pod(pod));
    std::sort(out.begin(), out.end(), [](const observed_pod& a, const observed_pod& b) {
        return a.name.size() != b.name.size() ? a.name.size() < b.name.size() : a.name < b.name;
    });
    co_return out;
}

awaitable<core::result<void>>
label_roles(runtime::managed_context& ctx, const resources& rs, const observed_state& seen) {
    api::patch_options as_operator;
    as_operator.field_manager = ctx.field_manager();
    as_operator.force = true;
    for (const role_change& change : role_changes(seen)) {
        json::object labels{{std::string(role_label), change.role}};
        json::object meta{
            {"name", change.pod}, {"namespace", ctx.namespace_()}, {"labels", std::move(labels)}};
        json::object body{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(meta)}};
        auto applied = co_await ctx.client().patch(
            rs.pods, ctx.namespace_(), change.pod, api::patch_type::apply, json::write(body), as_operator);
        // Gone since it was listed (an apply would create it, which a Pod without spec cannot).
        if (!applied && applied.error().code != api::errc::not_found &&
            applied.error().code != api::errc::invalid)
            co_return core::fail(applied.error());
        if (applied)
            ctx.log().info("role set", {{"pod", change.pod}, {"role", change.role}});
    }
    co_return core::result<void>{};
}

// The primary's pod, read (not cached) only while the StatefulSet lacks ready pods.
awaitable<std::optional<observed_pod>>
read_pod(runtime::managed_context& ctx, const resources& rs, const observed_state& seen) {
    const runtime::object& db = ctx.primary();
    if (!seen.statefulset || seen.statefulset->ready_replicas >= std::max(seen.statefulset->spec_replicas, 1))
        co_return std::nullopt;
    auto pod = co_await ctx.client().get(rs.pods, db.meta.namespace_, seen.primary);
    if (!pod)
        co_return std::nullopt;
    co_return observe_pod(*pod);
}

// A StatefulSet does not replace a pod that never became ready on a revision it no longer wants
// (kubernetes#67250): after a bad image is reverted, the operator deletes that pod. Returns
// whether it did.
awaitable<bool>
replace_stuck_pod(runtime::managed_context& ctx, const resources& rs, const observed_state& seen) {
    const runtime::object& db = ctx.primary();
    const auto& pod = seen.pod;
    const auto& sts = seen.statefulset;
    if (!pod || !sts || pod->ready || pod->terminating || !pod->stuck() || sts->update_revision.empty() ||
        pod->revision == sts->update_revision || sts->observed_generation < sts->generation)
        co_return false;
    api::delete_options background{.propagation_policy = api::propagation::background};
    auto removed = co_await ctx.client().remove(rs.pods, db.meta.namespace_, pod->name, background);
    if (!removed)
        co_return false;
    ctx.record(runtime::event_type::normal,
               "ReplacingPod",
               "pod " + pod->name + " was stuck (" + pod->waiting_reason + ") on revision " + pod->revision +
                   ", which the spec no longer asks for: deleted, so the StatefulSet recreates it on " +
                   sts->update_revision);
    co_return true;
}

} // namespace kubecoro::controllers::database
