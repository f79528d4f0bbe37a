// The manager owns the io_context and the process: it loads the configuration, serves the health
// and metrics endpoints, waits for the API server, elects a leader when asked, runs the
// controllers, and shuts everything down in order on SIGTERM or SIGINT.
#pragma once

#include <kubecoro/client/client.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/log/log.hpp>
#include <kubecoro/manager/options.hpp>
#include <kubecoro/metrics/metrics.hpp>
#include <kubecoro/runtime/controller.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace kubecoro::manager {

// What a controller factory gets to build its controller with.
struct controller_env {
    std::shared_ptr<client::client> client;
    const options& opts;
    log::logger log;
    metrics::registry& metrics;
    // The process's caches, shared by its controllers (none: each controller has its own).
    std::shared_ptr<runtime::informer_cache> informers = nullptr;
    // Applied last by builder(): what a test changes (watch sources, clock).
    std::function<void(runtime::controller_config&)> configure = {};

    // A builder already set up from the command line (namespaces, concurrency, resync period,
    // shutdown timeout), with the logger, the metrics and the shared caches.
    runtime::controller_builder builder(std::string name) const;
};

using controller_factory =
    std::function<awaitable<core::result<std::shared_ptr<runtime::controller>>>(controller_env env)>;

// Runs every controller until all have returned. When one fails the others are stopped and the
// result is false (the failure is logged).
awaitable<bool> run_controllers(std::vector<std::shared_ptr<runtime::controller>> controllers,
                                log::logger log);

// Runs the operator until a signal or a fatal error. Returns the process exit code: 0 after a
// clean shutdown, 1 on a fatal error (bad configuration, lost leadership, a failed controller).
int run(const options& opts, const std::map<std::string, controller_factory>& factories);

} // namespace kubecoro::manager
