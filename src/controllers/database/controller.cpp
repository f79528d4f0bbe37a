#include "database/controller.hpp"

#include "database/expansion.hpp"
#include "database/password.hpp"
#include "database/render.hpp"
#include "database/spec.hpp"
#include "database/status.hpp"
#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/apply.hpp>
#include <kubecoro/runtime/drift.hpp>
#include <kubecoro/runtime/finalizer.hpp>

#include <map>
#include <set>

namespace kubecoro::controllers::database {
namespace {

using runtime::reconcile_result;

// The Databases whose volume expansion a StorageClass refused, by class name ("" when a claim
// had no class and there was no default): a change of that class reconciles them again.
struct expansion_waiters {
    std::map<std::string, std::set<std::pair<std::string, std::string>>> by_class;

    void update(const api::object_meta& db, const std::optional<expansion_refusal>& refusal) {
        std::pair<std::string, std::string> key{db.namespace_, db.name};
        for (auto& [name, dbs] : by_class)
            dbs.erase(key);
        std::erase_if(by_class, [](const auto& entry) { return entry.second.empty(); });
        if (refusal)
            for (const auto& name : refusal->storage_classes)
                by_class[name].insert(key);
    }
    std::vector<runtime::reconcile_request> waiting_for(const storage_class& c) const {
        std::vector<runtime::reconcile_request> out;
        auto add = [&](const std::string& name) {
            if (auto it = by_class.find(name); it != by_class.end())
                for (const auto& [ns, db] : it->second)
                    out.push_back({ns, db});
        };
        add(c.name);
        if (c.is_default) // a new default class concerns the claims that had none
            add("");
        return out;
    }
};

// The resources the controller reads and writes; CronJob and PDB versions come from discovery.
struct resources {
    api::resource databases{"kubecoro.dev", "v1alpha1", "databases", "Database"};
    api::resource secrets{"", "v1", "secrets", "Secret"};
    api::resource services{"", "v1", "services", "Service"};
    api::resource pvcs{"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"};
    api::resource statefulsets{"apps", "v1", "statefulsets", "StatefulSet"};
    api::resource jobs{"batch", "v1", "jobs", "Job"};
    api::resource cronjobs{"batch", "v1", "cronjobs", "CronJob"};
    api::resource pdbs{"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"};
    api::resource storageclasses{
        "storage.k8s.io", "v1", "storageclasses", "StorageClass", api::scope::cluster};
    std::shared_ptr<expansion_waiters> waiters = std::make_shared<expansion_waiters>();

