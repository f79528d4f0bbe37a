// What /metrics says of each Database: read from the Database objects in the controller's cache
// (spec and status) at each scrape, so a series never outlives its object.
#pragma once

#include <kubecoro/metrics/metrics.hpp>
#include <kubecoro/runtime/object.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace kubecoro::controllers::database {

struct condition_sample {
    std::string type;
    std::string reason;
    bool value = false; // True (Unknown conditions are left out)
};

struct database_sample {
    std::string namespace_;
    std::string name;
    std::string engine;
    std::string phase; // empty before the first status
    int replicas = 1;  // spec.replicas
    int ready_replicas = 0;
    std::vector<condition_sample> conditions;
    bool backups = false;           // scheduled backups are on (and the schedule valid)
    double backup_last_success = 0; // Unix seconds; 0: never
    double backup_last_failure = 0; // Unix seconds; 0: never
    double backup_deadline = 0;     // a whole scheduled run missed once this passes
};

// One Database's sample. The backup deadline is the second scheduled time after the last success
// (or the Database's creation): by then one scheduled backup has had its whole period to succeed.
database_sample sample_database(const runtime::object& db);

// Registers the kubecoro_database_* families on `r`; at each scrape they are set afresh from
// list() (every Database in the cache; none once the controller is gone).
void export_database_metrics(metrics::registry& r, std::function<std::vector<runtime::object_ptr>()> list);

} // namespace kubecoro::controllers::database
