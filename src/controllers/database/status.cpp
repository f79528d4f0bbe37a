#include "database/status.hpp"

#include "common/fields.hpp"
#include "common/meta.hpp"
#include "database/render.hpp"
#include <kubecoro/api/cron.hpp>
#include <kubecoro/json/json.hpp>

#include <algorithm>
#include <cstdint>

namespace kubecoro::controllers::database {

using runtime::condition;

std::string_view to_string(phase p) {
    switch (p) {
    case phase::pending:
        return "Pending";
    case phase::provisioning:
        return "Provisioning";
    case phase::ready:
        return "Ready";
    case phase::updating:
        return "Updating";
    case phase::degraded:
        return "Degraded";
    case phase::failed:
        return "Failed";
    case phase::paused:
        return "Paused";
    case phase::deleting:
        return "Deleting";
    }
    return "Pending";
}

namespace {

// What the StatefulSet and the claims say about work in flight.
struct rollout {
    int desired = 0;
    int ready = 0;
    bool exists = false;
    bool rolling = false;  // a pod template change not yet rolled out
    bool scaling = false;  // pods exist in another number than desired
    bool resizing = false; // a data volume smaller than spec.storage
    std::string scaling_message;
};

bool expansion_failed(const status_input& in) {
    return in.error && (in.error->kind == error_kind::volume_expansion_failed ||
                        in.error->kind == error_kind::volume_expansion_not_supported);
}

rollout observe_rollout(const status_input& in) {
    rollout r;
    const auto& sts = in.observed.statefulset;
    r.desired = in.spec ? in.spec->replicas : (sts ? sts->spec_replicas : 0);
    if (!sts)
        return r;
    r.exists = true;
    r.ready = sts->ready_replicas;
    // (With OnDelete, a replicated PostgreSQL's, currentRevision never catches up: every pod
    // updated is the end of the rollout.)
    r.rolling = sts->observed_generation < sts->generation ||
                (!sts->update_revision.empty() && sts->current_revision != sts->update_revision &&
                 (!sts->on_delete || sts->updated_replicas < sts->replicas));
    r.scaling = sts->replicas != r.desired || sts->spec_replicas != r.desired;
    r.scaling_message =
        "scaling from " + std::to_string(sts->replicas) + " to " + std::to_string(r.desired) + " replicas";
    // A refused expansion is not in progress: Progressing and ReconcileSucceeded say why.
    if (in.spec && !expansion_failed(in)) {
        for (const observed_pvc& pvc : in.observed.data_pvcs) {
            std::optional<int> requested = compare_quantities(pvc.requested, in.spec->storage);
            std::optional<int> capacity = compare_quantities(pvc.capacity, in.spec->storage);
            if (pvc.resize_pending || (requested && *requested < 0) || (capacity && *capacity < 0))
                r.resizing = true;
        }
    }
    return r;
}

bool never_ready(std::string_view previous_phase) {
    return previous_phase.empty() || previous_phase == "Pending" || previous_phase == "Provisioning";
}

phase compute_phase(const status_input& in, const rollout& r) {
    if (in.meta.deletion_timestamp)
        return phase::deleting;
    if (in.error &&
        (in.error->kind == error_kind::invalid_spec || in.error->kind == error_kind::change_refused))
        return phase::failed;
    if (in.spec && in.spec->paused)
        return phase::paused;
    if (!r.exists)
        return phase::pending;
    bool busy = r.rolling || r.scaling || r.resizing;
    if (r.ready >= r.desired && !busy)
        return phase::ready;
    if (r.ready < r.desired && never_ready(in.phase))
        return phase::provisioning;
    return busy ? phase::updating : phase::degraded;
}

condition make(std::string_view type, std::string status, std::string_view reason, std::string message) {
    return condition{
        .type = std::string(type),
        .status = std::move(status),
        .reason = std::string(reason),
        .message = std::move(message),
    };
}

condition ready_condition(const status_input& in, const rollout& r, const std::string& ready) {
    const bool protected_ = in.error && in.error->kind == error_kind::deletion_protected;
    if (in.meta.deletion_timestamp && !protected_) // a protected Database keeps serving
        return make(condition_type::ready, "False", "Deleting", "the Database is being deleted");
    if (!r.exists)
        return make(condition_type::ready, "False", "NotCreated", "the StatefulSet does not exist yet");
    if (r.desired > 0 && r.ready >= r.desired)
        return make(condition_type::ready, "True", "AllReplicasReady", ready + " replicas ready");
    if (r.ready == 0)
        return make(condition_type::ready, "False", "NoReplicasReady", ready + " replicas ready");
    return make(condition_type::ready, "False", "ReplicasNotReady", ready + " replicas ready");
}

condition progressing_condition(const status_input& in, const rollout& r, phase p) {
    auto c = [](std::string status, std::string_view reason, std::string message) {
        return make(condition_type::progressing, std::move(status), reason, std::move(message));
    };
    if (in.error && in.error->kind == error_kind::deletion_protected)
        return c("False", "DeletionProtected", clip_message(in.error->message));
    if (in.meta.deletion_timestamp)
        return c("False", "Deleting", "the Database is being deleted");
    if (in.error && in.error->kind == error_kind::invalid_spec)
        return c("False", "InvalidSpec", "blocked until the spec is fixed");
    if (in.error && in.error->kind == error_kind::change_refused)
        return c("False", "ChangeRefused", "blocked until the refused change is reverted");
    if (in.spec && in.spec->paused)
        return c("False", "Paused", "spec.paused is true: the children are left as they are");
    if (!r.exists)
        return c("True", "Provisioning", "creating the StatefulSet");
    if (const auto& pod = in.observed.pod; pod && !pod->ready && pod->stuck())
        return c("False",
                 "RolloutStuck",
                 "pod " + pod->name + " is waiting: " + pod->waiting_reason +
                     (pod->waiting_message.empty() ? std::string() : ": " + pod->waiting_message) +
                     " (fix spec.image or spec.version; kubecoro replaces the pod once the spec is fixed)");
    if (r.resizing)
        return c("True", "Resizing", "expanding the data volumes to " + in.spec->storage);
    if (r.scaling)
        return c("True", "Scaling", r.scaling_message);
    if (r.rolling)
        return c("True",
                 "RollingUpdate",
                 std::to_string(in.observed.statefulset->updated_replicas) + "/" + std::to_string(r.desired) +
                     " replicas updated");
    if (expansion_failed(in))
        return c("False",
                 in.error->kind == error_kind::volume_expansion_failed ? "VolumeExpansionFailed"
                                                                       : "VolumeExpansionNotSupported",
                 "the volume claims cannot grow to the requested size (see ReconcileSucceeded)");
    if (p == phase::provisioning)
        return c("True", "Provisioning", "waiting for the first start of the database");
    return c("False", "UpToDate", "every replica runs the current spec");
}

// The newest finished backup job, if any (times are RFC 3339 in UTC, so they sort as strings).
const observed_job* latest_finished(const std::vector<observed_job>& jobs) {
    const observed_job* latest = nullptr;
    for (const observed_job& j : jobs)
        if ((j.succeeded || j.failed) && !j.finished_time.empty() &&
            (!latest || j.finished_time > latest->finished_time))
            latest = &j;
    return latest;
}

// The newest success: recorded in the status, the CronJob's, or a Job's still there.
std::string last_success(const status_input& in) {
    const observed_state& o = in.observed;
    std::string t = in.backup.last_successful_time;
    if (o.cronjob)
        t = std::max(t, o.cronjob->last_successful_time);
    for (const observed_job& j : o.backup_jobs)
        if (j.succeeded)
            t = std::max(t, j.finished_time);
    return t;
}

// An unfinished backup Job that has run no pod since it was created (quota, admission), and since when.
const observed_job* not_started(const status_input& in) {
    for (const observed_job& j : in.observed.backup_jobs)
        if (!j.succeeded && !j.failed && j.active == 0 && parse_time(j.created))
            return &j;
    return nullptr;
}

std::optional<std::chrono::system_clock::time_point> stale_at(const status_input& in,
                                                              const std::string& last_successful) {
    if (!in.spec)
        return std::nullopt;
    return backup_stale_at(in.spec->backup.schedule,
                           last_successful,
                           in.observed.cronjob && !in.observed.cronjob->created.empty()
                               ? in.observed.cronjob->created
                               : in.meta.creation_timestamp);
}

condition backup_condition(const status_input& in, const std::string& last_successful) {
    auto c = [](std::string status, std::string_view reason, std::string message) {
        return make(condition_type::backup_ready, std::move(status), reason, std::move(message));
    };
    if (!in.spec)
        return c("Unknown", "InvalidSpec", "the spec is invalid");
    if (!in.spec->backup.enabled)
        return c("False", "Disabled", "spec.backup.enabled is false");
    if (!in.observed.cronjob)
        return c("False", "NotScheduled", "the backup CronJob does not exist yet");
    if (const observed_job* j = not_started(in);
        j && in.clock >= *parse_time(j->created) + backup_start_limit)
        return c("False",
                 "BackupNotStarted",
                 "backup job " + j->name + " has run no pod since " + j->created +
                     ": something refuses it one (a ResourceQuota, LimitRange or admission policy; see "
                     "kubectl describe job " +
                     j->name + ")");
    if (const observed_job* j = latest_finished(in.observed.backup_jobs); j && j->failed)
        return c("False",
                 "BackupFailed",
                 "backup job " + j->name + " failed at " + j->finished_time +
                     (j->failure.empty() ? std::string() : " (" + j->failure + ")"));
    if (auto stale = stale_at(in, last_successful); stale && in.clock >= *stale)
        return c("False",
                 "BackupStale",
                 (last_successful.empty() ? std::string("no backup has succeeded")
                                          : "the last backup succeeded at " + last_successful) +
                     ", and two runs of the schedule \"" + in.spec->backup.schedule + "\" have passed since");
    if (!last_successful.empty())
        return c("True", "BackupSucceeded", "the last backup completed at " + last_successful);
    return c("True", "Scheduled", "backups run on the schedule \"" + in.spec->backup.schedule + "\"");
}

condition reconcile_condition(const status_input& in) {
    auto c = [](std::string status, std::string_view reason, std::string message) {
        return make(condition_type::reconcile_succeeded, std::move(status), reason, std::move(message));
    };
    if (in.error) {
        switch (in.error->kind) {
        case error_kind::invalid_spec:
            return c("False", "InvalidSpec", clip_message(in.error->message));
        case error_kind::change_refused:
            return c("False", "ChangeRefused", clip_message(in.error->message));
        case error_kind::apply_failed:
            return c("False", "ApplyFailed", clip_message(in.error->message));
        case error_kind::volume_expansion_failed:
            return c("False", "VolumeExpansionFailed", clip_message(in.error->message));
        case error_kind::volume_expansion_not_supported:
            return c("False", "VolumeExpansionNotSupported", clip_message(in.error->message));
        case error_kind::credentials_missing:
            return c("False", "CredentialsMissing", clip_message(in.error->message));
        case error_kind::deletion_protected:
            return c("False", "DeletionProtected", clip_message(in.error->message));
        }
    }
    if (in.spec && in.spec->paused)
        return c("True", "Paused", "reconciliation is paused by spec.paused");
    return c("True", "Succeeded", "all children are applied");
}

} // namespace

std::optional<std::chrono::system_clock::time_point> backup_stale_at(std::string_view schedule,
                                                                     const std::string& last_successful,
                                                                     const std::string& scheduled_since) {
    auto since = std::max(parse_time(last_successful), parse_time(scheduled_since));
    if (!since)
        return std::nullopt;
    auto first = api::next_run(schedule, *since);
    auto second = first ? api::next_run(schedule, *first) : std::nullopt;
    if (!second)
        return std::nullopt;
    return *second + backup_stale_grace;
}

std::optional<std::chrono::system_clock::time_point> backup_recheck(const status_input& in) {
    if (!in.spec || !in.spec->backup.enabled || !in.observed.cronjob)
        return std::nullopt;
    std::optional<std::chrono::system_clock::time_point> at;
    auto sooner = [&](std::chrono::system_clock::time_point t) {
        if (t > in.clock && (!at || t < *at))
            at = t;
    };
    if (const observed_job* j = not_started(in))
        sooner(*parse_time(j->created) + backup_start_limit);
    if (auto stale = stale_at(in, last_success(in)))
        sooner(*stale);
    return at;
}

database_status compute_status(const status_input& in) {
    database_status out;
    const auto& sts = in.observed.statefulset;
    rollout r = observe_rollout(in);
    out.observed_generation = in.meta.generation;
    out.replicas = sts ? sts->replicas : 0;
    out.ready_replicas = r.ready;
    out.ready = std::to_string(r.ready) + "/" + std::to_string(r.desired);
    std::optional<engine> e = in.spec ? std::optional(in.spec->engine)
                              : sts   ? engine_from_string(sts->engine)
                                      : std::nullopt;
    if (e) {
        out.selector = selector_string(selector_labels(in.meta, *e));
        out.endpoint = endpoint(in.meta, *e);
    }
    if (in.spec || sts) {
        out.secret_name = secret_name(in.meta);
        out.superuser_secret_name = superuser_secret_name(in.meta);
    }
    out.credentials_version = in.credentials_version;
    out.backup_request = in.backup_request;
    out.backup = in.backup;
    out.replication = in.replication;
    out.current_image = sts ? sts->image : std::string();
    if (sts || in.spec)
        out.current_primary = in.observed.primary;
    const member* primary = nullptr;
    for (const member& m : in.members)
        if (m.name == in.observed.primary && m.answered && !m.in_recovery)
            primary = &m;
    for (const observed_pod& pod : in.observed.instances) {
        instance_status i{
            pod.name, pod.name == in.observed.primary ? "primary" : "replica", pod.ready && !pod.terminating};
        for (const member& m : in.members) {
            if (m.name != pod.name || !m.answered)
                continue;
            i.timeline = m.timeline;
            if (!m.gtid.empty()) { // MariaDB
                i.gtid = m.gtid;
                i.replication_error = m.replication_error;
                if (m.in_recovery) {
                    if (primary)
                        i.lag_transactions = primary->wal > m.replayed ? primary->wal - m.replayed : 0;
                    i.lag_seconds = m.lag_seconds;
                }
                continue;
            }
            if (m.in_recovery) {
                constexpr std::uint64_t mib = 1024 * 1024;
                if (primary)
                    i.lag_bytes = (primary->wal > m.replayed ? primary->wal - m.replayed : 0) / mib * mib;
                // (Under a MiB behind: 0, so that WAL without commits does not flap the status.)
                i.lag_seconds = i.lag_bytes && *i.lag_bytes == 0 ? std::optional<long>(0) : m.lag_seconds;
            }
        }
        out.instances.push_back(std::move(i));
    }
    out.last_schedule_time = in.observed.cronjob ? in.observed.cronjob->last_schedule_time : std::string();
    out.last_successful_time = last_success(in);
    out.phase = compute_phase(in, r);

    out.conditions = in.conditions;
    for (condition c : {ready_condition(in, r, out.ready),
                        progressing_condition(in, r, out.phase),
                        backup_condition(in, out.last_successful_time),
                        reconcile_condition(in)}) {
        c.observed_generation = in.meta.generation;
        runtime::set_condition(out.conditions, std::move(c), in.now);
    }
    if (in.primary_available) {
        condition c = *in.primary_available;
        c.message = clip_message(c.message);
        c.observed_generation = in.meta.generation;
        runtime::set_condition(out.conditions, std::move(c), in.now);
    }
    if (in.credentials) {
        condition c = make(condition_type::credentials_ready,
                           in.credentials->status,
                           in.credentials->reason,
                           clip_message(in.credentials->message));
        c.observed_generation = in.meta.generation;
        runtime::set_condition(out.conditions, std::move(c), in.now);
    }
    return out;
}

json::value render_status(const api::object_meta& db, const database_status& s) {
    json::object status{
        {"observedGeneration", s.observed_generation},
        {"phase", to_string(s.phase)},
        {"replicas", s.replicas},
        {"readyReplicas", s.ready_replicas},
        {"ready", s.ready},
    };
    auto set_nonempty = [](json::object& o, std::string_view key, const std::string& v) {
        if (!v.empty())
            o.set(std::string(key), v);
    };
    set_nonempty(status, "selector", s.selector);
    set_nonempty(status, "endpoint", s.endpoint);
    set_nonempty(status, "secretName", s.secret_name);
    set_nonempty(status, "superuserSecretName", s.superuser_secret_name);
    if (!s.credentials_version.empty())
        status.set("credentials", json::object{{"secretVersion", s.credentials_version}});
    set_nonempty(status, "currentImage", s.current_image);
    set_nonempty(status, "currentPrimary", s.current_primary);
    if (json::value replication = encode_replication(s.replication); !replication.if_object()->empty())
        status.set("replication", std::move(replication));
    if (!s.instances.empty()) {
        json::array instances;
        for (const instance_status& i : s.instances) {
            json::object one{{"name", i.name}, {"role", i.role}, {"ready", i.ready}};
            if (i.timeline > 0)
                one.set("timeline", static_cast<std::int64_t>(i.timeline));
            if (i.lag_bytes)
                one.set("lagBytes", static_cast<std::int64_t>(*i.lag_bytes));
            if (i.lag_seconds)
                one.set("lagSeconds", static_cast<std::int64_t>(*i.lag_seconds));
            if (!i.gtid.empty())
                one.set("gtidPosition", i.gtid);
            if (i.lag_transactions)
                one.set("lagTransactions", static_cast<std::int64_t>(*i.lag_transactions));
            if (!i.replication_error.empty())
                one.set("replicationError", clip_message(i.replication_error));
            instances.push_back(std::move(one));
        }
        status.set("instances", std::move(instances));
    }
    json::object backup;
    set_nonempty(backup, "lastScheduleTime", s.last_schedule_time);
    set_nonempty(backup, "lastSuccessfulTime", s.last_successful_time);
    set_nonempty(backup, "lastRequest", s.backup_request);
    set_nonempty(backup, "lastFailureTime", s.backup.last_failure_time);
    set_nonempty(backup, "lastFailure", s.backup.last_failure);
    if (!s.backup.last_dump_job.empty()) { // the job too, so its pods are listed once
        json::object dump{{"job", s.backup.last_dump_job}};
        if (!s.backup.last_dump.empty())
            dump.set("name", s.backup.last_dump);
        if (s.backup.last_dump_bytes >= 0)
            dump.set("bytes", static_cast<std::int64_t>(s.backup.last_dump_bytes));
        backup.set("lastDump", std::move(dump));
    }
    if (!backup.empty())
        status.set("backup", std::move(backup));
    status.set("conditions", runtime::to_json(s.conditions));

    api::object_meta meta;
    meta.name = db.name;
    meta.namespace_ = db.namespace_;
    json::object o = object_header(group_version, kind, json::encode_meta(meta));
    o.set("status", std::move(status));
    return o;
}

} // namespace kubecoro::controllers::database
