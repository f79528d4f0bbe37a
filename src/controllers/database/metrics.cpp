#include "database/metrics.hpp"

#include "common/fields.hpp"
#include "database/spec.hpp"
#include <kubecoro/api/cron.hpp>
#include <kubecoro/json/json.hpp>

namespace kubecoro::controllers::database {
namespace {

double unix_seconds(std::chrono::system_clock::time_point t) {
    return static_cast<double>(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

} // namespace

database_sample sample_database(const runtime::object& db) {
    database_sample s;
    s.namespace_ = db.meta.namespace_;
    s.name = db.meta.name;
    const json::value& body = db.body;
    s.engine = string_at(body.at("spec", "engine"));
    s.phase = string_at(body.at("status", "phase"));
    if (const json::value* r = body.at("spec", "replicas"); r && r->is_number())
        s.replicas = static_cast<int>(r->int_or(1));
    if (const json::value* r = body.at("status", "readyReplicas"); r && r->is_number())
        s.ready_replicas = static_cast<int>(r->int_or(0));
    if (const json::value* conditions = body.at("status", "conditions"); conditions && conditions->if_array())
        for (const json::value& c : *conditions->if_array()) {
            const std::string status = string_at(c.at("status"));
            if (status == "True" || status == "False")
                s.conditions.push_back(
                    {string_at(c.at("type")), string_at(c.at("reason")), status == "True"});
        }

    auto spec = decode_spec(body, db.meta.name);
    if (!spec || !spec->backup.enabled)
        return s;
    auto last_success = parse_time(string_at(body.at("status", "backup", "lastSuccessfulTime")));
    auto last_failure = parse_time(string_at(body.at("status", "backup", "lastFailureTime")));
    auto created = parse_time(db.meta.creation_timestamp);
    auto base = last_success ? last_success : created;
    auto first = base ? api::next_run(spec->backup.schedule, *base) : std::nullopt;
    auto second = first ? api::next_run(spec->backup.schedule, *first) : std::nullopt;
    if (!second)
        return s;
    s.backups = true;
    s.backup_last_success = last_success ? unix_seconds(*last_success) : 0;
    s.backup_last_failure = last_failure ? unix_seconds(*last_failure) : 0;
    s.backup_deadline = unix_seconds(*second);
    return s;
}

void export_database_metrics(metrics::registry& r, std::function<std::vector<runtime::object_ptr>()> list) {
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
                                       "When the last scheduled backup succeeded (Unix seconds; 0: never).",
                                       db);
    auto& failure = r.add_gauge_family("kubecoro_database_backup_last_failure_timestamp_seconds",
                                       "When the last backup failed (Unix seconds; 0: never).",
                                       db);
    auto& deadline = r.add_gauge_family(
        "kubecoro_database_backup_deadline_timestamp_seconds",
        "When the backups are overdue: the second scheduled time after the last success or the "
        "Database's creation (Unix seconds).",
        db);
    r.on_collect(
        [&phase, &replicas, &ready, &conditions, &success, &failure, &deadline, list = std::move(list)] {
            for (auto* f : {&phase, &replicas, &ready, &conditions, &success, &failure, &deadline})
                f->clear();
            for (const runtime::object_ptr& o : list()) {
                const database_sample s = sample_database(*o);
                phase.with({s.namespace_, s.name, s.engine, s.phase.empty() ? "Pending" : s.phase}).set(1);
                replicas.with({s.namespace_, s.name}).set(s.replicas);
                ready.with({s.namespace_, s.name}).set(s.ready_replicas);
                for (const condition_sample& c : s.conditions)
                    conditions.with({s.namespace_, s.name, c.type, c.reason}).set(c.value ? 1 : 0);
                if (!s.backups)
                    continue;
                success.with({s.namespace_, s.name}).set(s.backup_last_success);
                failure.with({s.namespace_, s.name}).set(s.backup_last_failure);
                deadline.with({s.namespace_, s.name}).set(s.backup_deadline);
            }
        });
}

} // namespace kubecoro::controllers::database
