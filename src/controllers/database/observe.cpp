#include "database/observe.hpp"

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

// The server pod, read (not cached) only while the StatefulSet lacks ready pods.
awaitable<std::optional<observed_pod>>
read_pod(runtime::managed_context& ctx, const resources& rs, const observed_state& seen) {
    const runtime::object& db = ctx.primary();
    if (!seen.statefulset || seen.statefulset->ready_replicas >= std::max(seen.statefulset->spec_replicas, 1))
        co_return std::nullopt;
    std::string name = db.meta.name + "-0";
    auto pod = co_await ctx.client().get(rs.pods, db.meta.namespace_, name);
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
