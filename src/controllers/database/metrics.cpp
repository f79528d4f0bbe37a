#include "database/metrics.hpp"

#include "common/fields.hpp"
#include "database/spec.hpp"
#include "database/status.hpp"

namespace kubecoro::controllers::database {
namespace {

double unix_seconds(std::chrono::system_clock::time_point t) {
    return static_cast<double>(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

double unix_seconds(const std::string& t) {
    auto parsed = parse_time(t);
    return parsed ? unix_seconds(*parsed) : 0;
}

} // namespace

database_sample sample_database(const cached_database& cached) {
    const runtime::object& db = *cached.db;
    database_sample s;
    s.namespace_ = db.meta.namespace_;
    s.name = db.meta.name;
    json::value scratch;
    const json::value& body = db.view(scratch);
    s.engine = string_at(body.at("spec", "engine"));
    s.phase = string_at(body.at("status", "phase"));
    if (const json::value* r = body.at("spec", "replicas"); r && r->is_number())
        s.replicas = int_at(r);
    s.ready_replicas = int_at(body.at("status", "readyReplicas"));
    if (const json::value* conditions = body.at("status", "conditions"); conditions && conditions->if_array())
        for (const json::value& c : *conditions->if_array()) {
            const std::string status = string_at(c.at("status"));
            if (status == "True" || status == "False")
                s.conditions.push_back(
                    {string_at(c.at("type")), string_at(c.at("reason")), status == "True"});
        }

    const backup_spec defaults;
    const json::value* enabled = body.at("spec", "backup", "enabled");
    s.backups = enabled && enabled->is_bool() ? enabled->bool_or(defaults.enabled) : defaults.enabled;
    if (!s.backups)
        return s;
    const std::string last_success = string_at(body.at("status", "backup", "lastSuccessfulTime"));
    s.backup_last_success = unix_seconds(last_success);
    s.backup_last_failure = unix_seconds(string_at(body.at("status", "backup", "lastFailureTime")));
    if (cached.backup_cronjob) {
        const std::string schedule = string_at(body.at("spec", "backup", "schedule"));
        auto stale = backup_stale_at(schedule.empty() ? defaults.schedule : schedule,
                                     last_success,
                                     cached.backup_cronjob->meta.creation_timestamp);
        s.backup_deadline = stale ? unix_seconds(*stale) : 0;
    }
    return s;
}

void export_database_metrics(metrics::registry& r, std::function<std::vector<cached_database>()> list) {
    const std::vector<std::string> db{"namespace", "name"};
    auto& phase = r.add_gauge_family("kubecoro_database_phase",
                                     "1 for the Database's current status.phase (one series per Database).",
                                     {"namespace", "name", "engine", "phase"});
    auto& replicas = r.add_gauge_family("kubecoro_database_replicas", "The Database's spec.replicas.", db);
    auto& ready = r.add_gauge_family(
        "kubecoro_database_ready_replicas", "Server pods of the Database that are ready (status).", db);
    auto& conditions = r.add_gauge_family("kubecoro_database_condition",
                                          "1 for a status condition that is True, 0 for False (Unknown: "
                                          "no series), with the condition's reason.",
                                          {"namespace", "name", "type", "reason"});
    auto& success = r.add_gauge_family("kubecoro_database_backup_last_success_timestamp_seconds",
                                       "When the last backup (scheduled or on request) succeeded (Unix "
                                       "seconds; 0: never).",
                                       db);
    auto& failure = r.add_gauge_family("kubecoro_database_backup_last_failure_timestamp_seconds",
                                       "When the last backup failed (Unix seconds; 0: never).",
                                       db);
    auto& deadline =
        r.add_gauge_family("kubecoro_database_backup_deadline_timestamp_seconds",
                           "When backups are stale (BackupReady False, BackupStale): two scheduled "
                           "times after the last success or the backup CronJob's creation, plus 10 "
                           "minutes (Unix seconds).",
                           db);
    r.on_collect(
        [&phase, &replicas, &ready, &conditions, &success, &failure, &deadline, list = std::move(list)] {
            for (auto* f : {&phase, &replicas, &ready, &conditions, &success, &failure, &deadline})
                f->clear();
            for (const cached_database& cached : list()) {
                const database_sample s = sample_database(cached);
                phase.with({s.namespace_, s.name, s.engine, s.phase.empty() ? "Pending" : s.phase}).set(1);
                replicas.with({s.namespace_, s.name}).set(s.replicas);
                ready.with({s.namespace_, s.name}).set(s.ready_replicas);
                for (const condition_sample& c : s.conditions)
                    conditions.with({s.namespace_, s.name, c.type, c.reason}).set(c.value ? 1 : 0);
                if (!s.backups)
                    continue;
                success.with({s.namespace_, s.name}).set(s.backup_last_success);
                failure.with({s.namespace_, s.name}).set(s.backup_last_failure);
                if (s.backup_deadline > 0)
                    deadline.with({s.namespace_, s.name}).set(s.backup_deadline);
            }
        });
}

} // namespace kubecoro::controllers::database