    const api::resource* by_kind(std::string_view kind) const {
        for (const auto* r : {&secrets, &services, &pvcs, &statefulsets, &cronjobs, &pdbs})
            if (r->kind == kind)
                return r;
        return nullptr;
    }
    api_versions versions() const { return {pdbs.api_version(), cronjobs.api_version()}; }
};

// A cached object as a whole tree again (metadata included), for the observe_* decoders.
json::value whole(const runtime::object& o) {
    json::value v = o.body;
    if (auto* obj = v.if_object())
        obj->set("metadata", json::encode_meta(o.meta));
    return v;
}

runtime::object_ptr cached(const runtime::reconcile_context& ctx,
                           const api::resource& r,
                           const std::string& ns,
                           const std::string& name) {
    const runtime::store* s = ctx.cache(r);
    return s ? s->get(ns, name) : nullptr;
}

observed_state
observe(const runtime::reconcile_context& ctx, const resources& rs, const runtime::object& db) {
    observed_state seen;
    const auto& ns = db.meta.namespace_;
    if (auto sts = cached(ctx, rs.statefulsets, ns, db.meta.name))
        seen.statefulset = observe_statefulset(whole(*sts));
    int claims = seen.statefulset ? std::max(seen.statefulset->spec_replicas, 5) : 5;
    for (int i = 0; i < claims; ++i)
        if (auto pvc = cached(ctx, rs.pvcs, ns, data_claim_name(db.meta, i)))
            seen.data_pvcs.push_back(observe_pvc(whole(*pvc)));
    if (auto pvc = cached(ctx, rs.pvcs, ns, backup_name(db.meta)))
        seen.backup_pvc = observe_pvc(whole(*pvc));
    if (auto cj = cached(ctx, rs.cronjobs, ns, backup_name(db.meta)))
        seen.cronjob = observe_cronjob(whole(*cj));
    if (const runtime::store* jobs = ctx.cache(rs.jobs))
        for (const auto& job : jobs->list_namespace(ns)) {
            auto it = job->meta.labels.find("app.kubernetes.io/instance");
            if (it != job->meta.labels.end() && it->second == db.meta.name)
                seen.backup_jobs.push_back(observe_job(whole(*job)));
        }
    return seen;
}

std::vector<storage_class> storage_classes(const runtime::reconcile_context& ctx, const resources& rs) {
    std::vector<storage_class> out;
    if (const runtime::store* classes = ctx.cache(rs.storageclasses))
        for (const auto& sc : classes->list())
            out.push_back(observe_storage_class(whole(*sc)));
    return out;
}

// The password of the credentials Secret, which may have outlived an earlier Database of the
// same name (deletionPolicy Retain): generated only when no Secret exists.
awaitable<core::result<std::string>>
credentials_password(const runtime::reconcile_context& ctx, const resources& rs, const runtime::object& db) {
    if (auto secret = cached(ctx, rs.secrets, db.meta.namespace_, secret_name(db.meta)))
        if (auto password = password_from_secret(whole(*secret)))
            co_return *password;
    std::string name = secret_name(db.meta); // named: see core/asio.hpp on g++ 12
    auto existing = co_await ctx.client().get(rs.secrets, db.meta.namespace_, name);
    if (existing) {
        if (auto password = password_from_secret(*existing))
            co_return *password;
        co_return core::fail(core::errc::invalid_argument,
                             "Secret " + secret_name(db.meta) + " exists without a usable data.password");
    }
    if (existing.error().code != api::errc::not_found)
        co_return core::fail(existing.error());
    co_return generate_password();
}

// The first line of an API error: Kubernetes appends a multi-line diff to some Invalid answers.
std::string first_line(const std::string& message) {
    return message.substr(0, message.find('\n'));
}

// A hand edit can leave a child our apply cannot merge with: a Service port renumbered by hand
// keeps its name, and the applied port would duplicate it (422 Invalid). A merge patch of the
// rendered spec replaces lists instead of merging them, and so repairs such drift.
awaitable<core::result<json::value>> replace_spec(const runtime::reconcile_context& ctx,
                                                  const api::resource& r,
                                                  const runtime::object& current,
                                                  const json::value& spec) {
    json::object body;
    body.set("spec", spec);
    std::string patch = json::write(body);
    api::patch_options as_controller;
    as_controller.field_manager = ctx.field_manager();
    co_return co_await ctx.client().patch(
        r, current.meta.namespace_, current.meta.name, api::patch_type::merge, patch, as_controller);
}

// What applying the children came to: an error that stopped it, or volume claims that the API
// server would not grow (the other children are applied all the same).
struct apply_outcome {
    core::error failure;
    std::string not_expanded; // "<claim> to <size>: <the server's answer>; ..."
};

// Applies what is not already in place.
awaitable<apply_outcome> apply_children(const runtime::reconcile_context& ctx,
                                        const resources& rs,
                                        const std::vector<json::value>& children) {
    apply_outcome out;
    for (const auto& child : children) {
        const json::value* kind = child.at("kind");
        const api::resource* r = kind ? rs.by_kind(kind->string_or("")) : nullptr;
        if (!r) {
            out.failure = core::error{core::errc::invalid_argument, "no resource for a rendered child"};
            co_return out;
        }
        const json::value* name = child.at("metadata", "name");
        const json::value* ns = child.at("metadata", "namespace");
        auto current = cached(ctx, *r, ns ? ns->string_or("") : "", name ? name->string_or("") : "");
        if (runtime::is_applied(child, current.get()))
            continue;
        auto applied = co_await runtime::apply(ctx.client(), *r, child, ctx.field_manager());
        const json::value* spec = child.at("spec");
        if (!applied && current && spec && applied.error().code == api::errc::invalid && r != &rs.pvcs)
            applied = co_await replace_spec(ctx, *r, *current, *spec);
        if (applied)
            continue;
        const auto& code = applied.error().code;
        // An existing claim can only change its request: the server refused to expand it.
        if (r == &rs.pvcs && current && (code == api::errc::invalid || code == api::errc::forbidden)) {
            const json::value* size = child.at("spec", "resources", "requests", "storage");
            out.not_expanded += (out.not_expanded.empty() ? "" : "; ") + current->meta.name + " to " +
                                (size ? size->string_or("") : "") + ": " +
                                first_line(applied.error().message);
            continue;
        }
        out.failure = applied.error();
        co_return out;
    }
    co_return out;
}

awaitable<core::result<void>> remove_unwanted(const runtime::reconcile_context& ctx,
                                              const resources& rs,
                                              const runtime::object& db,
                                              const database_spec& spec) {
    for (const auto& child : unwanted_children(db.meta, spec, rs.versions())) {
        const api::resource* r = rs.by_kind(child.kind);
        if (!r || !cached(ctx, *r, db.meta.namespace_, child.name))
            continue;
        api::delete_options background;
        auto removed = co_await ctx.client().remove(*r, db.meta.namespace_, child.name, background);
        if (!removed && removed.error().code != api::errc::not_found)
            co_return core::fail(removed.error());
    }
    co_return core::result<void>{};
}

// Events for what this reconcile is about to change, judged against what exists.
void record_changes(const runtime::reconcile_context& ctx,
                    const database_spec& spec,
                    const observed_state& seen) {
    if (!seen.statefulset) {
        ctx.record(runtime::event_type::normal,
                   "Creating",
                   std::string("creating ") + std::string(to_string(spec.engine)) + " " + spec.version);
        return;
    }
    if (seen.statefulset->spec_replicas != spec.replicas)
        ctx.record(runtime::event_type::normal,
                   "Scaling",
                   "scaling from " + std::to_string(seen.statefulset->spec_replicas) + " to " +
                       std::to_string(spec.replicas) + " replicas");
    if (seen.statefulset->image != spec.image)
        ctx.record(runtime::event_type::normal,
                   "VersionChange",
                   "rolling from " + seen.statefulset->image + " to " + spec.image);
    for (const auto& pvc : seen.data_pvcs)
        if (compare_quantities(pvc.requested, spec.storage).value_or(0) < 0) {
            ctx.record(runtime::event_type::normal, "Resizing", "growing data volumes to " + spec.storage);
            break;
        }
}

// True when it wrote, false when the status already said the same.
awaitable<core::result<bool>> write_status(const runtime::reconcile_context& ctx,
                                           const resources& rs,
                                           const runtime::object& db,
                                           status_input in) {
    const json::value* current = db.body.at("status");
    if (current) {
        if (const json::value* c = current->at("conditions"))
            if (auto decoded = runtime::conditions_from_json(*c))
                in.conditions = std::move(*decoded);
        if (const json::value* p = current->at("phase"))
            in.phase = p->string_or("");
    }
    in.meta = db.meta;
    in.now = runtime::now_rfc3339(std::chrono::system_clock::now());
    auto body = render_status(db.meta, compute_status(in));
    if (current && runtime::contains(*current, *body.at("status")))
        co_return false;
    runtime::require_resource_version(body, db.meta.resource_version);
    auto written =
        co_await runtime::apply_status(ctx.client(), rs.databases, std::move(body), ctx.field_manager());
    if (!written)
        co_return core::fail(written.error());
    co_return true;
}

// Whether the status already reports `message` as ReconcileSucceeded=False with `reason` for this
// generation (then its Warning event was sent too).
bool already_said(const runtime::object& db, std::string_view reason, const std::string& message) {
    const auto* before = db.body.at("status");
    if (const json::value* c = before ? before->at("conditions") : nullptr)
        if (auto conditions = runtime::conditions_from_json(*c))
            if (const auto* rc = runtime::find_condition(*conditions, condition_type::reconcile_succeeded))
                return rc->status == "False" && rc->reason == reason &&
                       rc->observed_generation == db.meta.generation &&
                       rc->message.find(message.substr(0, 64)) != std::string::npos;
    return false;
}

// A spec we cannot serve: say so once (condition and event), and wait for the next change. The
// event follows the status write that took: a write refused for a stale view (409, retried) or
// a reconcile that has not seen its own write yet does not say it again.
awaitable<reconcile_result> refuse(const runtime::reconcile_context& ctx,
                                   const resources& rs,
                                   const runtime::object& db,
                                   status_input in,
                                   std::string_view reason) {
    const bool said = already_said(db, reason, in.error->message);
    std::string message = in.error->message;
    auto written = co_await write_status(ctx, rs, db, std::move(in));
    if (!written)
        co_return reconcile_result::from_error(written.error());
    if (*written && !said)
        ctx.record(runtime::event_type::warning, std::string(reason), message);
    co_return reconcile_result::terminal(core::error{core::errc::invalid_argument, message});
}

// A cleanup step failed: retried with backoff, and said in a Warning event (repeats aggregated).
reconcile_result cleanup_failed(const runtime::reconcile_context& ctx, const core::error& e) {
    ctx.record(runtime::event_type::warning, "CleanupFailed", e.message);
    return reconcile_result::from_error(e);
}

// Deletion: Delete removes the data; Retain keeps volumes and credentials, detached from the
// Database so garbage collection leaves them alone, and says what it kept.
awaitable<reconcile_result>
clean_up(const runtime::reconcile_context& ctx, const resources& rs, const runtime::object& db) {
    auto spec = parse_spec(db.body);
    // Phase Deleting while the cleanup runs (and while it fails and is retried). A stale cache is
    // retried; any other refusal of the status write does not hold up the deletion.
    status_input in;
    in.observed = observe(ctx, rs, db);
    if (spec)
        in.spec = *spec;
    if (auto w = co_await write_status(ctx, rs, db, std::move(in)); !w) {
        if (w.error().code == api::errc::conflict)
            co_return reconcile_result::from_error(w.error());
        ctx.log().warn("status not written before cleanup", {{"error", w.error()}});
    }
    bool delete_data = spec && spec->deletion == deletion_policy::delete_volumes;
    const auto& ns = db.meta.namespace_;
    std::vector<std::pair<const api::resource*, std::string>> keep_or_delete;
    keep_or_delete.emplace_back(&rs.secrets, secret_name(db.meta));
    keep_or_delete.emplace_back(&rs.pvcs, backup_name(db.meta));
    if (const runtime::store* pvcs = ctx.cache(rs.pvcs))
        for (const auto& pvc : pvcs->list_namespace(ns)) {
            auto it = pvc->meta.labels.find("app.kubernetes.io/instance");
            if (it != pvc->meta.labels.end() && it->second == db.meta.name &&
                pvc->meta.name != backup_name(db.meta))
                keep_or_delete.emplace_back(&rs.pvcs, pvc->meta.name);
        }

    std::string kept;
    for (const auto& [r, name] : keep_or_delete) {
        if (delete_data) {
            api::delete_options background;
            auto removed = co_await ctx.client().remove(*r, ns, name, background);
            if (!removed && removed.error().code != api::errc::not_found)
                co_return cleanup_failed(ctx, removed.error());
            continue;
        }
        auto current = cached(ctx, *r, ns, name);
        if (!current && r == &rs.secrets) {
            auto fetched = co_await ctx.client().get(*r, ns, name);
            if (!fetched && fetched.error().code == api::errc::not_found)
                continue;
        } else if (!current) {
            continue;
        }
        bool owned =
            current && current->meta.controller_ref() && current->meta.controller_ref()->uid == db.meta.uid;
        if (owned || !current) {
            api::patch_options no_options;
            auto detached = co_await ctx.client().patch(
                *r, ns, name, api::patch_type::merge, R"({"metadata":{"ownerReferences":null}})", no_options);
            if (!detached && detached.error().code != api::errc::not_found)
                co_return cleanup_failed(ctx, detached.error());
        }
        kept += (kept.empty() ? "" : ", ") + r->kind + " " + name;
    }
    const std::string fin(finalizer);
    ctx.record(runtime::event_type::normal,
               delete_data ? "DeletedData" : "Retained",
               delete_data ? "deletionPolicy Delete: removed volumes and credentials"
                           : "deletionPolicy Retain: kept " + (kept.empty() ? std::string("nothing") : kept));
    if (auto r = co_await runtime::remove_finalizer(ctx.client(), rs.databases, db.meta, fin); !r)
        co_return reconcile_result::from_error(r.error());
    co_return reconcile_result::done();
}

awaitable<reconcile_result> reconcile(std::shared_ptr<const resources> rs, runtime::reconcile_context ctx) {
    auto db = ctx.get();
    if (!db)
        co_return reconcile_result::done();

    auto spec = parse_spec(db->body);
    auto named = spec ? validate_name(db->meta.name, *spec) : core::result<void>{};
    status_input in;
    in.observed = observe(ctx, *rs, *db);
    // An invalid spec before anything exists creates nothing, so there is nothing to clean up:
    // the finalizer waits for a valid spec (and the refusal is one status write, not three).
    bool nothing_to_clean = !(spec && named) && !in.observed.statefulset &&
                            !cached(ctx, rs->secrets, db->meta.namespace_, secret_name(db->meta));

    const std::string fin(finalizer); // named: see core/asio.hpp on g++ 12
    switch (runtime::decide_finalizer(db->meta, finalizer)) {
    case runtime::finalizer_step::released:
        co_return reconcile_result::done();
    case runtime::finalizer_step::cleanup:
        co_return co_await clean_up(ctx, *rs, *db);
    case runtime::finalizer_step::add:
        if (nothing_to_clean)
            break;
        if (auto r = co_await runtime::ensure_finalizer(ctx.client(), rs->databases, db->meta, fin); !r)
            co_return reconcile_result::from_error(r.error());
        // Done for now: the finalizer's own watch event brings the Database back. Going on would
        // apply the children and then fail the status write, which names the resourceVersion
        // from before the finalizer (409 Conflict).
        co_return reconcile_result::done();
    case runtime::finalizer_step::proceed:
        break;
    }

    if (!spec || !named) {
        in.error = reconcile_error{error_kind::invalid_spec, (spec ? named.error() : spec.error()).message};
        co_return co_await refuse(ctx, *rs, *db, std::move(in), "InvalidSpec");
    }
    in.spec = *spec;
    if (auto change = validate_change(*spec, in.observed); !change) {
        in.error = reconcile_error{error_kind::change_refused, change.error().message};
        co_return co_await refuse(ctx, *rs, *db, std::move(in), "ChangeRefused");
    }
    if (spec->paused) {
        if (auto w = co_await write_status(ctx, *rs, *db, std::move(in)); !w)
            co_return reconcile_result::from_error(w.error());
        co_return reconcile_result::done();
    }

    auto password = co_await credentials_password(ctx, *rs, *db);
    if (!password) {
        in.error = reconcile_error{error_kind::apply_failed, password.error().message};
        (void)co_await write_status(ctx, *rs, *db, std::move(in));
        co_return reconcile_result::from_error(password.error());
    }
    // Claims grow only where their StorageClass allows it; otherwise they are held at their size.
    auto refusal = refuse_expansion(*spec, in.observed, storage_classes(ctx, *rs));
    rs->waiters->update(db->meta, refusal);
    const database_spec served = refusal ? hold_storage(*spec, in.observed) : *spec;
    auto children = render_children(db->meta, served, *password, in.observed, rs->versions());
    record_changes(ctx, served, in.observed);
    auto applied = co_await apply_children(ctx, *rs, children);
    core::error failure = applied.failure;
    if (!failure.code)
        if (auto removed = co_await remove_unwanted(ctx, *rs, *db, *spec); !removed)
            failure = removed.error();
    if (failure.code) {
        in.error = reconcile_error{error_kind::apply_failed, failure.message};
        ctx.record(runtime::event_type::warning, "ApplyFailed", failure.message);
    } else if (refusal) {
        in.error = reconcile_error{error_kind::volume_expansion_not_supported, refusal->message};
        if (!already_said(*db, "VolumeExpansionNotSupported", refusal->message))
            ctx.record(runtime::event_type::warning, "VolumeExpansionNotSupported", refusal->message);
    } else if (!applied.not_expanded.empty()) {
        in.error = reconcile_error{error_kind::volume_expansion_failed, applied.not_expanded};
        ctx.record(runtime::event_type::warning, "VolumeExpansionFailed", applied.not_expanded);
    }
    if (auto w = co_await write_status(ctx, *rs, *db, std::move(in)); !w && !failure.code)
        failure = w.error();
    if (failure.code)
        co_return reconcile_result::from_error(failure);
    // Not retried in a loop: again when something changes, and at the resync (a StorageClass may
    // allow expansion by then).
    if (!applied.not_expanded.empty())
        ctx.log().warn("volume expansion refused", {{"claims", applied.not_expanded}});
    co_return reconcile_result::done();
}

// The first of `versions` the server serves, else the last one (for a clear error later).
awaitable<api::resource> discover(client::client& c, api::resource r, std::vector<std::string> versions) {
    auto found = co_await c.discover(r.group, versions, r.plural);
    if (found) {
        r.version = found->version;
        co_return r;
    }
    r.version = versions.front();
    co_return r;
}

} // namespace

awaitable<core::result<std::shared_ptr<runtime::controller>>> make_controller(manager::controller_env env) {
    auto rs = std::make_shared<resources>();
    // (A named vector: g++ 12 miscompiles braced string lists inside co_await expressions.)
    const std::vector<std::string> newest_first{"v1", "v1beta1"};
    rs->cronjobs = co_await discover(*env.client, rs->cronjobs, newest_first);
    rs->pdbs = co_await discover(*env.client, rs->pdbs, newest_first);
    env.log.info(
        "discovered API versions",
        {{"cronjobs", rs->cronjobs.api_version()}, {"poddisruptionbudgets", rs->pdbs.api_version()}});

    // Data claims are the StatefulSet's, backup Jobs the CronJob's: found by their labels.
    auto by_instance = [](const runtime::object& o) {
        std::vector<runtime::reconcile_request> out;
        if (auto it = o.meta.labels.find("app.kubernetes.io/instance"); it != o.meta.labels.end())
            out.push_back({o.meta.namespace_, it->second});
        return out;
    };
    const runtime::watch_filter ours{"app.kubernetes.io/managed-by=kubecoro", ""};
    // Each projection keeps every top-level field render.cpp sets on that kind (the Secret's
    // `type` too): drift detection compares against the cache, and a field missing there would
    // send a (no-op) apply on every reconcile.
    auto children = runtime::keep_paths({{"spec"}, {"data"}, {"status"}});
    co_return env.builder("database")
        .for_resource(rs->databases)
        .owns(rs->secrets, runtime::keep_paths({{"type"}, {"data"}}), ours)
        .owns(rs->services, runtime::keep_paths({{"spec"}}), ours)
        .owns(rs->statefulsets, children, ours)
        .owns(rs->cronjobs, children, ours)
        .owns(rs->pdbs, runtime::keep_paths({{"spec"}}), ours)
        .watches(rs->pvcs, by_instance, runtime::keep_paths({{"spec"}, {"status"}}), ours)
        .watches(rs->jobs, by_instance, runtime::keep_paths({{"status"}}), ours)
        // Read when a claim must grow; a change reconciles the Databases it held back.
        .watches(
            rs->storageclasses,
            [waiters = rs->waiters](const runtime::object& o) {
                return waiters->waiting_for(observe_storage_class(whole(o)));
            },
            runtime::keep_paths({{"allowVolumeExpansion"}}))
        .reconcile_with([rs](runtime::reconcile_context ctx) { return reconcile(rs, std::move(ctx)); })
        .build();
}

} // namespace kubecoro::controllers::database
