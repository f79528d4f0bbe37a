#include "plugin.hpp"

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
#include <map>
#include <optional>
#include <unistd.h>

namespace kubecoro::plugin {
namespace {

const api::resource databases{"kubecoro.dev", "v1alpha1", "databases", "Database"};
const api::resource pods{"", "v1", "pods", "Pod"};
const api::resource events{"", "v1", "events", "Event"};
const std::string instance_label = "app.kubernetes.io/instance";

struct command_line {
    std::string command;
    std::vector<std::string> positional;
    std::map<std::string, std::string> flags; // --name value / --name=value / -n value
    std::vector<std::string> passthrough;     // after "--"
    std::string error;
};

command_line parse(const std::vector<std::string>& args) {
    command_line c;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {
            c.passthrough.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (a == "-n" || a.rfind("--", 0) == 0) {
            std::string name = a == "-n" ? "namespace" : a.substr(2);
            std::string value;
            if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name.resize(eq);
            } else if (name == "wait" || name == "help") {
                value = "true";
            } else if (i + 1 < args.size()) {
                value = args[++i];
            } else {
                c.error = "flag " + a + " needs a value";
                return c;
            }
            c.flags[name] = value;
        } else if (c.command.empty()) {
            c.command = a;
        } else {
            c.positional.push_back(a);
        }
    }
    return c;
}

std::string flag(const command_line& c, const std::string& name, std::string fallback = {}) {
    auto it = c.flags.find(name);
    return it == c.flags.end() ? fallback : it->second;
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
    o.label_selector = instance_label + "=" + db + ",app.kubernetes.io/component=database";
    auto list = co_await s.api.list_all(pods, s.ns, o);
    if (!list)
        co_return core::fail(list.error());
    co_return std::move(list->items);
}

awaitable<int> status(session& s, const command_line& c) {
    const std::string& name = c.positional.front();
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

awaitable<int> backup(session& s, const command_line& c) {
    const std::string& name = c.positional.front();
    const std::string request = std::to_string(std::time(nullptr));
    // A merge patch of the one annotation, as `kubectl annotate --overwrite` sends. (Arguments
    // named: g++ 12 miscompiles temporaries in co_await expressions.)
    const std::string body =
        R"({"metadata":{"annotations":{"kubecoro.dev/backup-now":")" + request + R"("}}})";
    const api::patch_options options;
    auto patched = co_await s.api.patch(databases, s.ns, name, api::patch_type::merge, body, options);
    if (!patched)
        co_return fail("database " + s.ns + "/" + name + ": " + patched.error().message);
    std::printf("backup of %s/%s requested (kubecoro.dev/backup-now=%s)\n",
                s.ns.c_str(),
                name.c_str(),
                request.c_str());
    if (flag(c, "wait") != "true")
        co_return 0;
    // Until the status records this request and a backup that ended after it.
    const std::string requested_at = [] {
        std::time_t t = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return std::string(buf);
    }();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int i = 0; i < 300; ++i) {
        auto db = co_await s.api.get(databases, s.ns, name);
        if (db) {
            auto str = [&](std::initializer_list<std::string_view> path) {
                const json::value* v = &*db;
                for (auto k : path)
                    v = v ? v->at(k) : nullptr;
                return v ? v->string_or("") : std::string();
            };
            if (str({"status", "backup", "lastRequest"}) == request) {
                if (str({"status", "backup", "lastFailureTime"}) >= requested_at) {
                    std::printf("backup failed: %s\n", str({"status", "backup", "lastFailure"}).c_str());
                    co_return 1;
                }
                if (str({"status", "backup", "lastSuccessfulTime"}) >= requested_at) {
                    std::printf("backup done: %s\n", str({"status", "backup", "lastDump", "name"}).c_str());
                    co_return 0;
                }
            }
        }
        timer.expires_after(std::chrono::seconds(2));
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_return fail("no result for the backup within 10 minutes; see kubectl kubecoro status " + name);
}

awaitable<int> restore(session& s, const command_line& c) {
    const std::string& name = c.positional.front();
    const std::string from = flag(c, "from");
    if (from.empty())
        co_return fail("restore NEW --from SOURCE [--dump NAME]: --from is required");
    auto source = co_await s.api.get(databases, s.ns, from);
    if (!source)
        co_return fail("database " + s.ns + "/" + from + ": " + source.error().message);
    json::value object = restored_database(*source, name, flag(c, "dump", "latest"));
    auto created = co_await s.api.create(databases, s.ns, std::move(object));
    if (!created)
        co_return fail("database " + s.ns + "/" + name + ": " + created.error().message);
    std::printf(
        "database %s/%s created from %s's backup (dump %s); kubectl kubecoro status %s shows its progress\n",
        s.ns.c_str(),
        name.c_str(),
        from.c_str(),
        flag(c, "dump", "latest").c_str(),
        name.c_str());
    co_return 0;
}

// Objects as JSON files, Secrets never read; logs of the operator's pods and the server pods.
awaitable<int> report(session& s, const command_line& c) {
    const std::string& name = c.positional.front();
    namespace fs = std::filesystem;
    fs::path dir = flag(c, "dir", "kubecoro-report-" + name + "-" + now_rfc3339_compact());
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        co_return fail(dir.string() + ": " + ec.message());
    int written = 0;
    auto save = [&](const std::string& file, const std::string& text) {
        std::ofstream(dir / file) << text;
        ++written;
    };
    auto db = co_await s.api.get(databases, s.ns, name);
    if (!db)
        co_return fail("database " + s.ns + "/" + name + ": " + db.error().message);
    save("database.json", json::write(*db));
    api::list_options by_instance;
    by_instance.label_selector = instance_label + "=" + name;
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
            logs.emplace_back(s.ns, p.at("metadata", "name")->string_or(""));
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
  kubectl kubecoro backup DB [-n NS] [--wait] a backup now (kubecoro.dev/backup-now)
  kubectl kubecoro restore NEW --from DB [--dump NAME] [-n NS]
                                              a new Database from DB's backup (default: latest)
  kubectl kubecoro report DB [-n NS] [--dir DIR]
                                              a directory for a bug report: the Database and its
                                              children, events, server and operator logs (no Secret)

Install: link or copy the kubecoro binary as kubectl-kubecoro on the PATH. The namespace defaults
to the kubeconfig context's; --kubeconfig and --context as for kubectl.
)";
}

int run(const std::vector<std::string>& args) {
    command_line c = parse(args);
    if (!c.error.empty())
        return fail(c.error);
    if (c.command.empty() || c.command == "help" || flag(c, "help") == "true") {
        std::fputs(usage().c_str(), stdout);
        return c.command.empty() && flag(c, "help") != "true" ? 2 : 0;
    }
    const std::vector<std::string> known{"status", "connect", "backup", "restore", "report"};
    if (std::find(known.begin(), known.end(), c.command) == known.end())
        return fail("unknown command \"" + c.command + "\" (status, connect, backup, restore, report)");
    if (c.positional.size() != 1)
        return fail(c.command + ": name one Database");
    auto cfg = config::load({flag(c, "kubeconfig"), flag(c, "context")});
    if (!cfg)
        return fail(cfg.error().message);
    std::string ns = flag(c, "namespace", cfg->namespace_.empty() ? "default" : cfg->namespace_);

    asio::io_context io(1);
    client::client_options copts;
    copts.user_agent = "kubectl-kubecoro";
    auto api = client::client::create(io.get_executor(), *cfg, copts);
    if (!api)
        return fail(api.error().message);
    int code = 1;
    std::string connect_engine, connect_pod;
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
        else { // connect: read the Database here, exec kubectl once the loop is done
            auto db = co_await s.api.get(databases, ns, c.positional.front());
            if (!db) {
                code = fail("database " + ns + "/" + c.positional.front() + ": " + db.error().message);
                co_return;
            }
            connect_engine = db->at("spec", "engine") ? db->at("spec", "engine")->string_or("") : "";
            connect_pod = primary_pod(*db);
            code = 0;
        }
    };
    asio::co_spawn(io, main(), [&](std::exception_ptr e) {
        if (e)
            code = fail("unexpected error");
        io.stop();
    });
    io.run();
    if (c.command == "connect" && code == 0)
        return connect(c, ns, connect_engine, connect_pod);
    return code;
}

} // namespace kubecoro::plugin
