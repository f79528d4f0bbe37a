#include "kubecoro_version.h"
#include <kubecoro/admission/certificates.hpp>
#include <kubecoro/config/cluster_config.hpp>
#include <kubecoro/core/backoff.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/leader/elector.hpp>
#include <kubecoro/manager/manager.hpp>
#include <kubecoro/manager/registry.hpp>
#include <kubecoro/net/errc.hpp>
#include <kubecoro/net/http_server.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <variant>

namespace kubecoro::manager {
namespace {

using namespace awaitable_operators;
using namespace std::chrono_literals;

// What /readyz reports: connected, and either a standby or a leader whose caches are synced.
struct readiness {
    bool api_reachable = false;
    bool leading = false;
    std::vector<std::shared_ptr<runtime::controller>> controllers;

    bool ready() const {
        if (!api_reachable)
            return false;
        if (!leading)
            return true; // a standby is ready to take over
        for (const auto& c : controllers)
            if (!c->synced())
                return false;
        return !controllers.empty();
    }
};

// Failures that waiting will not mend: the server rejects who we are, or TLS cannot be trusted.
bool is_fatal_at_startup(const core::error& e) {
    return e.http_status == 401 || e.http_status == 403 || e.code == net::errc::tls_handshake ||
           e.code == net::errc::tls_config || e.code == net::errc::bad_address;
}

// Asks for /version until the API server answers; backs off while it is unreachable.
awaitable<core::result<void>> wait_for_api_server(std::shared_ptr<client::client> c, log::logger log) {
    core::backoff backoff(core::watcher_backoff);
    for (;;) {
        http::request version_request{"GET", "/version", {}, {}}; // named: see the note in core/asio.hpp
        auto r = co_await c->send(std::move(version_request));
        if (r) {
            auto v = json::parse(r->body);
            std::string version = v ? v->at("gitVersion") ? v->at("gitVersion")->string_or("") : "" : "";
            log.info("connected to the API server", {{"server", c->config().server}, {"version", version}});
            co_return core::result<void>{};
        }
        if (is_fatal_at_startup(r.error()))
            co_return core::fail(r.error());
        auto delay = backoff.next(std::chrono::steady_clock::now());
        log.warn("API server not reachable yet; retrying",
                 {{"server", c->config().server}, {"error", r.error()}, {"retry_in", delay}});
        if (!co_await sleep_for(delay))
            co_return core::fail(core::errc::cancelled, "cancelled");
    }
}

// "kubecoro/<version>", and " (<leader election identity>)" when there is one.
std::string user_agent(const std::string& identity) {
    std::string ua = std::string("kubecoro/") + KUBECORO_VERSION;
    return identity.empty() ? ua : ua + " (" + identity + ")";
}

awaitable<int> wait_for_signal(asio::signal_set& signals) {
    auto [ec, signo] = co_await signals.async_wait(use_tuple);
    co_return ec ? 0 : signo;
}

// Runs every controller at once; returns when all have returned.
awaitable<void> run_all(std::vector<std::shared_ptr<runtime::controller>> controllers, std::size_t i = 0) {
    if (i >= controllers.size())
        co_return;
    if (i + 1 == controllers.size())
        co_return co_await controllers[i]->run();
    auto c = controllers[i];
    co_await (c->run() && run_all(controllers, i + 1));
}

} // namespace

awaitable<bool> run_controllers(std::vector<std::shared_ptr<runtime::controller>> controllers,
                                log::logger log) {
    try {
        co_await run_all(std::move(controllers));
        co_return true;
    } catch (const std::exception& e) {
        // Returned, not thrown: `||` waits for a success, so a throw would leave the process
        // running with no controller until a signal came.
        log.error("a controller failed", {{"error", e.what()}});
        co_return false;
    }
}

namespace {

// The operator's own namespace: the pod's, else the kubeconfig context's, else default.
std::string own_namespace(const config::cluster_config& cfg) {
    if (const char* ns = std::getenv("POD_NAMESPACE"); ns && *ns)
        return ns;
    return cfg.namespace_.empty() ? "default" : cfg.namespace_;
}

std::string leader_namespace(const options& opts, const config::cluster_config& cfg) {
    return opts.leader_election_namespace.empty() ? own_namespace(cfg) : opts.leader_election_namespace;
}

// The admission webhook: its certificate first (a fatal error when none can be had), then the HTTPS
// server with every registered webhook. Serves on standbys too.
struct webhook_endpoint {
    std::shared_ptr<admission::certificate_keeper> keeper;
    std::shared_ptr<net::http_server> server;
};

awaitable<core::result<webhook_endpoint>> start_webhook(const options& opts,
                                                        const config::cluster_config& cfg,
                                                        client::client_options copts,
                                                        log::logger log) {
    auto ex = co_await asio::this_coro::executor;
    std::string address = opts.webhook_bind_address;
    if (address == "auto")
        address = cfg.in_cluster ? ":9443" : "0";
    webhook_endpoint out;
    if (address.empty() || address == "0")
        co_return out;
    admission::certificate_options certs;
    certs.namespace_ = own_namespace(cfg);
    certs.secret_name = opts.webhook_secret;
    certs.service_name = opts.webhook_service;
    if (!opts.webhook_configuration.empty())
        certs.validating_configurations.push_back(opts.webhook_configuration);
    certs.validity = std::chrono::duration_cast<std::chrono::seconds>(opts.webhook_cert_validity);
    // A client of its own: the reads an admission makes are paced by the API server that asks for
    // them, and must not queue behind the controllers' rate limit (a user's `kubectl apply` would
    // wait for it, and the webhook's timeout is 5 s). A read slower than 2 s is given up (the
    // change is then admitted with a warning; the controller still checks it).
    copts.qps = 0;
    copts.request_timeout = std::chrono::seconds(2);
    copts.on_request = nullptr; // it may outlive operate()'s metrics registry at shutdown
    auto made = client::client::create(ex, cfg, copts);
    if (!made)
        co_return core::fail(made.error());
    std::shared_ptr<client::client> c = *made;
    out.keeper = std::make_shared<admission::certificate_keeper>(c, certs, log);
    // A busy or restarting API server is waited for (about a minute); a refusal (403, a Secret
    // holding no usable certificate) ends the start at once.
    core::backoff backoff(core::watcher_backoff);
    for (int attempt = 1;; ++attempt) {
        auto r = co_await out.keeper->start();
        if (r)
            break;
        if (!client::is_retryable(r.error()) || attempt == 6)
            co_return core::fail(r.error());
        auto delay = backoff.next(std::chrono::steady_clock::now());
        log.warn("cannot get the webhook certificate yet; retrying",
                 {{"error", r.error()}, {"retry_in", delay}});
        if (!co_await sleep_for(delay))
            co_return core::fail(core::errc::cancelled, "cancelled");
    }
    std::vector<admission::route> routes;
    for (const auto& [name, factory] : registered_admissions())
        routes.push_back(factory(admission_env{c, log.named(name)}));
    net::http_server_config scfg;
    scfg.address = address;
    // The API server keeps a few connections alive (idle up to 90 s); a slow or idle stranger
    // holds at most one of 16 slots, and a request's bytes for at most 10 s.
    scfg.max_connections = 16;
    scfg.idle_timeout = std::chrono::seconds(120);
    scfg.request_timeout = std::chrono::seconds(10);
    scfg.max_body_bytes = admission::max_review_bytes;
    scfg.tls = [keeper = out.keeper] { return keeper->current(); };
    auto server = net::http_server::create(ex, scfg, admission::handler(std::move(routes), log));
    if (!server)
        co_return core::fail(server.error());
    out.server = *server;
    co_return out;
}

// Serves /healthz, /readyz and /metrics; both servers may share one address.
core::result<std::vector<std::shared_ptr<net::http_server>>> start_endpoints(asio::any_io_executor ex,
                                                                             const options& opts,
                                                                             readiness& ready,
                                                                             metrics::registry& registry) {
    const bool shared = opts.health_probe_bind_address == opts.metrics_bind_address;
    auto health = [&ready, &registry, shared](std::string_view path) -> net::http_reply {
        if (path == "/healthz" || path == "/livez")
            return {200, "text/plain; charset=utf-8", "ok\n", {}};
        if (path == "/readyz")
            return ready.ready() ? net::http_reply{200, "text/plain; charset=utf-8", "ok\n", {}}
                                 : net::http_reply{503, "text/plain; charset=utf-8", "not ready\n", {}};
        if (shared && path == "/metrics")
            return {200, std::string(metrics::content_type), registry.render(), {}};
        return {404, "text/plain; charset=utf-8", "not found\n", {}};
    };
    auto metrics_handler = [&registry](std::string_view path) -> net::http_reply {
        if (path == "/metrics")
            return {200, std::string(metrics::content_type), registry.render(), {}};
        return {404, "text/plain; charset=utf-8", "not found\n", {}};
    };
    std::vector<std::shared_ptr<net::http_server>> servers;
    auto h = net::http_server::create(ex, {opts.health_probe_bind_address}, net::sync_handler(health));
    if (!h)
        return core::fail(h.error());
    servers.push_back(*h);
    if (!shared) {
        auto m =
            net::http_server::create(ex, {opts.metrics_bind_address}, net::sync_handler(metrics_handler));
        if (!m)
            return core::fail(m.error());
        servers.push_back(*m);
    }
    return servers;
}

awaitable<int> operate(options opts, std::map<std::string, controller_factory> factories, log::logger log) {
    auto ex = co_await asio::this_coro::executor;

    std::string namespaces;
    for (const auto& ns : opts.namespaces)
        namespaces += (namespaces.empty() ? "" : ",") + ns;
    std::string controllers;
    for (const auto& c : opts.controllers)
        controllers += (controllers.empty() ? "" : ",") + c;
    log.info("kubecoro starting",
             {{"version", KUBECORO_VERSION},
              {"commit", KUBECORO_GIT_COMMIT},
              {"build", KUBECORO_BUILD_TYPE},
              {"namespaces", namespaces.empty() ? std::string("all") : namespaces},
              {"controllers", controllers.empty() ? std::string("all") : controllers},
              {"kube_api_qps", opts.kube_api_qps},
              {"kube_api_burst", opts.kube_api_burst},
              {"leader_elect", opts.leader_elect},
              {"max_concurrent_reconciles", opts.max_concurrent_reconciles},
              {"resync_period", opts.resync_period},
              {"shutdown_timeout", opts.shutdown_timeout},
              {"health_probe_bind_address", opts.health_probe_bind_address},
              {"metrics_bind_address", opts.metrics_bind_address},
              {"webhook_bind_address", opts.webhook_bind_address}});
    auto cfg = config::load({opts.kubeconfig, opts.context});
    if (!cfg) {
        log.error("cannot load the cluster configuration", {{"error", cfg.error()}});
        co_return 1;
    }
    log.info("cluster configuration loaded", {{"origin", cfg->origin}, {"server", cfg->server}});

    metrics::registry registry(metrics::process_metrics::on);
    registry
        .add_gauge_family("kubecoro_build_info",
                          "A metric with a constant '1' value labelled by the version, git commit and build "
                          "type of the running binary.",
                          {"version", "commit", "build_type"})
        .with({KUBECORO_VERSION, KUBECORO_GIT_COMMIT, KUBECORO_BUILD_TYPE})
        .set(1);
    // controller-runtime's name: 1 while this process holds the Lease (always 1 without election).
    metrics::gauge& leading =
        registry
            .add_gauge_family("leader_election_master_status",
                              "Gauge of if the reporting system is master of the relevant lease, 0 indicates "
                              "backup, 1 indicates master. 'name' is the string used to identify the lease.",
                              {"name"})
            .with({opts.leader_elect ? opts.leader_election_id : std::string("none")});
    auto& requests =
        registry.add_counter_family("rest_client_requests_total",
                                    "Number of HTTP requests, partitioned by status code and method.",
                                    {"code", "method"});
    // One identity per process, also in the User-Agent of every request (as client-go does):
    // whoever reads the API server's audit log can tell which replica wrote what.
    const std::string identity = opts.leader_elect ? leader::default_identity() : std::string();
    client::client_options copts;
    copts.user_agent = user_agent(identity);
    copts.qps = opts.kube_api_qps;
    copts.burst = opts.kube_api_burst;
    if (opts.watch_idle_timeout > std::chrono::milliseconds::zero())
        copts.watch_idle_timeout = opts.watch_idle_timeout;
    copts.on_request = [&requests](std::string_view method, int code) {
        requests.with({code ? std::to_string(code) : std::string("<error>"), std::string(method)}).inc();
    };
    auto client = client::client::create(ex, *cfg, copts);
    if (!client) {
        log.error("cannot set up the API client", {{"error", client.error()}});
        co_return 1;
    }

    readiness ready;
    // What /readyz answers, for an alert that needs no probe of its own.
    metrics::gauge& ready_gauge = registry.add_gauge(
        "kubecoro_ready",
        "1 when /readyz answers ok: the API server answers and, on the leader, every cache is synced.");
    registry.on_collect([&ready, &ready_gauge] { ready_gauge.set(ready.ready() ? 1 : 0); });
    auto servers = start_endpoints(ex, opts, ready, registry);
    if (!servers) {
        log.error("cannot serve the health and metrics endpoints", {{"error", servers.error()}});
        co_return 1;
    }
    for (auto& s : *servers) {
        if (!s->enabled())
            continue;
        log.info("serving", {{"address", s->local_endpoint().to_string()}});
        asio::co_spawn(ex, s->run(), [log](std::exception_ptr e, core::result<void> r) {
            if (e || !r)
                log.error("an HTTP endpoint stopped",
                          {{"error", r ? std::string("exception") : r.error().message}});
        });
    }
    auto stop_servers = [&servers] {
        for (auto& s : *servers)
            s->stop();
    };

    asio::signal_set signals(ex, SIGINT, SIGTERM);
    auto up = co_await (wait_for_api_server(*client, log) || wait_for_signal(signals));
    if (up.index() == 1) {
        log.info("signal received before start; exiting");
        stop_servers();
        co_return 0;
    }
    if (auto& r = std::get<0>(up); !r) {
        log.error("the API server refuses us", {{"error", r.error()}});
        stop_servers();
        co_return 1;
    }
    auto started =
        co_await (start_webhook(opts, *cfg, copts, log.named("webhook")) || wait_for_signal(signals));
    if (started.index() == 1) {
        log.info("signal received before start; exiting");
        stop_servers();
        co_return 0;
    }
    auto& webhook = std::get<0>(started);
    if (!webhook) {
        log.error("cannot serve the admission webhook", {{"error", webhook.error()}});
        stop_servers();
        co_return 1;
    }
    // Ready (so in the webhook's Service) only once the webhook serves.
    ready.api_reachable = true;
    if (webhook->server) {
        servers->push_back(webhook->server);
        log.info("serving the admission webhook",
                 {{"address", webhook->server->local_endpoint().to_string()}});
        asio::co_spawn(ex, webhook->server->run(), [log](std::exception_ptr e, core::result<void> r) {
            if (e || !r)
                log.error("the admission webhook stopped",
                          {{"error", r ? std::string("exception") : r.error().message}});
        });
        // Keeps the certificate current until the io_context stops.
        auto keep = [keeper = webhook->keeper]() -> awaitable<void> { co_await keeper->run(); };
        asio::co_spawn(ex, keep, [log](std::exception_ptr e) {
            if (e)
                log.error("the webhook certificate keeper stopped: the certificate is no longer renewed");
        });
    }

    std::unique_ptr<leader::elector> elector;
    if (opts.leader_elect) {
        leader::elector_config lcfg;
        lcfg.namespace_ = leader_namespace(opts, *cfg);
        lcfg.name = opts.leader_election_id;
        lcfg.identity = identity;
        auto made = leader::elector::create(*client, lcfg, log.named("leader"));
        if (!made) {
            log.error("cannot set up leader election", {{"error", made.error()}});
            stop_servers();
            co_return 1;
        }
        elector = std::move(*made);
        log.info("waiting to become leader",
                 {{"lease", lcfg.namespace_ + "/" + lcfg.name}, {"identity", elector->identity()}});
        auto won = co_await (elector->acquire() || wait_for_signal(signals));
        if (won.index() == 1 || !std::get<0>(won)) {
            stop_servers();
            co_return won.index() == 1 ? 0 : 1;
        }
    }
    ready.leading = true;
    leading.set(1);

    // The controllers write only while our lease is current: a leader frozen past its renew
    // deadline (SIGSTOP, a stalled VM) sends nothing until it has learnt whether it still leads.
    // The elector keeps its own client, which is not fenced.
    std::shared_ptr<client::client> controller_client = *client;
    if (elector) {
        auto fenced = copts;
        fenced.write_gate = [e = elector.get()] { return e->may_write(std::chrono::steady_clock::now()); };
        auto made = client::client::create(ex, *cfg, fenced);
        if (!made) {
            log.error("cannot set up the API client", {{"error", made.error()}});
            stop_servers();
            co_return 1;
        }
        controller_client = *made;
    }
    // One list and watch per kind, whichever controllers read it.
    auto informers = std::make_shared<runtime::informer_cache>(controller_client, log.named("cache"));
    std::vector<std::string> names = opts.controllers;
    if (names.empty())
        for (const auto& [name, factory] : factories)
            names.push_back(name);
    for (const auto& name : names) {
        if (!factories.contains(name)) {
            log.error("no such controller in this binary", {{"controller", name}});
            stop_servers();
            co_return 1;
        }
        controller_env env{controller_client, opts, log.named(name), registry, informers};
        auto built = co_await factories.at(name)(env);
        if (!built) {
            log.error("cannot start controller", {{"controller", name}, {"error", built.error()}});
            stop_servers();
            co_return 1;
        }
        ready.controllers.push_back(*built);
    }
    log.info("starting controllers", {{"count", ready.controllers.size()}});

    int code = 0;
    if (elector) {
        auto ended =
            co_await (run_controllers(ready.controllers, log) || wait_for_signal(signals) || elector->hold());
        if (ended.index() == 2) {
            leading.set(0);
            log.error("lost leadership; exiting", {{"error", std::get<2>(ended).error()}});
            stop_servers();
            co_return 1;
        }
        code = ended.index() == 1 ? 0 : 1;
        co_await elector->release();
    } else {
        auto ended = co_await (run_controllers(ready.controllers, log) || wait_for_signal(signals));
        code = ended.index() == 1 ? 0 : 1;
    }
    if (code != 0)
        log.error("controllers stopped unexpectedly");
    else
        log.info("shut down cleanly");
    stop_servers();
    co_return code;
}

} // namespace

runtime::controller_builder controller_env::builder(std::string name) const {
    runtime::controller_builder b(std::move(name), client);
    b.namespaces(opts.namespaces.empty() ? std::vector<std::string>{""} : opts.namespaces)
        .max_concurrent_reconciles(static_cast<std::size_t>(opts.max_concurrent_reconciles))
        .resync_period(opts.resync_period)
        .shutdown_timeout(opts.shutdown_timeout)
        .logger(log)
        .metrics(metrics)
        .informers(informers);
    if (configure)
        b.configure(configure);
    return b;
}

int run(const options& opts, const std::map<std::string, controller_factory>& factories) {
    log::logger_config lcfg;
    lcfg.min_level = *log::parse_level(opts.log_level);
    lcfg.format = opts.log_format == log_encoding::json   ? log::format::json
                  : opts.log_format == log_encoding::text ? log::format::text
                                                          : log::default_format();
    log::logger log(lcfg);
    log::set_default_logger(log);

    asio::io_context io(1);
    int exit_code = 1;
    asio::co_spawn(io, operate(opts, factories, log), [&](std::exception_ptr e, int code) {
        exit_code = code;
        if (e) {
            exit_code = 1;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                log.error("fatal error", {{"error", ex.what()}});
            }
        }
        io.stop(); // no task outlives the operator: pooled connections and timers end with it
    });
    io.run();
    return exit_code;
}

} // namespace kubecoro::manager
