#include "database/backups.hpp"

#include <algorithm>
#include <cstdlib>

namespace kubecoro::controllers::database {

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
    r.last_successful_time = text({"lastSuccessfulTime"});
    r.last_failure_time = text({"lastFailureTime"});
    r.last_failure = text({"lastFailure"});
    r.last_dump = text({"lastDump", "name"});
    r.last_dump_job = text({"lastDump", "job"});
    if (const json::value* bytes = b->at("lastDump", "bytes"))
        r.last_dump_bytes = bytes->int_or(-1);
    return r;
}

awaitable<core::result<void>> backup_on_request(runtime::managed_context& ctx,
                                                const resources& rs,
                                                const database_spec& spec,
                                                status_input& in) {
    const runtime::object& db = ctx.primary();
    auto it = db.meta.annotations.find(std::string(backup_now_annotation));
    const auto* handled = db.body.at("status", "backup", "lastRequest");
    if (it == db.meta.annotations.end() || it->second.empty() ||
        (handled && handled->string_or("") == it->second))
        co_return core::result<void>{};
    in.backup_request = it->second.str();
    if (!spec.backup.enabled) {
        ctx.record(runtime::event_type::warning,
                   "BackupNotEnabled",
                   "kubecoro.dev/backup-now ignored: spec.backup.enabled is false");
        co_return core::result<void>{};
    }
    json::value job = render_backup_job(db.meta, spec, it->second);
    auto created = co_await ctx.apply(rs.jobs, std::move(job));
    if (!created)
        co_return core::fail(created.error());
    ctx.record(runtime::event_type::normal,
               "BackupStarted",
               "job " + backup_job_name(db.meta, it->second) + " backs up now (kubecoro.dev/backup-now)");
    co_return core::result<void>{};
}

awaitable<void> record_backups(runtime::managed_context& ctx, const resources& rs, status_input& in) {
    const runtime::object& db = ctx.primary();
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

} // namespace kubecoro::controllers::database
