// The benchmark driver (test/bench/run.sh runs it): the generated Databases and HelloWorlds that
// both the converge and the floor scenarios create, the command line, and the two scenarios.
//   kubecoro_bench converge --kind database|helloworld --namespace NS --count N [--concurrency K]
//   kubecoro_bench floor    --kind database|helloworld --namespace NS --count N [--concurrency K]
// Each prints `key=value` lines on stdout (no Secret data, ever).
#pragma once

#include <kubecoro/api/resource.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <string>

namespace kubecoro::bench {

enum class kind { database, helloworld };

struct bench_config {
    bench::kind kind = kind::database;
    std::string namespace_;
    int count = 100;
    int concurrency = 8;               // requests (converge: creations) in flight
    std::chrono::seconds timeout{900}; // converge: give up after this long
    std::string field_manager = "kubecoro-bench";
};

// What every scenario counts of its own requests, from client_options::on_request.
struct request_counts {
    std::map<std::string, std::uint64_t> by_method; // "POST", "PATCH", ...
    std::uint64_t failed = 0;                       // no answer or a status >= 400
};

const api::resource& custom_resource(kind k); // databases or helloworlds of kubecoro.dev/v1alpha1

// "db-00042" or "hw-00042".
std::string object_name(kind k, int i);

// Object i of the generated set: Databases rotate over the three engines (1Gi, backups on, the
// defaults otherwise); HelloWorlds carry the message "hello-<i>".
json::value generated_object(kind k, const std::string& ns, int i);

// Runs `workers` copies of work(w) concurrently and returns when all have finished; rethrows the
// first exception.
template <class Work>
awaitable<void> run_workers(int workers, Work work) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
    int left = workers;
    std::exception_ptr first;
    for (int w = 0; w < workers; ++w)
        asio::co_spawn(ex, work(w), [&](std::exception_ptr ep) {
            if (ep && !first)
                first = ep;
            if (--left == 0)
                all_done.cancel();
        });
    if (left > 0)
        co_await all_done.async_wait(use_tuple);
    if (first)
        std::rethrow_exception(first);
}

// A write retried (with a short pause) while client::is_retryable says so, at most 5 times.
template <class T, class Send>
awaitable<core::result<T>> with_retries(Send send) {
    for (int attempt = 1;; ++attempt) {
        auto r = co_await send();
        if (r || attempt == 5 || !client::is_retryable(r.error()))
            co_return r;
        co_await sleep_for(std::chrono::milliseconds(50 * attempt));
    }
}

double seconds_since(std::chrono::steady_clock::time_point t0);
// CPU seconds (user + system) of this process so far.
double own_cpu_seconds();

// Exit status 0 on success; prints the figures.
awaitable<int> run_converge(std::shared_ptr<client::client> c, bench_config cfg);
awaitable<int>
run_floor(std::shared_ptr<client::client> c, bench_config cfg, std::shared_ptr<request_counts> n);

} // namespace kubecoro::bench
