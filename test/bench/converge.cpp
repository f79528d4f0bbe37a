// Converge: creates the generated objects (`concurrency` creations in flight) for the operator
// running beside it, and watches them until every one reports the current generation as done:
//   Database:   status.observedGeneration == metadata.generation, ReconcileSucceeded=True;
//   HelloWorld: status.observedGeneration == metadata.generation, Ready=True.
// One watch instead of polling lists: the measurement adds one event per status write.
#include "bench.hpp"
#include <kubecoro/api/errc.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/conditions.hpp>

#include <cstdio>
#include <set>
#include <stdexcept>

namespace kubecoro::bench {
namespace {

using namespace std::chrono_literals;

struct converge_state {
    std::shared_ptr<client::client> client;
    bench_config cfg;
    int next = 0;
    int create_failures = 0;
    std::string first_error;
    std::set<std::string> converged;
    std::string resource_version; // where the watch goes on from
    std::optional<std::chrono::steady_clock::time_point> all_converged;
};

bool is_converged(kind k, const json::value& o) {
    const json::value* generation = o.at("metadata", "generation");
    const json::value* observed = o.at("status", "observedGeneration");
    const json::value* conditions = o.at("status", "conditions");
    if (!generation || !observed || !conditions || generation->int_or(0) != observed->int_or(-1))
        return false;
    auto decoded = runtime::conditions_from_json(*conditions);
    return decoded && runtime::is_true(*decoded, k == kind::database ? "ReconcileSucceeded" : "Ready");
}

void observe(converge_state& s, const json::value& o, bool deleted) {
    std::string name = o.at("metadata", "name") ? o.at("metadata", "name")->string_or("") : "";
    if (!deleted && is_converged(s.cfg.kind, o))
        s.converged.insert(name);
    else
        s.converged.erase(name);
    if (!s.all_converged && static_cast<int>(s.converged.size()) >= s.cfg.count)
        s.all_converged = std::chrono::steady_clock::now();
}

// Reads every object again (at the start, and after a 410 Gone).
awaitable<core::result<void>> relist(converge_state& s) {
    api::list_options all;
    const api::resource& r = custom_resource(s.cfg.kind);
    auto list = co_await s.client->list_all(r, s.cfg.namespace_, all);
    if (!list)
        co_return core::fail(list.error());
    s.converged.clear();
    for (const auto& item : list->items)
        observe(s, item, false);
    s.resource_version = list->resource_version;
    co_return core::result<void>{};
}

awaitable<void> watch_until_converged(std::shared_ptr<converge_state> s) {
    const api::resource& r = custom_resource(s->cfg.kind);
    while (!s->all_converged) {
        api::watch_options o;
        o.resource_version = s->resource_version;
        o.timeout_seconds = 300;
        auto stream = co_await s->client->watch(r, s->cfg.namespace_, o);
        if (!stream) {
            if (!client::is_retryable(stream.error()))
                throw std::runtime_error("watch: " + stream.error().message);
            co_await sleep_for(200ms);
            continue;
        }
        while (!s->all_converged) {
            auto event = co_await stream->next();
            if (!event && event.error().code == api::errc::gone) {
                if (auto relisted = co_await relist(*s); !relisted)
                    throw std::runtime_error("list: " + relisted.error().message);
                break;
            }
            if (!event || !*event)
                break; // broken or ended: watch again from the last resourceVersion
            const json::watch_event& e = **event;
            if (const json::value* rv = e.object.at("metadata", "resourceVersion"))
                s->resource_version = rv->string_or(s->resource_version);
            if (e.type == json::event_type::added || e.type == json::event_type::modified ||
                e.type == json::event_type::deleted)
                observe(*s, e.object, e.type == json::event_type::deleted);
        }
    }
}

awaitable<void> creator(std::shared_ptr<converge_state> s) {
    const api::resource& r = custom_resource(s->cfg.kind);
    client::client& c = *s->client;
    while (s->next < s->cfg.count) {
        json::value object = generated_object(s->cfg.kind, s->cfg.namespace_, s->next++);
        auto send = [&] { return c.create(r, s->cfg.namespace_, object); };
        auto created = co_await with_retries<json::value>(send);
        if (!created) {
            ++s->create_failures;
            if (s->first_error.empty())
                s->first_error = created.error().message;
        }
    }
}

} // namespace

awaitable<int> run_converge(std::shared_ptr<client::client> c, bench_config cfg) {
    using namespace awaitable_operators;
    auto s = std::make_shared<converge_state>();
    s->client = c;
    s->cfg = cfg;
    if (auto listed = co_await relist(*s); !listed)
        throw std::runtime_error("list: " + listed.error().message);
    if (!s->converged.empty())
        throw std::runtime_error("namespace " + cfg.namespace_ + " already holds converged objects");

    // The watch reports here; on a timeout it is left behind (the process exits).
    struct watch_outcome {
        explicit watch_outcome(asio::any_io_executor ex)
            : done(ex, std::chrono::steady_clock::time_point::max()) {}
        asio::steady_timer done;
        bool running = true;
        std::exception_ptr error;
    };
    auto watch = std::make_shared<watch_outcome>(co_await asio::this_coro::executor);
    asio::co_spawn(watch->done.get_executor(), watch_until_converged(s), [watch](std::exception_ptr ep) {
        watch->error = ep;
        watch->running = false;
        watch->done.cancel();
    });

    double cpu0 = own_cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    auto work = [s](int) { return creator(s); };
    co_await run_workers(cfg.concurrency, work);
    double created = seconds_since(t0);
    if (watch->running) {
        auto deadline = t0 + cfg.timeout;
        auto left =
            std::max(deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration(1s));
        co_await (watch->done.async_wait(use_tuple) || sleep_for(left));
    }
    std::printf("create_seconds=%.3f\n", created);
    std::printf("converged=%zu\n", s->converged.size());
    if (s->all_converged)
        std::printf("converge_seconds=%.3f\n", std::chrono::duration<double>(*s->all_converged - t0).count());
    std::printf("driver_cpu_seconds=%.3f\n", own_cpu_seconds() - cpu0);
    if (s->create_failures > 0)
        std::printf(
            "create_failures=%d\ncreate_first_error=%s\n", s->create_failures, s->first_error.c_str());
    if (watch->error && !s->all_converged)
        std::rethrow_exception(watch->error);
    co_return s->all_converged && s->create_failures == 0 ? 0 : 1;
}

} // namespace kubecoro::bench
