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

#include <algorithm>
#include <cstdlib>
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
    api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};
    api::resource services{"", "v1", "services", "Service"};
    api::resource pvcs{"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"};
    api::resource statefulsets{"apps", "v1", "statefulsets", "StatefulSet"};
    api::resource jobs{"batch", "v1", "jobs", "Job"};
    api::resource pods{"", "v1", "pods", "Pod"};
    api::resource cronjobs{"batch", "v1", "cronjobs", "CronJob"};
    api::resource pdbs{"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"};
    api::resource storageclasses{
        "storage.k8s.io", "v1", "storageclasses", "StorageClass", api::scope::cluster};
    std::shared_ptr<expansion_waiters> waiters = std::make_shared<expansion_waiters>();

    const api::resource* by_kind(std::string_view kind) const {
        for (const auto* r :
             {&secrets, &configmaps, &services, &pvcs, &statefulsets, &cronjobs, &pdbs, &jobs})
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
            if (it == job->meta.labels.end() || it->second != db.meta.name)
                continue;
            observed_job j = observe_job(whole(*job));
            (j.component == "credentials" ? seen.credentials_jobs : seen.backup_jobs).push_back(std::move(j));
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

// The password in Secret `name`, which may have outlived an earlier Database of the same name
// (deletionPolicy Retain); nullopt when there is no such Secret.
awaitable<core::result<std::optional<std::string>>> secret_password(const runtime::reconcile_context& ctx,
                                                                    const resources& rs,
                                                                    const std::string& ns,
                                                                    const std::string& name) {
    if (auto secret = cached(ctx, rs.secrets, ns, name))
        if (auto password = password_from_secret(whole(*secret)))
            co_return password;
    auto existing = co_await ctx.client().get(rs.secrets, ns, name);
    if (existing) {
        if (auto password = password_from_secret(*existing))
            co_return password;
        co_return core::fail(core::errc::invalid_argument,
                             "Secret " + name + " exists without a usable data.password");
    }
    if (existing.error().code != api::errc::not_found)
        co_return core::fail(existing.error());
    co_return std::optional<std::string>{};
}

// Data exists once the StatefulSet or a data claim does: its passwords are the truth from then on.
bool data_exists(const observed_state& seen) {
    return seen.statefulset || !seen.data_pvcs.empty();
}

struct credentials {
    passwords pw;
    bool app_regenerated = false; // the application Secret was gone while data existed
};

// The passwords to render. A missing Secret gets a new password only when no data exists yet, or
// (the application's) when the operator can set it inside the server as the superuser. A missing
// superuser Secret while data exists is an error that says what to do.
awaitable<core::result<credentials>> read_credentials(const runtime::reconcile_context& ctx,
                                                      const resources& rs,
                                                      const runtime::object& db,
                                                      const observed_state& seen) {
    const auto& ns = db.meta.namespace_;
    credentials out;
    std::string super_name = superuser_secret_name(db.meta);
    auto super = co_await secret_password(ctx, rs, ns, super_name);
    if (!super)
        co_return core::fail(super.error());
    if (*super) {
        out.pw.superuser = **super;
    } else if (data_exists(seen)) {
        co_return core::fail(
            api::errc::not_found,
            "Secret " + super_name +
                " is gone, and the server's superuser password was in it: kubecoro will not "
                "generate a password the server does not have. Recreate the Secret with keys "
                "username and password (from your copy of it), or create a new Database from "
                "a backup (spec.bootstrap)");
    } else if (auto generated = generate_password(); generated) {
        out.pw.superuser = *generated;
    } else {
        co_return core::fail(generated.error());
    }
    std::string app_name = secret_name(db.meta);
    auto app = co_await secret_password(ctx, rs, ns, app_name);
    if (!app)
        co_return core::fail(app.error());
    if (*app) {
        out.pw.app = **app;
    } else if (auto generated = generate_password(); generated) {
        out.pw.app = *generated;
        out.app_regenerated = data_exists(seen);
    } else {
        co_return core::fail(generated.error());
    }
    co_return out;
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
    std::string app_secret_version; // the application Secret's resourceVersion after the apply
    std::string not_expanded;       // "<claim> to <size>: <the server's answer>; ..."
};

// Applies what is not already in place.
awaitable<apply_outcome> apply_children(const runtime::reconcile_context& ctx,
                                        const resources& rs,
                                        const std::string& app_secret_name,
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
        const bool app_secret = r == &rs.secrets && name && name->string_or("") == app_secret_name;
        if (runtime::is_applied(child, current.get())) {
            if (app_secret)
                out.app_secret_version = current->meta.resource_version;
            continue;
        }
        auto applied = co_await runtime::apply(ctx.client(), *r, child, ctx.field_manager());
        if (applied && app_secret)
            if (const json::value* rv = applied->at("metadata", "resourceVersion"))
                out.app_secret_version = rv->string_or("");
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
        api::delete_options background{.propagation_policy = api::propagation::background};
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

// status.backup as the last status write left it.
backup_record recorded_backup(const runtime::object& db) {
    backup_record r;
    const json::value* b = db.body.at("status", "backup");
    if (!b)
        return r;
    auto text = [&](std::initializer_list<std::string_view> path) {
        const json::value* v = b;
        for (auto key : path)
            v = v ? v->at(key) : nullptr;
        return v ? v->string_or("") : std::string();
    };
    r.last_failure_time = text({"lastFailureTime"});
    r.last_failure = text({"lastFailure"});
    r.last_dump = text({"lastDump", "name"});
    r.last_dump_job = text({"lastDump", "job"});
    if (const json::value* bytes = b->at("lastDump", "bytes"))
        r.last_dump_bytes = bytes->int_or(-1);
    return r;
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
        // Kept: a field left out of the apply would be removed.
        if (const json::value* v = current->at("credentials", "secretVersion");
            v && in.credentials_version.empty())
            in.credentials_version = v->string_or("");
        if (const json::value* v = current->at("backup", "lastRequest"); v && in.backup_request.empty())
            in.backup_request = v->string_or("");
        if (in.backup.last_failure_time.empty() && in.backup.last_dump_job.empty())
            in.backup = recorded_backup(db);
    }
    in.meta = db.meta;
    if (in.clock == std::chrono::system_clock::time_point{})
        in.clock = std::chrono::system_clock::now();
    in.now = runtime::now_rfc3339(in.clock);
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

// The Database's condition of `type` as its status reports it now.
std::optional<runtime::condition> current_condition(const runtime::object& db, std::string_view type) {
    const auto* before = db.body.at("status");
    if (const json::value* c = before ? before->at("conditions") : nullptr)
        if (auto conditions = runtime::conditions_from_json(*c))
            if (const auto* found = runtime::find_condition(*conditions, type))
                return *found;
    return std::nullopt;
}

// Whether the status already reports `message` as ReconcileSucceeded=False with `reason` for this
// generation (then its Warning event was sent too).
bool already_said(const runtime::object& db, std::string_view reason, const std::string& message) {
    auto rc = current_condition(db, condition_type::reconcile_succeeded);
    return rc && rc->status == "False" && rc->reason == reason &&
           rc->observed_generation == db.meta.generation &&
           rc->message.find(message.substr(0, 64)) != std::string::npos;
}

// Whether the status already reports Progressing with `reason`.
bool progressing_says(const runtime::object& db, std::string_view reason) {
    auto p = current_condition(db, condition_type::progressing);
    return p && p->reason == reason;
}

// Whether the status already reports CredentialsReady=False with `reason`.
bool already_said_credentials(const runtime::object& db, std::string_view reason) {
    auto c = current_condition(db, condition_type::credentials_ready);
    return c && c->status == "False" && c->reason == reason;
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

// The application password in the server follows the application Secret. At first start the
// image sets it; afterwards a credentials job does, as the superuser, whenever the Secret changed
// (a user's rotation, or the operator's new password for a deleted Secret). Sets
// in.credentials(_version); returns the finished jobs the status write makes obsolete.
awaitable<core::result<std::vector<std::string>>> converge_password(const runtime::reconcile_context& ctx,
                                                                    const resources& rs,
                                                                    const runtime::object& db,
                                                                    const database_spec& spec,
                                                                    status_input& in,
                                                                    bool regenerated,
                                                                    const std::string& version) {
    const observed_job* job = nullptr; // the one for this version of the Secret (its name says which)
    std::vector<std::string> obsolete; // finished, for an earlier version
    for (const observed_job& j : in.observed.credentials_jobs) {
        if (j.secret_version == version)
            job = &j;
        else if (j.succeeded || j.failed)
            obsolete.push_back(j.name);
    }
    const auto* before = db.body.at("status", "credentials", "secretVersion");
    std::string applied = before ? before->string_or("") : std::string();
    if (applied.empty() && !in.observed.statefulset && !regenerated)
        applied = version; // the first start sets this password
    if (job && job->succeeded)
        applied = version;
    in.credentials_version = applied;
    if (version.empty() || applied == version) {
        in.credentials = credentials_state{};
        if (before && before->string_or("") != version && !applied.empty())
            ctx.record(runtime::event_type::normal,
                       "PasswordApplied",
                       "the server has the password of Secret " + secret_name(db.meta));
        if (job && job->succeeded)
            obsolete.push_back(job->name);
        co_return obsolete;
    }
    if (job && job->failed) {
        std::string message = "job " + job->name + " could not set the password of Secret " +
                              secret_name(db.meta) +
                              " in the server (see its pod's log); it runs again when the Secret changes";
        if (!already_said_credentials(db, "PasswordApplyFailed"))
            ctx.record(runtime::event_type::warning, "PasswordApplyFailed", message);
        in.credentials = credentials_state{"False", "PasswordApplyFailed", message};
        co_return obsolete;
    }
    if (!in.observed.statefulset || in.observed.statefulset->ready_replicas < 1) {
        in.credentials = credentials_state{"False",
                                           "WaitingForServer",
                                           "the password of Secret " + secret_name(db.meta) +
                                               " is set once the server is ready"};
        co_return obsolete;
    }
    if (!job) {
        auto created = co_await runtime::apply(
            ctx.client(), rs.jobs, render_credentials_job(db.meta, spec, version), ctx.field_manager());
        if (!created)
            co_return core::fail(created.error());
    }
    in.credentials =
        credentials_state{"False",
                          "Applying",
                          "job " + credentials_job_name(db.meta, version) + " sets the password of Secret " +
                              secret_name(db.meta) + " in the server"};
    co_return obsolete;
}

// kubectl annotate db/<name> kubecoro.dev/backup-now=<new value>: one backup Job per new value.
awaitable<core::result<void>> backup_on_request(const runtime::reconcile_context& ctx,
                                                const resources& rs,
                                                const runtime::object& db,
                                                const database_spec& spec,
                                                status_input& in) {
    auto it = db.meta.annotations.find(std::string(backup_now_annotation));
    const auto* handled = db.body.at("status", "backup", "lastRequest");
    if (it == db.meta.annotations.end() || it->second.empty() ||
        (handled && handled->string_or("") == it->second))
        co_return core::result<void>{};
    in.backup_request = it->second;
    if (!spec.backup.enabled) {
        ctx.record(runtime::event_type::warning,
                   "BackupNotEnabled",
                   "kubecoro.dev/backup-now ignored: spec.backup.enabled is false");
        co_return core::result<void>{};
    }
    auto created = co_await runtime::apply(
        ctx.client(), rs.jobs, render_backup_job(db.meta, spec, it->second), ctx.field_manager());
    if (!created)
        co_return core::fail(created.error());
    ctx.record(runtime::event_type::normal,
               "BackupStarted",
               "job " + backup_job_name(db.meta, it->second) + " backs up now (kubecoro.dev/backup-now)");
    co_return core::result<void>{};
}

// What the backup Jobs came to since the last status write: a Warning event for each newly failed
// one, and the name and size of the newest dump (from its pod's termination message, which the
// backup script writes as "dump=<name> bytes=<size>").
awaitable<void> record_backups(const runtime::reconcile_context& ctx,
                               const resources& rs,
                               const runtime::object& db,
                               status_input& in) {
    in.backup = recorded_backup(db);
    std::vector<const observed_job*> jobs;
    for (const observed_job& j : in.observed.backup_jobs)
        if ((j.failed || j.succeeded) && !j.finished_time.empty())
            jobs.push_back(&j);
    std::sort(jobs.begin(), jobs.end(), [](auto* a, auto* b) { return a->finished_time < b->finished_time; });
    const observed_job* newest_success = nullptr;
    for (const observed_job* j : jobs) {
        if (j->succeeded)
            newest_success = j;
        if (!j->failed || j->finished_time <= in.backup.last_failure_time)
            continue;
        in.backup.last_failure_time = j->finished_time;
        in.backup.last_failure = "job " + j->name + (j->failure.empty() ? std::string() : ": " + j->failure);
        ctx.record(runtime::event_type::warning, "BackupFailed", "backup " + in.backup.last_failure);
    }
    if (!newest_success || newest_success->name == in.backup.last_dump_job)
        co_return;
    api::list_options by_job;
    by_job.label_selector = "job-name=" + newest_success->name;
    auto pods = co_await ctx.client().list(rs.pods, db.meta.namespace_, by_job);
    in.backup.last_dump_job = newest_success->name;
    in.backup.last_dump.clear();
    in.backup.last_dump_bytes = -1;
    if (!pods)
        co_return;
    for (const json::value& pod : pods->items)
        if (const json::value* list = pod.at("status", "containerStatuses"); list && list->is_array())
            for (const json::value& c : *list->if_array()) {
                const json::value* m = c.at("state", "terminated", "message");
                std::string message = m ? m->string_or("") : std::string();
                auto name = message.find("dump=");
                auto bytes = message.find(" bytes=");
                if (name == std::string::npos || bytes == std::string::npos || bytes < name)
                    continue;
                in.backup.last_dump = message.substr(name + 5, bytes - name - 5);
                in.backup.last_dump_bytes = std::atoll(message.c_str() + bytes + 7);
            }
}

// The server pod, read (not cached) only while the StatefulSet lacks ready pods.
awaitable<std::optional<observed_pod>> read_pod(const runtime::reconcile_context& ctx,
                                                const resources& rs,
                                                const runtime::object& db,
                                                const observed_state& seen) {
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
awaitable<bool> replace_stuck_pod(const runtime::reconcile_context& ctx,
                                  const resources& rs,
                                  const runtime::object& db,
                                  const observed_state& seen) {
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
    keep_or_delete.emplace_back(&rs.secrets, superuser_secret_name(db.meta));
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
            api::delete_options background{.propagation_policy = api::propagation::background};
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
    in.observed.pod = co_await read_pod(ctx, *rs, *db, in.observed);
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
    if (auto one = validate_topology(*spec); !one) {
        // A StatefulSet with more pods (an earlier version) keeps serving through ordinal 0 only.
        if (in.observed.statefulset)
            if (auto r = co_await runtime::apply(
                    ctx.client(), rs->services, render_service(db->meta, *spec), ctx.field_manager());
                !r)
                co_return reconcile_result::from_error(r.error());
        in.error = reconcile_error{error_kind::invalid_spec, one.error().message};
        co_return co_await refuse(ctx, *rs, *db, std::move(in), "InvalidSpec");
    }
    if (auto change = validate_change(*spec, in.observed); !change) {
        in.error = reconcile_error{error_kind::change_refused, change.error().message};
        co_return co_await refuse(ctx, *rs, *db, std::move(in), "ChangeRefused");
    }
    if (spec->paused) {
        if (auto w = co_await write_status(ctx, *rs, *db, std::move(in)); !w)
            co_return reconcile_result::from_error(w.error());
        co_return reconcile_result::done();
    }

    auto creds = co_await read_credentials(ctx, *rs, *db, in.observed);
    if (!creds) {
        const bool missing = creds.error().code == api::errc::not_found;
        in.error = reconcile_error{missing ? error_kind::credentials_missing : error_kind::apply_failed,
                                   creds.error().message};
        if (!missing) {
            (void)co_await write_status(ctx, *rs, *db, std::move(in));
            co_return reconcile_result::from_error(creds.error());
        }
        // Nothing is applied (the pods keep running as they are); looked at again every minute,
        // since a Secret recreated by hand may lack the labels the operator watches.
        in.credentials = credentials_state{"False", "SuperuserSecretMissing", creds.error().message};
        const bool said = already_said(*db, "CredentialsMissing", creds.error().message);
        auto written = co_await write_status(ctx, *rs, *db, std::move(in));
        if (written && *written && !said)
            ctx.record(runtime::event_type::warning, "CredentialsMissing", creds.error().message);
        co_return reconcile_result::requeue_after(std::chrono::minutes(1));
    }
    if (creds->app_regenerated)
        ctx.record(runtime::event_type::warning,
                   "CredentialsRestored",
                   "Secret " + secret_name(db->meta) +
                       " was gone: a new application password is stored in it and set in the server");
    // Claims grow only where their StorageClass allows it; otherwise they are held at their size.
    auto refusal = refuse_expansion(*spec, in.observed, storage_classes(ctx, *rs));
    rs->waiters->update(db->meta, refusal);
    const database_spec served = refusal ? hold_storage(*spec, in.observed) : *spec;
    auto children = render_children(db->meta, served, creds->pw, in.observed, rs->versions());
    record_changes(ctx, served, in.observed);
    auto applied = co_await apply_children(ctx, *rs, secret_name(db->meta), children);
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
    std::vector<std::string> finished_jobs;
    if (!failure.code) {
        auto pw = co_await converge_password(
            ctx, *rs, *db, served, in, creds->app_regenerated, applied.app_secret_version);
        if (!pw)
            failure = pw.error();
        else
            finished_jobs = std::move(*pw);
    }
    if (!failure.code)
        if (auto b = co_await backup_on_request(ctx, *rs, *db, served, in); !b)
            failure = b.error();
    co_await record_backups(ctx, *rs, *db, in);
    in.clock = std::chrono::system_clock::now();
    std::optional<std::chrono::system_clock::time_point> recheck = backup_recheck(in);
    observed_state rollout;
    rollout.statefulset = in.observed.statefulset;
    rollout.pod = in.observed.pod;
    if (auto w = co_await write_status(ctx, *rs, *db, std::move(in)); !w && !failure.code)
        failure = w.error();
    if (failure.code)
        co_return reconcile_result::from_error(failure);
    if (co_await replace_stuck_pod(ctx, *rs, *db, rollout))
        co_return reconcile_result::done();
    if (rollout.pod && !rollout.pod->ready && rollout.pod->scheduled) {
        if (rollout.pod->stuck() && !progressing_says(*db, "RolloutStuck"))
            ctx.record(runtime::event_type::warning,
                       "RolloutStuck",
                       "pod " + rollout.pod->name + " is waiting: " + rollout.pod->waiting_reason + ": " +
                           rollout.pod->waiting_message);
        // Pods are not watched: while the server's pod is on a node but not ready (its container
        // being created, pulled, in back-off or recovering), look at it again. An unscheduled pod
        // is left to the StatefulSet's status, which changes once it runs.
        co_return reconcile_result::requeue_after(std::chrono::seconds(15));
    }
    // Once the status records what they did, the finished credentials jobs can go.
    for (const std::string& job : finished_jobs) {
        api::delete_options background{.propagation_policy = api::propagation::background};
        (void)co_await ctx.client().remove(rs->jobs, db->meta.namespace_, job, background);
    }
    // Not retried in a loop: again when something changes, and at the resync (a StorageClass may
    // allow expansion by then).
    if (!applied.not_expanded.empty())
        ctx.log().warn("volume expansion refused", {{"claims", applied.not_expanded}});
    if (recheck) // a backup Job that may not start, or a schedule that may be missed
        co_return reconcile_result::requeue_after(*recheck - std::chrono::system_clock::now() +
                                                  std::chrono::seconds(1));
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
        // By label: the superuser Secret has no owner reference (it outlives a Retain deletion).
        .watches(rs->secrets, by_instance, runtime::keep_paths({{"type"}, {"data"}}), ours)
        .owns(rs->configmaps, runtime::keep_paths({{"data"}}), ours)
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
