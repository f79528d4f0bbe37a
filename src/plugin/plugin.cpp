#include "plugin.hpp"

#include "arguments.hpp"
#include "views.hpp"
#include <kubecoro/api/resource.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/config/cluster_config.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/json/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <unistd.h>

namespace kubecoro::plugin {
namespace {

const api::resource databases{"kubecoro.dev", "v1alpha1", "databases", "Database"};
const api::resource pods{"", "v1", "pods", "Pod"};
const api::resource events{"", "v1", "events", "Event"};
const api::resource jobs{"batch", "v1", "jobs", "Job"};
const std::string instance_label = "app.kubernetes.io/instance";
const std::string managed_by = "app.kubernetes.io/managed-by=kubecoro";

std::string flag(const command_line& c, const std::string& name, std::string fallback = {}) {
    auto it = c.flags.find(name);
    return it == c.flags.end() || it->second.empty() ? fallback : it->second;
}

int fail(const std::string& message) {
    std::fprintf(stderr, "kubectl kubecoro: %s\n", message.c_str());
    return 1;
}

std::string now_rfc3339_compact() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

struct session {
    client::client& api;
    std::string ns;
};

awaitable<core::result<std::vector<json::value>>> server_pods(session& s, const std::string& db) {
    api::list_options o;
    o.label_selector = instance_label + "=" + db + ",app.kubernetes.io/component=database," + managed_by;
    auto list = co_await s.api.list_all(pods, s.ns, o);
    if (!list)
        co_return core::fail(list.error());
    co_return std::move(list->items);
}

awaitable<int> status(session& s, const command_line& c) {
    const std::string& name = c.database;
    auto db = co_await s.api.get(databases, s.ns, name);
    if (!db)
        co_return fail("database " + s.ns + "/" + name + ": " + db.error().message);
    auto members = co_await server_pods(s, name);
    api::list_options o;
    o.field_selector = "involvedObject.kind=Database,involvedObject.name=" + name;
    auto recent = co_await s.api.list_all(events, s.ns, o);
    std::string out = status_text(*db,
                                  members ? *members : std::vector<json::value>{},
                                  recent ? recent->items : std::vector<json::value>{});
    std::fputs(out.c_str(), stdout);
    co_return 0;
}

// The backup Job of one request: the operator names it in the annotation kubecoro.dev/backup-now
// it copies from the Database (scheduled Jobs have none).
awaitable<core::result<std::optional<json::value>>>
request_job(session& s, const std::string& db, const std::string& token) {
    api::list_options o;
    o.label_selector = instance_label + "=" + db + ",app.kubernetes.io/component=backup," + managed_by;
    auto list = co_await s.api.list_all(jobs, s.ns, o);
    if (!list)
        co_return core::fail(list.error());
    for (json::value& j : list->items)
        if (string_at(j.at("metadata", "annotations", "kubecoro.dev/backup-now")) == token)
            co_return std::optional<json::value>(std::move(j));
    co_return std::optional<json::value>();
}

// "Complete" or "Failed" (with the condition's reason and message) once the Job has ended.
std::optional<std::string> job_end(const json::value& job, std::string& why) {
    if (const json::array* conditions =
            job.at("status", "conditions") ? job.at("status", "conditions")->if_array() : nullptr)
        for (const json::value& c : *conditions)
            if (string_at(c.at("status")) == "True" &&
                (string_at(c.at("type")) == "Complete" || string_at(c.at("type")) == "Failed")) {
                why = string_at(c.at("reason")) + ": " + string_at(c.at("message"));
                return string_at(c.at("type"));
            }
    return std::nullopt;
}

awaitable<int> backup(session& s, const command_line& c) {
    const std::string& name = c.database;
    auto db = co_await s.api.get(databases, s.ns, name);
    if (!db)
        co_return fail("database " + s.ns + "/" + name + ": " + db.error().message);
    if (const json::value* enabled = db->at("spec", "backup", "enabled"); enabled && !enabled->bool_or(true))
        co_return fail("database " + s.ns + "/" + name + " has backups off (spec.backup.enabled is false)");
    if (const json::value* paused = db->at("spec", "paused"); paused && paused->bool_or(false))
        co_return fail("database " + s.ns + "/" + name +
                       " is paused (spec.paused): nothing runs until it is resumed");
    // A token of its own (microseconds): two requests never share one.
    const std::string token = std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                                 std::chrono::system_clock::now().time_since_epoch())
                                                 .count());
    // A merge patch of the one annotation, as `kubectl annotate --overwrite` sends. (Arguments
    // named: g++ 12 miscompiles temporaries in co_await expressions.)
    const std::string body = R"({"metadata":{"annotations":{"kubecoro.dev/backup-now":")" + token + R"("}}})";
    const api::patch_options options;
    auto patched = co_await s.api.patch(databases, s.ns, name, api::patch_type::merge, body, options);
    if (!patched)
        co_return fail("database " + s.ns + "/" + name + ": " + patched.error().message);
    std::printf("backup of %s/%s requested (kubecoro.dev/backup-now=%s)\n",
                s.ns.c_str(),
                name.c_str(),
                token.c_str());
    if (flag(c, "wait") != "true")
        co_return 0;
    // Until this request's own Job ends (the operator makes it once it has seen the request).
    const auto limit = std::chrono::steady_clock::now() + *parse_timeout(flag(c, "timeout", "30m"));
    asio::steady_timer timer(co_await asio::this_coro::executor);
    std::string job_name;
    while (std::chrono::steady_clock::now() < limit) {
        auto job = co_await request_job(s, name, token);
        if (job && *job) {
            job_name = string_at((*job)->at("metadata", "name"));
            std::string why;
            if (auto end = job_end(**job, why); end == "Failed") {
                std::printf("backup failed: job %s (%s)\n", job_name.c_str(), why.c_str());
                co_return 1;
            } else if (end == "Complete") {
                // The dump's name, once the status records this Job's.
                for (int i = 0; i < 10; ++i) {
                    auto now = co_await s.api.get(databases, s.ns, name);
                    if (now && string_at(now->at("status", "backup", "lastDump", "job")) == job_name) {
                        std::printf("backup done: %s (job %s)\n",
                                    string_at(now->at("status", "backup", "lastDump", "name")).c_str(),
                                    job_name.c_str());
                        co_return 0;
                    }
                    timer.expires_after(std::chrono::seconds(1));
                    co_await timer.async_wait(asio::use_awaitable);
                }
                std::printf("backup done: job %s\n", job_name.c_str());
                co_return 0;
            }
        }
        timer.expires_after(std::chrono::seconds(2));
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_return fail(
        "the backup " +
        (job_name.empty() ? std::string("has not started") : "job " + job_name + " has not ended") +
        " within --timeout " + flag(c, "timeout", "30m") + "; see kubectl kubecoro status " + name);
}

awaitable<int> restore(session& s, const command_line& c) {
    const std::string& name = c.database;
    const std::string from = flag(c, "from");
    const std::string dump = flag(c, "dump", "latest");
    auto source = co_await s.api.get(databases, s.ns, from);
    if (!source)
        co_return fail("database " + s.ns + "/" + from + ": " + source.error().message);
    if (const json::value* enabled = source->at("spec", "backup", "enabled");
        enabled && !enabled->bool_or(true))
        co_return fail("database " + s.ns + "/" + from + " has backups off: there is no dump to restore");
    if (string_at(source->at("status", "backup", "lastSuccessfulTime")).empty())
        co_return fail("database " + s.ns + "/" + from +
                       " has no successful backup yet (kubectl kubecoro backup " + from + " --wait)");
    json::value object = restored_database(*source, name, dump);
    auto created = co_await s.api.create(databases, s.ns, std::move(object));
    if (!created)
        co_return fail("database " + s.ns + "/" + name + ": " + created.error().message);
    std::printf(
        "database %s/%s created from %s's backup (dump %s); kubectl kubecoro status %s shows its progress\n",
        s.ns.c_str(),
        name.c_str(),
        from.c_str(),
        dump.c_str(),
        name.c_str());
    co_return 0;
}

// Objects as JSON files, Secrets never read; logs of the operator's pods and the server pods.
awaitable<int> report(session& s, const command_line& c) {
    const std::string& name = c.database;
    namespace fs = std::filesystem;
    fs::path dir = flag(c, "dir", "kubecoro-report-" + name + "-" + now_rfc3339_compact());
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
        co_return fail(dir.string() + " exists and is not empty: name another with --dir");
    auto db = co_await s.api.get(databases, s.ns, name);
    if (!db)
        co_return fail("database " + s.ns + "/" + name + ": " + db.error().message);
    fs::create_directories(dir, ec);
    if (ec)
        co_return fail(dir.string() + ": " + ec.message());
    int written = 0;
    bool write_failed = false;
    auto save = [&](const std::string& file, const std::string& content) {
        std::ofstream out(dir / file);
        out << content;
        out.close();
        if (out)
            ++written;
        else
            write_failed = true;
    };
    save("database.json", json::write(*db));
    api::list_options by_instance;
    // (managed-by too: another application's objects of the same instance name stay out.)
    by_instance.label_selector = instance_label + "=" + name + "," + managed_by;
    const std::vector<api::resource> kinds{
        {"apps", "v1", "statefulsets", "StatefulSet"},
        {"", "v1", "services", "Service"},
        {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"},
        {"batch", "v1", "jobs", "Job"},
        pods,
    };
    for (const api::resource& r : kinds) {
        auto list = co_await s.api.list_all(r, s.ns, by_instance);
        json::array items;
        if (list)
            for (json::value& item : list->items)
                items.push_back(std::move(item));
        save(r.plural + ".json", json::write(json::value(std::move(items))));
    }
    const api::list_options everything;
    auto all_events = co_await s.api.list_all(events, s.ns, everything);
    if (all_events) {
        json::array items;
        for (json::value& e : all_events->items)
            items.push_back(std::move(e));
        save("events.json", json::write(json::value(std::move(items))));
    }
    // Logs: the server pods', and every kubecoro operator pod's in the cluster (where readable).
    std::vector<std::pair<std::string, std::string>> logs; // namespace, pod
    if (auto members = co_await server_pods(s, name))
        for (const json::value& p : *members)
            logs.emplace_back(s.ns, string_at(p.at("metadata", "name")));
    api::list_options operators;
    operators.label_selector = "app.kubernetes.io/name=kubecoro,app.kubernetes.io/component=operator";
    const std::string all_namespaces;
    if (auto ops = co_await s.api.list_all(pods, all_namespaces, operators))
        for (const json::value& p : ops->items)
            logs.emplace_back(p.at("metadata", "namespace")->string_or(""),
                              p.at("metadata", "name")->string_or(""));
    for (const auto& [pod_ns, pod] : logs) {
        http::request r{"GET", api::path(pods, pod_ns, pod, "log") + "?tailLines=2000", {}, {}};
        auto log = co_await s.api.send(std::move(r));
        save("log-" + pod_ns + "-" + pod + ".txt",
             log ? log->body : "(not readable: " + log.error().message + ")\n");
    }
    if (write_failed)
        co_return fail("could not write every file in " + dir.string() + " (" + std::to_string(written) +
                       " written)");
    std::printf("%d files in %s (no Secret is read)\n", written, dir.string().c_str());
    co_return 0;
}

// Replaces this process with `kubectl exec` into the primary's server container.
int connect(const command_line& c, const std::string& ns, const std::string& engine, const std::string& pod) {
    std::string script = connect_script(engine);
    if (script.empty())
        return fail("unknown engine \"" + engine + "\"");
    std::vector<std::string> argv{"kubectl", "exec", "-i"};
    if (::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO))
        argv.push_back("-t");
    // The same cluster and identity as the reads before: the kubeconfig and context given.
    for (const std::string f : {"kubeconfig", "context"})
        if (std::string v = flag(c, f); !v.empty())
            argv.push_back("--" + f + "=" + v);
    const std::vector<std::string> rest{"-n", ns, pod, "-c", "database", "--", "sh", "-c", script, "sh"};
    argv.insert(argv.end(), rest.begin(), rest.end());
    argv.insert(argv.end(), c.passthrough.begin(), c.passthrough.end());
    std::vector<char*> raw;
    for (std::string& a : argv)
        raw.push_back(a.data());
    raw.push_back(nullptr);
    ::execvp("kubectl", raw.data());
    return fail("cannot run kubectl: " + std::string(std::strerror(errno)));
}

} // namespace

