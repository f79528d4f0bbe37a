// The Database controller: a Database becomes two Secrets, an init ConfigMap, Services, a
// StatefulSet, a PDB and a backup CronJob, with honest status, and a finalizer that keeps the data
// unless told otherwise. The runtime (runtime/managed.hpp) owns the protocol around it.
#include "database/controller.hpp"

#include "database/backups.hpp"
#include "database/credentials.hpp"
#include "database/members.hpp"
#include "database/metrics.hpp"
#include "database/observe.hpp"
#include "database/upkeep.hpp"
#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/manager/registry.hpp>

namespace kubecoro::controllers::database {
namespace {

using runtime::outcome;

// The status of `in` as an outcome: its conditions (some said as events when they change) and
// fields, and what the queue does next.
outcome
status_outcome(const runtime::managed_context& ctx, status_input in, outcome::kind k, core::error e = {}) {
    const runtime::object& db = ctx.primary();
    if (const json::value* status = db.body.at("status")) {
        auto text = [&](auto... path) {
            const json::value* v = status->at(path...);
            return v ? v->string_or("") : std::string();
        };
        in.phase = text("phase");
        if (in.credentials_version.empty()) // kept: a field left out of the apply would be removed
            in.credentials_version = text("credentials", "secretVersion");
        if (in.backup_request.empty())
            in.backup_request = text("backup", "lastRequest");
        if (in.backup.last_failure_time.empty() && in.backup.last_dump_job.empty())
            in.backup = recorded_backup(db);
        if (!in.primary_available) // not asked this time: what is recorded stays
            in.replication = read_replication(db.body);
    }
    in.meta = db.meta;
    in.clock = ctx.now();
    in.now = runtime::now_rfc3339(in.clock);
    database_status s = compute_status(in);
    outcome o;
    o.result = k;
    o.error = std::move(e);
    for (runtime::condition& c : s.conditions) {
        c.last_transition_time.clear(); // the runtime moves it, on a change of status only
        bool announce = (c.type == condition_type::reconcile_succeeded && c.status == "False") ||
                        (c.type == condition_type::progressing && c.reason == "RolloutStuck") ||
                        (c.type == condition_type::credentials_ready && c.reason == "PasswordApplyFailed");
        o.with(std::move(c), announce);
    }
    json::value body = render_status(db.meta, s);
    for (const auto& [key, v] : *body.at("status")->if_object())
        if (key != "conditions" && key != "observedGeneration")
            o.status.set(key, v);
    return o;
}

outcome
refused(const runtime::managed_context& ctx, status_input in, error_kind kind, const std::string& message) {
    in.error = reconcile_error{kind, message};
    return status_outcome(
        ctx, std::move(in), outcome::kind::refused, {core::errc::invalid_argument, message});
}

// The first line of an API error: Kubernetes appends a multi-line diff to some Invalid answers.
std::string first_line(const std::string& message) {
    return message.substr(0, message.find('\n'));
}

// A hand edit can leave a child our apply cannot merge with: a Service port renumbered by hand
// keeps its name, and the applied port would duplicate it (422 Invalid). A merge patch of the
// rendered spec replaces lists instead of merging them, and so repairs such drift.
awaitable<core::result<json::value>> replace_spec(runtime::managed_context& ctx,
                                                  const api::resource& r,
                                                  const std::string& name,
                                                  const json::value& spec) {
    json::object body;
    body.set("spec", spec);
    api::patch_options as_controller;
    as_controller.field_manager = ctx.field_manager();
    co_return co_await ctx.client().patch(
        r, ctx.namespace_(), name, api::patch_type::merge, json::write(body), as_controller);
}

// What applying the children came to: an error that stopped it, or volume claims that the API
// server would not grow (the other children are applied all the same).
struct apply_outcome {
    core::error failure;
    std::string app_secret_version; // the application Secret's resourceVersion after the apply
    std::string not_expanded;       // "<claim> to <size>: <the server's answer>; ..."
};

awaitable<apply_outcome>
apply_children(runtime::managed_context& ctx, const resources& rs, const std::vector<json::value>& children) {
    apply_outcome out;
    for (const auto& child : children) {
        const json::value* kind = child.at("kind");
        const api::resource* r = kind ? rs.by_kind(kind->string_or("")) : nullptr;
        const json::value* name_field = child.at("metadata", "name");
        if (!r || !name_field) {
            out.failure = core::error{core::errc::invalid_argument, "no resource for a rendered child"};
            co_return out;
        }
        const std::string name = name_field->string_or("");
        // The superuser Secret has no owner: it outlives a Database deleted with Retain.
        runtime::child_options o{.owned = child.at("metadata", "ownerReferences") != nullptr};
        auto applied = co_await ctx.apply(*r, child, o);
        if (!applied && r != &rs.pvcs && applied.error().code == api::errc::invalid && ctx.cached(*r, name))
            if (const json::value* spec = child.at("spec"))
                applied = co_await replace_spec(ctx, *r, name, *spec);
        if (applied) {
            if (r == &rs.secrets && name == secret_name(ctx.meta()))
                if (const json::value* rv = applied->at("metadata", "resourceVersion"))
                    out.app_secret_version = rv->string_or("");
            continue;
        }
        const auto& code = applied.error().code;
        // An existing claim can only change its request: the server refused to expand it.
        if (r == &rs.pvcs && ctx.cached(*r, name) &&
            (code == api::errc::invalid || code == api::errc::forbidden)) {
            const json::value* size = child.at("spec", "resources", "requests", "storage");
            out.not_expanded += (out.not_expanded.empty() ? "" : "; ") + name + " to " +
                                (size ? size->string_or("") : "") + ": " +
                                first_line(applied.error().message);
            continue;
        }
        out.failure = applied.error();
        co_return out;
    }
    co_return out;
}

// Events for what this reconcile is about to change, judged against what exists.
void record_changes(runtime::managed_context& ctx, const database_spec& spec, const observed_state& seen) {
    if (!seen.statefulset) {
        // Once: a reconcile that runs before the cache has the StatefulSet the first one created
        // finds the status that first one wrote.
        if (ctx.primary().body.at("status", "observedGeneration"))
            return;
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

// The next step for the primary of a replicated PostgreSQL Database, from the status and from what
// the members answer (replication.hpp).
// Where each member runs (its node cordoned?) and whether it is on the StatefulSet's update
// revision, for plan_upkeep.
void place_members(std::vector<member>& members,
                   const runtime::managed_context& ctx,
                   const resources& rs,
                   const observed_state& seen) {
    const runtime::store* nodes = ctx.cache(rs.nodes);
    const std::string update = seen.statefulset ? seen.statefulset->update_revision : std::string();
    for (member& m : members)
        for (const observed_pod& pod : seen.instances) {
            if (pod.name != m.name)
                continue;
            m.node = pod.node;
            if (nodes && !pod.node.empty())
                if (runtime::object_ptr node = nodes->get("", pod.node))
                    if (json::value scratch;
                        const json::value* cordoned = node->view(scratch).at("spec", "unschedulable"))
                        m.node_unschedulable = cordoned->bool_or(false);
            m.updated = update.empty() || pod.revision.empty() || pod.revision == update;
        }
}

replication_plan plan_primary(runtime::managed_context& ctx,
                              const database_spec& spec,
                              const observed_state& seen,
                              const replication_record& recorded,
                              std::vector<member> members,
                              std::vector<std::string> expected,
                              const upkeep_plan& upkeep,
                              bool settings_applied) {
    replication_input in;
    in.primary = seen.primary;
    in.record = recorded;
    in.members = std::move(members);
    in.synchronous = spec.synchronous;
    in.settings_applied = settings_applied;
    in.expected = std::move(expected);
    if (auto it = ctx.meta().annotations.find(std::string(switchover_annotation));
        it != ctx.meta().annotations.end())
        in.requested = it->second.str();
    in.now = ctx.now();
    in.failover_delay = std::chrono::seconds(spec.failover_delay_seconds);
    // Planned work (scaling down, a drain, a rolling update) moves the primary by a switchover.
    if (in.requested.empty() && !upkeep.switchover_to.empty()) {
        in.requested = upkeep.switchover_to;
        if (!recorded.in_progress)
            ctx.log().info("switching over", {{"to", upkeep.switchover_to}, {"why", upkeep.why}});
    }
    replication_plan p = plan_replication(in);
    if (p.act == replication_plan::action::none && p.status == "True" && !upkeep.blocked.empty())
        p.message += "; " + upkeep.blocked;
    return p;
}

// Deletes the pod `name` if it is still the one with `uid` (in the background, with its own grace
// period unless `grace_seconds`); one already gone or replaced is no error.
awaitable<core::result<void>> delete_pod(runtime::managed_context& ctx,
                                         const resources& rs,
                                         const std::string& name,
                                         const std::string& uid,
                                         std::optional<int> grace_seconds = std::nullopt) {
    api::delete_options options{.propagation_policy = api::propagation::background, .precondition_uid = uid};
    if (grace_seconds)
        options.grace_period_seconds = *grace_seconds;
    auto removed = co_await ctx.client().remove(rs.pods, ctx.namespace_(), name, options);
    if (!removed && removed.error().code != api::errc::not_found &&
        removed.error().code != api::errc::conflict)
        co_return core::fail(removed.error());
    co_return core::result<void>{};
}

const observed_pod* find_pod(const observed_state& seen, const std::string& name) {
    for (const observed_pod& pod : seen.instances)
        if (pod.name == name)
            return &pod;
    return nullptr;
}

// Acts on the plan, once its record is `recorded`, the one in the status (intent is written
// before acting).
awaitable<core::result<void>> act_on(runtime::managed_context& ctx,
                                     const resources& rs,
                                     const database_spec& spec,
                                     const replication_plan& plan,
                                     const replication_record& recorded,
                                     const observed_state& seen,
                                     const std::string& password) {
    using action = replication_plan::action;
    if (!plan.event.empty())
        ctx.record(plan.warning ? runtime::event_type::warning : runtime::event_type::normal,
                   plan.event_reason,
                   plan.event);
    if (plan.act == action::none || (plan.record != recorded && plan.act != action::finish))
        co_return core::result<void>{};
    ctx.log().info("replication", {{"step", plan.reason}, {"pod", plan.pod}, {"message", plan.message}});
    switch (plan.act) {
    case action::fence: {
        const observed_pod* from = find_pod(seen, plan.pod);
        const observed_pod* to =
            plan.record.in_progress ? find_pod(seen, plan.record.in_progress->to) : nullptr;
        if (plan.gentle && from && to) // a switchover: nothing acknowledged may stay behind
            if (auto handed = co_await hand_over(spec.engine, *from, *to, password); !handed)
                co_return core::fail(core::errc::io, "switchover: " + handed.error().message);
        // A failover: 2 s for a clean shutdown, then SIGKILL (a stopped process too).
        const std::optional<int> grace = plan.gentle ? std::nullopt : std::optional<int>(2);
        if (auto removed = co_await delete_pod(ctx, rs, plan.pod, plan.uid, grace); !removed)
            co_return removed;
        break;
    }
    case action::promote:
        if (const observed_pod* pod = find_pod(seen, plan.pod))
            if (auto promoted = co_await promote(spec.engine, *pod, password, spec.synchronous); !promoted)
                ctx.log().warn("promotion failed", {{"pod", pod->name}, {"error", promoted.error()}});
        break;
    case action::forget_request: { // (not at finish: the status write after it would conflict)
        auto it = ctx.meta().annotations.find(std::string(switchover_annotation));
        if (it == ctx.meta().annotations.end())
            break;
        const std::string body =
            R"({"metadata":{"annotations":{")" + std::string(switchover_annotation) + R"(":null}}})";
        api::patch_options as_operator;
        as_operator.field_manager = ctx.field_manager();
        auto patched = co_await ctx.client().patch(
            rs.databases, ctx.namespace_(), ctx.name(), api::patch_type::merge, body, as_operator);
        if (!patched)
            co_return core::fail(patched.error());
        break;
    }
    case action::finish:
    case action::none:
        break;
    }
    co_return core::result<void>{};
}

awaitable<outcome> reconcile(const resources& rs, runtime::managed_context& ctx, const database_spec& spec) {
    status_input in;
    in.spec = spec;
    in.observed = observe(ctx, rs);
    in.observed.pod = co_await read_pod(ctx, rs, in.observed);
    if (auto one = validate_topology(spec); !one) {
        // A StatefulSet with more pods (an earlier version) keeps serving through ordinal 0 only.
        if (in.observed.statefulset) {
            json::value service = render_service(ctx.meta(), spec, in.observed.primary);
            if (auto r = co_await ctx.apply(rs.services, std::move(service)); !r)
                co_return outcome::failed(r.error());
        }
        co_return refused(ctx, std::move(in), error_kind::invalid_spec, one.error().message);
    }
    if (auto change = validate_change(spec, in.observed); !change)
        co_return refused(ctx, std::move(in), error_kind::change_refused, change.error().message);
    if (spec.paused)
        co_return status_outcome(ctx, std::move(in), outcome::kind::ready);

    auto creds = co_await read_credentials(ctx, rs, in.observed);
    if (!creds && creds.error().code == api::errc::not_found) {
        // Nothing is applied (the pods keep running as they are); looked at again every minute,
        // since a Secret recreated by hand may lack the labels the operator watches.
        in.error = reconcile_error{error_kind::credentials_missing, creds.error().message};
        in.credentials = credentials_state{"False", "SuperuserSecretMissing", creds.error().message};
        co_return status_outcome(ctx, std::move(in), outcome::kind::progressing)
            .again_after(std::chrono::minutes(1));
    }
    if (!creds) {
        in.error = reconcile_error{error_kind::apply_failed, creds.error().message};
        co_return status_outcome(ctx, std::move(in), outcome::kind::failed, creds.error());
    }
    if (creds->app_regenerated)
        ctx.record(runtime::event_type::warning,
                   "CredentialsRestored",
                   "Secret " + secret_name(ctx.meta()) +
                       " was gone: a new application password is stored in it and set in the server");
    // Claims grow only where their StorageClass allows it; otherwise they are held at their size.
    auto refusal = refuse_expansion(spec, in.observed, storage_classes(ctx, rs));
    rs.waiters->update(ctx.meta(), refusal);
    const database_spec served = refusal ? hold_storage(spec, in.observed) : spec;
    record_changes(ctx, served, in.observed);
    // A change of primary in progress holds whatever else happens (even with no plan this time).
    const replication_record in_status = read_replication(ctx.primary().body);
    auto instances = co_await list_instances(ctx, rs, served, in.observed, in_status);
    if (!instances) {
        in.error = reconcile_error{error_kind::apply_failed, instances.error().message};
        co_return status_outcome(ctx, std::move(in), outcome::kind::failed, instances.error());
    }
    in.observed.instances = std::move(*instances);
    if (const json::value* was = ctx.primary().body.at("status", "phase"))
        in.observed.initialized = !in.observed.instances.empty() &&
                                  (was->string_or("") == "Ready" || was->string_or("") == "Updating" ||
                                   was->string_or("") == "Degraded");
    std::optional<replication_plan> plan;
    upkeep_plan upkeep;
    reseed_plan reseed{.reseeding = in_status.reseeding};
    if (!in.observed.instances.empty()) {
        in.members = co_await ask_members(served.engine, in.observed.instances, creds->pw.superuser);
        place_members(in.members, ctx, rs, in.observed);
        upkeep_input work{in.observed.primary, in.members, {}};
        for (int i = 0; i < served.replicas; ++i)
            work.expected.push_back(instance_name(ctx.meta(), i));
        upkeep = plan_upkeep(work);
        // Every member has the synchronous_standby_names the spec asks for (a reload, no restart).
        const synchronous_setting sync = co_await configure_synchronous(
            served.engine, in.observed.instances, in.members, served.synchronous, creds->pw.superuser);
        for (const std::string& pod : sync.changed)
            ctx.log().info("synchronous_standby_names set", {{"pod", pod}, {"value", sync.value}});
        plan = plan_primary(
            ctx, served, in.observed, in_status, in.members, work.expected, upkeep, sync.applied);
        in.replication = plan->record;
        in.primary_available = runtime::condition{.type = std::string(condition_type::primary_available),
                                                  .status = plan->status,
                                                  .reason = plan->reason,
                                                  .message = plan->message};
        if (plan->act == replication_plan::action::finish)
            in.observed.primary = plan->pod;
        // MariaDB: a replica that cannot replicate is copied again; a new replica, or a former
        // primary back read-only, follows the Service <name>.
        if (served.engine == engine::mariadb) {
            reseed = plan_reseed(in.members,
                                 in_status.reseeding,
                                 in.observed.primary,
                                 plan->record.in_progress.has_value(),
                                 runtime::now_rfc3339(ctx.now()));
            plan->record.reseeding = reseed.reseeding;
            in.replication = plan->record;
        }
        const std::string promoting = plan->record.in_progress ? plan->record.in_progress->to : "";
        for (const std::string& pod : co_await follow_primary(served.engine,
                                                              in.observed.instances,
                                                              in.members,
                                                              service_host(ctx.meta()),
                                                              promoting,
                                                              creds->pw.superuser))
            ctx.log().info("replica follows the primary", {{"pod", pod}});
    }
    in.observed.reseed = reseed_lines(reseed.reseeding);
    const std::optional<primary_switch>& switching = plan ? plan->record.in_progress : in_status.in_progress;
    if (switching) {
        // Nobody is routed to; only the member chosen (once it is) starts without standby.signal.
        in.observed.routed_primary = std::string(no_primary);
        in.observed.starting_primary = switching->to.empty() ? std::string(no_primary) : switching->to;
        in.observed.switching = true;
    }
    // The StatefulSet keeps the primary's pod until it is switched away (plan_primary), and the
    // pods of a switch in progress.
    database_spec shaped = served;
    // In synchronous mode a switch also keeps the recorded standbys: one of them may hold the last
    // acknowledged commit.
    std::vector<std::string> kept{in.observed.primary,
                                  switching ? switching->from : std::string(),
                                  switching ? switching->to : std::string()};
    if (switching)
        for (const std::string& standby : (plan ? plan->record : in_status).standbys)
            kept.push_back(standby);
    for (const std::string& pod : kept)
        shaped.replicas = std::max(shaped.replicas, instance_ordinal(ctx.meta(), pod) + 1);
    const auto children = render_children(ctx.meta(), shaped, creds->pw, in.observed, rs.versions());
    auto applied = co_await apply_children(ctx, rs, children);
    core::error failure = applied.failure;
    if (!failure.code)
        if (auto labelled = co_await label_roles(ctx, rs, in.observed); !labelled)
            failure = labelled.error();
    if (!failure.code && plan)
        if (auto acted = co_await act_on(ctx, rs, served, *plan, in_status, in.observed, creds->pw.superuser);
            !acted)
            failure = acted.error();
    // A member to copy again: its pod deleted once the request is recorded (its init container
    // then moves its data aside).
    if (!reseed.event.empty())
        ctx.record(runtime::event_type::warning, "Reseeding", reseed.event);
    if (!failure.code && !reseed.pod.empty()) {
        ctx.log().info("copying a replica from the primary again", {{"pod", reseed.pod}});
        if (auto removed = co_await delete_pod(ctx, rs, reseed.pod, reseed.uid); !removed)
            failure = removed.error();
    }
    // A rolling update restarts one replica at a time, while nothing else happens to the primary.
    if (!failure.code && plan && plan->act == replication_plan::action::none && !switching &&
        plan->record == in_status && !upkeep.restart.empty()) {
        ctx.record(runtime::event_type::normal, "RollingUpdate", upkeep.why);
        if (auto removed = co_await delete_pod(ctx, rs, upkeep.restart, upkeep.restart_uid); !removed)
            failure = removed.error();
    }
    if (failure.code)
        in.error = reconcile_error{error_kind::apply_failed, failure.message};
    else if (refusal)
        in.error = reconcile_error{error_kind::volume_expansion_not_supported, refusal->message};
    else if (!applied.not_expanded.empty())
        in.error = reconcile_error{error_kind::volume_expansion_failed, applied.not_expanded};
    std::vector<std::string> finished_jobs;
    if (!failure.code) {
        auto pw = co_await converge_password(
            ctx, rs, served, in, creds->app_regenerated, applied.app_secret_version);
        if (pw)
            finished_jobs = std::move(*pw);
        else
            failure = pw.error();
    }
    if (!failure.code)
        if (auto b = co_await backup_on_request(ctx, rs, served, in); !b)
            failure = b.error();
    co_await record_backups(ctx, rs, in);
    if (failure.code) {
        in.error = reconcile_error{error_kind::apply_failed, failure.message};
        co_return status_outcome(ctx, std::move(in), outcome::kind::failed, failure);
    }
    in.clock = ctx.now();
    auto recheck = backup_recheck(in);
    const observed_state seen = in.observed;
    const json::value* recorded = ctx.primary().body.at("status", "credentials", "secretVersion");
    const bool jobs_recorded = recorded && recorded->string_or("") == in.credentials_version;
    outcome o = status_outcome(ctx, std::move(in), outcome::kind::ready);
    if (co_await replace_stuck_pod(ctx, rs, seen))
        co_return o;
    // The finished credentials Jobs can go once the status records what they did: now, or after
    // this reconcile's status write.
    if (!finished_jobs.empty() && !jobs_recorded)
        co_return o.again_after(std::chrono::seconds(1));
    for (const std::string& job : finished_jobs) {
        api::delete_options background{.propagation_policy = api::propagation::background};
        (void)co_await ctx.client().remove(rs.jobs, ctx.namespace_(), job, background);
    }
    // Pods are not watched: while the server's pod is on a node but not ready (its container being
    // created, pulled, in back-off or recovering), look at it again. An unscheduled pod is left to
    // the StatefulSet's status, which changes once it runs.
    if (seen.pod && !seen.pod->ready && seen.pod->scheduled)
        co_return o.again_after(
            plan ? std::min<std::chrono::milliseconds>(plan->again, std::chrono::seconds(15))
                 : std::chrono::seconds(15));
    if (!applied.not_expanded.empty())
        ctx.log().warn("volume expansion refused", {{"claims", applied.not_expanded}});
    if (recheck) // a backup Job that may not start, or a schedule that may be missed
        o.again_after(*recheck - ctx.now() + std::chrono::seconds(1));
    if (plan && (!recheck || *recheck - ctx.now() > plan->again)) // the members are watched over SQL
        o.again_after(plan->again);
    co_return o;
}

// Deletion: Delete removes the data; Retain keeps volumes and credentials, detached from the
// Database so garbage collection leaves them alone, and says what it kept.
awaitable<outcome> clean_up(const resources& rs, runtime::managed_context& ctx, const database_spec* spec) {
    status_input in;
    in.observed = observe(ctx, rs);
    if (spec)
        in.spec = *spec;
    if (deletion_protected(ctx.primary().body)) {
        // Deleted while the webhook that refuses this was down (or bypassed): nothing is removed and
        // the finalizer holds the object until the policy is changed (that change wakes us).
        ctx.log().warn("deletion refused by deletionPolicy DoNotTerminate");
        co_return refused(
            ctx,
            std::move(in),
            error_kind::deletion_protected,
            "spec.deletionPolicy is DoNotTerminate: the deletion waits, and nothing is removed, "
            "until it is changed to Retain or Delete");
    }
    // Phase Deleting while the cleanup runs (and while it fails and is retried). A stale cache is
    // retried; any other refusal of the status write does not hold up the deletion.
    const outcome deleting = status_outcome(ctx, std::move(in), outcome::kind::progressing); // named: g++ 12
    if (auto w = co_await ctx.write_status(deleting); !w) {
        if (w.error().code == api::errc::conflict)
            co_return outcome::failed(w.error());
        ctx.log().warn("status not written before cleanup", {{"error", w.error()}});
    }
    const bool delete_data = spec && spec->deletion == deletion_policy::delete_volumes;
    const auto& ns = ctx.namespace_();
    std::vector<std::pair<const api::resource*, std::string>> keep_or_delete{
        {&rs.secrets, secret_name(ctx.meta())},
        {&rs.secrets, superuser_secret_name(ctx.meta())},
        {&rs.pvcs, backup_name(ctx.meta())},
    };
    if (const runtime::store* pvcs = ctx.cache(rs.pvcs))
        for (const auto& pvc : pvcs->labelled(ns, runtime::instance_label, ctx.name()))
            if (pvc->meta.name != backup_name(ctx.meta()))
                keep_or_delete.emplace_back(&rs.pvcs, pvc->meta.name);
    std::string kept;
    for (const auto& [r, name] : keep_or_delete) {
        if (delete_data) {
            api::delete_options background{.propagation_policy = api::propagation::background};
            auto removed = co_await ctx.client().remove(*r, ns, name, background);
            if (!removed && removed.error().code != api::errc::not_found)
                co_return outcome::failed(removed.error());
            continue;
        }
        auto current = ctx.cached(*r, name);
        if (!current) {
            if (r != &rs.secrets) // a Secret may exist unlabelled, so not cached: asked for
                continue;
            auto fetched = co_await ctx.client().get(*r, ns, name);
            if (!fetched && fetched.error().code == api::errc::not_found)
                continue;
        }
        const api::owner_reference* owner = current ? current->meta.controller_ref() : nullptr;
        if (!current || (owner && owner->uid == ctx.meta().uid)) {
            const api::patch_options no_options; // named: g++ 12 and temporaries in co_await
            auto detached = co_await ctx.client().patch(
                *r, ns, name, api::patch_type::merge, R"({"metadata":{"ownerReferences":null}})", no_options);
            if (!detached && detached.error().code != api::errc::not_found)
                co_return outcome::failed(detached.error());
        }
        kept += (kept.empty() ? "" : ", ") + r->kind + " " + name;
    }
    ctx.record(runtime::event_type::normal,
               delete_data ? "DeletedData" : "Retained",
               delete_data ? "deletionPolicy Delete: removed volumes and credentials"
                           : "deletionPolicy Retain: kept " + (kept.empty() ? std::string("nothing") : kept));
    co_return outcome::ready("Deleted", "cleaned up");
}

core::result<database_spec> decode(const runtime::object& db) {
    return decode_spec(db.body, db.meta.name);
}

// The first of `versions` the server serves, else the last one (for a clear error later).
awaitable<api::resource> discover(client::client& c, api::resource r, std::vector<std::string> versions) {
    auto found = co_await c.discover(r.group, versions, r.plural);
    r.version = found ? found->version : versions.front();
    co_return r;
}

awaitable<core::result<std::shared_ptr<runtime::controller>>> make(manager::controller_env env) {
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
        if (auto it = o.meta.labels.find(std::string(runtime::instance_label)); it != o.meta.labels.end())
            out.push_back({o.meta.namespace_, it->second.str()});
        return out;
    };
    const runtime::watch_filter ours = runtime::managed_children();
    // Each projection keeps every top-level field render.cpp sets on that kind (the Secret's
    // `type` too): drift detection compares against the cache, and a field missing there would
    // send a (no-op) apply on every reconcile.
    auto children = runtime::keep_paths({{"spec"}, {"data"}, {"status"}});
    auto b = env.builder("database");
    const std::string instance(runtime::instance_label);
    b.index_label(rs->pvcs, instance).index_label(rs->jobs, instance);
    // By label: the superuser Secret has no owner reference (it outlives a Retain deletion).
    b.watches(rs->secrets, by_instance, runtime::keep_paths({{"type"}, {"data"}}), ours)
        .watches(rs->pvcs, by_instance, runtime::keep_paths({{"spec"}, {"status"}}), ours)
        .watches(rs->jobs, by_instance, runtime::keep_paths({{"status"}}), ours)
        // Read when a claim must grow; a change reconciles the Databases it held back.
        .watches(
            rs->storageclasses,
            [waiters = rs->waiters](const runtime::object& o) {
                return waiters->waiting_for(observe_storage_class(whole(o)));
            },
            runtime::keep_paths({{"allowVolumeExpansion"}}))
        // Read for a drain: a cordoned node of a primary makes it switch over (polled with the
        // members, so a change reconciles nothing by itself).
        .watches(
            rs->nodes,
            [](const runtime::object&) { return std::vector<runtime::reconcile_request>{}; },
            runtime::keep_paths({{"spec", "unschedulable"}}));
    auto built = runtime::managed<database_spec>(rs->databases)
                     .decode(decode)
                     .on_invalid([rs](runtime::managed_context& ctx, const core::error& e) {
                         status_input in;
                         in.observed = observe(ctx, *rs);
                         return refused(ctx, std::move(in), error_kind::invalid_spec, e.message);
                     })
                     .owns(rs->configmaps, runtime::keep_paths({{"data"}}))
                     .owns(rs->services, runtime::keep_paths({{"spec"}}))
                     .owns(rs->statefulsets, children)
                     .owns(rs->cronjobs, children)
                     .owns(rs->pdbs, runtime::keep_paths({{"spec"}}))
                     .reconcile([rs](runtime::managed_context& ctx, const database_spec& spec) {
                         return reconcile(*rs, ctx, spec);
                     })
                     .finalizer(std::string(finalizer),
                                [rs](runtime::managed_context& ctx, const database_spec* spec) {
                                    return clean_up(*rs, ctx, spec);
                                })
                     .build(std::move(b));
    if (built) {
        std::weak_ptr<runtime::controller> weak = *built;
        export_database_metrics(env.metrics, [weak, rs] {
            std::vector<cached_database> out;
            auto c = weak.lock();
            const runtime::store* databases = c ? c->cache(rs->databases) : nullptr;
            const runtime::store* cronjobs = c ? c->cache(rs->cronjobs) : nullptr;
            if (databases)
                for (runtime::object_ptr& db : databases->list())
                    out.push_back(
                        {db, cronjobs ? cronjobs->get(db->meta.namespace_, backup_name(db->meta)) : nullptr});
            return out;
        });
    }
    co_return built;
}

const bool registered = manager::register_controller("database", make);

} // namespace
} // namespace kubecoro::controllers::database
