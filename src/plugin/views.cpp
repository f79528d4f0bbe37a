#include "views.hpp"

#include <algorithm>
#include <cstdio>

namespace kubecoro::plugin {
namespace {

long number(const json::value* v) {
    return v ? static_cast<long>(v->int_or(0)) : 0;
}

const json::array& items(const json::value* v) {
    static const json::array none;
    const json::array* a = v ? v->if_array() : nullptr;
    return a ? *a : none;
}

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width)
        s.append(width - s.size(), ' ');
    return s;
}

// When an Event last happened: lastTimestamp, eventTime or its creation.
std::string event_time(const json::value& e) {
    for (const json::value* t :
         {e.at("lastTimestamp"), e.at("eventTime"), e.at("metadata", "creationTimestamp")})
        if (!string_at(t).empty())
            return string_at(t);
    return "";
}

void pod_line(std::string& out, const json::value& pod) {
    std::string ready = "not ready";
    long restarts = 0;
    for (const json::value& c : items(pod.at("status", "containerStatuses"))) {
        restarts += number(c.at("restartCount"));
        if (c.at("ready") && c.at("ready")->bool_or(false))
            ready = "ready";
    }
    std::string role = string_at(pod.at("metadata", "labels", "kubecoro.dev/role"));
    out += "  " + pad(string_at(pod.at("metadata", "name")), 20) + pad(role.empty() ? "-" : role, 9) +
           pad(string_at(pod.at("status", "phase")), 10) + pad(ready, 11) + "restarts " +
           std::to_string(restarts);
    if (std::string node = string_at(pod.at("spec", "nodeName")); !node.empty())
        out += "  node " + node;
    out += "\n";
}

} // namespace

std::string string_at(const json::value* v) {
    return v ? v->string_or("") : std::string();
}

std::string primary_pod(const json::value& db) {
    std::string primary = string_at(db.at("status", "currentPrimary"));
    return primary.empty() ? string_at(db.at("metadata", "name")) + "-0" : primary;
}

