// What /metrics says of each Database: read from the Database objects in the controller's cache
// (spec and status) and their backup CronJobs at each scrape, so a series never outlives its object.
#pragma once

#include <kubecoro/metrics/metrics.hpp>
#include <kubecoro/runtime/object.hpp>

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
    bool backups = false;           // spec.backup.enabled
    double backup_last_success = 0; // Unix seconds; 0: never
    double backup_last_failure = 0; // Unix seconds; 0: never
    double backup_deadline = 0;     // backup_stale_at; 0: not known (no CronJob yet)
};

struct cached_database {
    runtime::object_ptr db;
    runtime::object_ptr backup_cronjob; // nullptr when there is none
};

// One Database's sample (nothing decoded beyond the fields read: this runs at every scrape).
database_sample sample_database(const cached_database& cached);

// Registers the kubecoro_database_* families on `r`; at each scrape they are set afresh from
// list() (every Database in the cache; none once the controller is gone).
void export_database_metrics(metrics::registry& r, std::function<std::vector<cached_database>()> list);

} // namespace kubecoro::controllers::database