bool invoked_as_plugin(const std::string& argv0) {
    return std::filesystem::path(argv0).filename() == "kubectl-kubecoro";
}

std::string usage() {
    return R"(kubectl kubecoro: Databases from the command line.

  kubectl kubecoro status DB [-n NS]          phase, conditions with reasons, pods, backups, events
  kubectl kubecoro connect DB [-n NS] [-- ARGS]
                                              psql/mysql/mariadb on the primary as the application
                                              user (password from the server's environment)
  kubectl kubecoro backup DB [-n NS] [--wait [--timeout 30m]]
                                              a backup now (kubecoro.dev/backup-now); --wait until
                                              its Job ends (exit 0: done, 1: failed)
  kubectl kubecoro restore NEW --from DB [--dump NAME] [-n NS]
                                              a new Database from DB's backup (default: latest),
                                              with DB's engine, version, image, storage, storage
                                              class, parameters and resources
  kubectl kubecoro report DB [-n NS] [--dir DIR]
                                              a directory for a bug report: the Database and its
                                              children, events, server and operator logs (no Secret)

Install: link or copy the kubecoro binary as kubectl-kubecoro on the PATH. The namespace defaults
to the kubeconfig context's; --kubeconfig and --context as for kubectl.
)";
}

int run(const std::vector<std::string>& args) {
    command_line c = parse_arguments(args);
    if (!c.error.empty()) {
        std::fprintf(stderr, "kubectl kubecoro: %s (see kubectl kubecoro --help)\n", c.error.c_str());
        return 2;
    }
    if (c.help) {
        std::fputs(usage().c_str(), stdout);
        return 0;
    }
    auto cfg = config::load({flag(c, "kubeconfig"), flag(c, "context")});
    if (!cfg)
        return fail(cfg.error().message);
    const std::string ns = flag(c, "namespace", cfg->namespace_.empty() ? "default" : cfg->namespace_);

    int code = 1;
    std::string connect_engine, connect_pod;
    { // (The client and its connections end here: none is left open in kubectl exec.)
        asio::io_context io(1);
        client::client_options copts;
        copts.user_agent = "kubectl-kubecoro";
        auto api = client::client::create(io.get_executor(), *cfg, copts);
        if (!api)
            return fail(api.error().message);
        auto main = [&]() -> awaitable<void> {
            session s{**api, ns};
            if (c.command == "status")
                code = co_await status(s, c);
            else if (c.command == "backup")
                code = co_await backup(s, c);
            else if (c.command == "restore")
                code = co_await restore(s, c);
            else if (c.command == "report")
                code = co_await report(s, c);
            else { // connect: read the Database here, exec kubectl once the client is gone
                auto db = co_await s.api.get(databases, ns, c.database);
                if (!db) {
                    code = fail("database " + ns + "/" + c.database + ": " + db.error().message);
                    co_return;
                }
                connect_engine = string_at(db->at("spec", "engine"));
                connect_pod = primary_pod(*db);
                code = 0;
            }
        };
        asio::co_spawn(io, main(), [&](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    code = fail(std::string("unexpected error: ") + ex.what());
                }
            }
            io.stop();
        });
        io.run();
    }
    if (c.command == "connect" && code == 0)
        return connect(c, ns, connect_engine, connect_pod);
    return code;
}

} // namespace kubecoro::plugin