std::string status_text(const json::value& db,
                        const std::vector<json::value>& pods,
                        const std::vector<json::value>& events,
                        std::size_t max_events) {
    std::string out;
    const std::string name = string_at(db.at("metadata", "name"));
    std::string phase = string_at(db.at("status", "phase"));
    out += "Database " + string_at(db.at("metadata", "namespace")) + "/" + name + ": " +
           string_at(db.at("spec", "engine")) + " " + string_at(db.at("spec", "version")) + ", phase " +
           (phase.empty() ? "(no status yet)" : phase) + "\n";
    if (std::string endpoint = string_at(db.at("status", "endpoint")); !endpoint.empty())
        out += "  endpoint " + endpoint + ", credentials in Secret " +
               string_at(db.at("status", "secretName")) + "\n";
    long replicas = db.at("spec", "replicas") ? number(db.at("spec", "replicas")) : 1;
    out += "  ready " + std::to_string(number(db.at("status", "readyReplicas"))) + "/" +
           std::to_string(replicas);
    if (std::string primary = string_at(db.at("status", "currentPrimary")); !primary.empty())
        out += ", primary " + primary;
    if (std::string image = string_at(db.at("status", "currentImage")); !image.empty())
        out += ", image " + image;
    out += "\n";

    out += "Conditions:\n";
    const json::array& conditions = items(db.at("status", "conditions"));
    if (conditions.empty())
        out += "  (none yet)\n";
    for (const json::value& c : conditions)
        out += "  " + pad(string_at(c.at("type")), 20) + pad(string_at(c.at("status")), 8) +
               pad(string_at(c.at("reason")), 24) + string_at(c.at("message")) + "\n";

    if (const json::array& instances = items(db.at("status", "instances")); !instances.empty()) {
        out += "Instances:\n";
        for (const json::value& i : instances) {
            out += "  " + pad(string_at(i.at("name")), 20) + pad(string_at(i.at("role")), 9) +
                   (i.at("ready") && i.at("ready")->bool_or(false) ? "ready" : "not ready");
            if (i.at("timeline"))
                out += ", timeline " + std::to_string(number(i.at("timeline")));
            if (i.at("lagBytes"))
                out += ", lag " + std::to_string(number(i.at("lagBytes"))) + " bytes";
            if (i.at("gtidPosition"))
                out += ", GTID " + string_at(i.at("gtidPosition"));
            if (i.at("lagTransactions"))
                out += ", lag " + std::to_string(number(i.at("lagTransactions"))) + " transactions";
            if (i.at("lagSeconds"))
                out += " / " + std::to_string(number(i.at("lagSeconds"))) + " s";
            if (i.at("replicationError"))
                out += "; replication stopped: " + string_at(i.at("replicationError"));
            out += "\n";
        }
    }

    out += "Pods:\n";
    if (pods.empty())
        out += "  (none)\n";
    for (const json::value& pod : pods)
        pod_line(out, pod);

    out += "Backups:\n";
    const json::value* enabled = db.at("spec", "backup", "enabled");
    if (enabled && !enabled->bool_or(true)) {
        out += "  off (spec.backup.enabled is false)\n";
    } else {
        std::string schedule = string_at(db.at("spec", "backup", "schedule"));
        out += "  schedule \"" + (schedule.empty() ? std::string("0 2 * * *") : schedule) + "\"";
        std::string success = string_at(db.at("status", "backup", "lastSuccessfulTime"));
        out += ", last success " + (success.empty() ? std::string("never") : success);
        if (std::string failure = string_at(db.at("status", "backup", "lastFailureTime")); !failure.empty())
            out += ", last failure " + failure + " (" + string_at(db.at("status", "backup", "lastFailure")) +
                   ")";
        out += "\n";
        if (std::string dump = string_at(db.at("status", "backup", "lastDump", "name")); !dump.empty())
            out += "  last dump " + dump + " (" +
                   std::to_string(number(db.at("status", "backup", "lastDump", "bytes"))) + " bytes, job " +
                   string_at(db.at("status", "backup", "lastDump", "job")) + ")\n";
    }

    std::vector<const json::value*> sorted;
    for (const json::value& e : events)
        sorted.push_back(&e);
    std::stable_sort(sorted.begin(), sorted.end(), [](const json::value* a, const json::value* b) {
        return event_time(*a) < event_time(*b);
    });
    if (sorted.size() > max_events)
        sorted.erase(sorted.begin(), sorted.end() - static_cast<std::ptrdiff_t>(max_events));
    out += "Recent events:\n";
    if (sorted.empty())
        out += "  (none)\n";
    for (const json::value* e : sorted) {
        long count = number(e->at("count"));
        out += "  " + event_time(*e) + "  " + pad(string_at(e->at("type")), 8) + string_at(e->at("reason")) +
               ": " + string_at(e->at("message")) + (count > 1 ? " (x" + std::to_string(count) + ")" : "") +
               "\n";
    }
    return out;
}

json::value restored_database(const json::value& source, const std::string& name, const std::string& dump) {
    json::object spec{
        {"engine", string_at(source.at("spec", "engine"))},
        {"version", string_at(source.at("spec", "version"))},
        {"storage", string_at(source.at("spec", "storage"))},
    };
    // What the dump may need to load: the same image (extensions), parameters
    // (shared_preload_libraries), resources and storage class.
    for (const char* field : {"image", "storageClassName", "parameters", "resources"})
        if (const json::value* v = source.at("spec", field))
            spec.set(field, *v);
    spec.set("bootstrap",
             json::object{{"fromBackup",
                           json::object{{"claimName", string_at(source.at("metadata", "name")) + "-backup"},
                                        {"dump", dump.empty() ? std::string("latest") : dump}}}});
    return json::object{
        {"apiVersion", string_at(source.at("apiVersion"))},
        {"kind", std::string("Database")},
        {"metadata",
         json::object{{"name", name}, {"namespace", string_at(source.at("metadata", "namespace"))}}},
        {"spec", std::move(spec)},
    };
}

std::string connect_script(const std::string& engine) {
    // (Single-quoted by the caller's argv: the variables expand in the container, never on a
    // command line.)
    if (engine == "postgresql")
        return R"(PGPASSWORD="$KUBECORO_APP_PASSWORD" exec psql -h 127.0.0.1 -U app app "$@")";
    if (engine == "mysql")
        return R"(MYSQL_PWD="$MYSQL_PASSWORD" exec mysql -h 127.0.0.1 -u app app "$@")";
    if (engine == "mariadb")
        return R"(MYSQL_PWD="$MARIADB_PASSWORD" exec mariadb -h 127.0.0.1 -u app app "$@")";
    return "";
}

} // namespace kubecoro::plugin
