// The floor: the API writes the operator makes to converge the generated objects, issued as fast
// as the API server accepts them — no watch, no cache, no reconcile. Each object is created, then
// gets what its controller would write, rendered by the controller's own pure functions:
//   Database:   create, finalizer (JSON patch), Secret, 2 Services, StatefulSet, backup PVC and
//               CronJob (server-side apply), status (apply), the "Creating" Event (create);
//   HelloWorld: create, ConfigMap (apply), status (apply).
// `concurrency` workers take the next object until none is left.
#include "bench.hpp"
#include "database/controller.hpp"
#include "database/password.hpp"
#include "database/render.hpp"
#include "database/spec.hpp"
#include "database/status.hpp"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/apply.hpp>
#include <kubecoro/runtime/conditions.hpp>
#include <kubecoro/runtime/event_recorder.hpp>
#include <kubecoro/runtime/finalizer.hpp>

#include <cstdio>
#include <stdexcept>
#include <vector>

namespace kubecoro::bench {
namespace {

namespace db = controllers::database;

struct floor_state {
    std::shared_ptr<client::client> client;
    bench_config cfg;
    int next = 0;     // the next object to take
    int finished = 0; // objects with every write done
    int failed = 0;   // objects whose writes stopped at an error
    std::string first_error;
    db::api_versions versions; // CronJob and PDB versions the server serves
    api::resource events{"", "v1", "events", "Event"};
};

void failure(floor_state& s, const std::string& what, const core::error& e) {
    ++s.failed;
    if (s.first_error.empty())
        s.first_error = what + ": " + e.message;
}

const api::resource* child_resource(std::string_view kind) {
    static const api::resource children[] = {
        {"", "v1", "secrets", "Secret"},
        {"", "v1", "services", "Service"},
        {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"},
        {"apps", "v1", "statefulsets", "StatefulSet"},
        {"policy", "v1beta1", "poddisruptionbudgets", "PodDisruptionBudget"},
        {"batch", "v1beta1", "cronjobs", "CronJob"},
        {"", "v1", "configmaps", "ConfigMap"},
    };
    for (const auto& r : children)
        if (r.kind == kind)
            return &r;
    return nullptr;
}

// The resource of a rendered child, at the apiVersion it was rendered with.
std::optional<api::resource> resource_of(const json::value& child) {
    const api::resource* r = child_resource(child.at("kind") ? child.at("kind")->string_or("") : "");
    if (!r)
        return std::nullopt;
    api::resource out = *r;
    std::string api_version = child.at("apiVersion") ? child.at("apiVersion")->string_or("") : "";
    auto slash = api_version.find('/');
    out.version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
    return out;
}

awaitable<core::result<json::value>> create_object(floor_state& s, int i) {
    json::value object = generated_object(s.cfg.kind, s.cfg.namespace_, i);
    const api::resource& r = custom_resource(s.cfg.kind);
    client::client& c = *s.client;
    auto send = [&] { return c.create(r, s.cfg.namespace_, object); };
    co_return co_await with_retries<json::value>(send);
}

awaitable<bool> apply_child(floor_state& s, const json::value& child) {
    auto r = resource_of(child);
    if (!r) {
        failure(s, "render", core::error{core::errc::invalid_argument, "a child of an unknown kind"});
        co_return false;
    }
    client::client& c = *s.client;
    auto send = [&] { return runtime::apply(c, *r, child, s.cfg.field_manager); };
    auto applied = co_await with_retries<json::value>(send);
    if (!applied)
        failure(s, "apply " + r->kind, applied.error());
    co_return bool(applied);
}

awaitable<bool> apply_status(floor_state& s, const json::value& body) {
    client::client& c = *s.client;
    const api::resource& r = custom_resource(s.cfg.kind);
    auto send = [&] { return runtime::apply_status(c, r, body, s.cfg.field_manager); };
    auto written = co_await with_retries<json::value>(send);
    if (!written)
        failure(s, "status", written.error());
    co_return bool(written);
}

awaitable<void> floor_database(floor_state& s, int i) {
    auto created = co_await create_object(s, i);
    if (!created) {
        failure(s, "create", created.error());
        co_return;
    }
    api::object_meta meta = json::decode_meta(*created);
    client::client& c = *s.client;
    const api::resource& dbs = custom_resource(kind::database);
    const std::string fin(db::finalizer);
    auto add_finalizer = [&] { return runtime::ensure_finalizer(c, dbs, meta, fin); };
    auto finalized = co_await with_retries<void>(add_finalizer);
    if (!finalized) {
        failure(s, "finalizer", finalized.error());
        co_return;
    }
    auto spec = db::parse_spec(*created);
    auto app = db::generate_password();
    auto superuser = db::generate_password();
    if (!spec || !app || !superuser) {
        failure(s, "spec", !spec ? spec.error() : !app ? app.error() : superuser.error());
        co_return;
    }
    db::observed_state nothing_yet;
    auto children = db::render_children(meta, *spec, {*app, *superuser}, nothing_yet, s.versions);
    for (const auto& child : children)
        if (!co_await apply_child(s, child))
            co_return;

    db::status_input in;
    in.meta = meta;
    in.spec = *spec;
    in.now = runtime::now_rfc3339(std::chrono::system_clock::now());
    json::value status = db::render_status(meta, db::compute_status(in));
    if (!co_await apply_status(s, status))
        co_return;

    runtime::event_record creating{
        runtime::involved(dbs, meta),
        runtime::event_type::normal,
        "Creating",
        "creating " + std::string(db::to_string(spec->engine)) + " " + spec->version,
        std::chrono::steady_clock::now(),
        std::chrono::system_clock::now(),
    };
    runtime::event_recorder_config recorder{.component = "database"};
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".%x", static_cast<unsigned>(i));
    json::value event = runtime::render_event(creating, recorder, meta.name + suffix);
    auto send = [&] { return c.create(s.events, meta.namespace_, event); };
    auto recorded = co_await with_retries<json::value>(send);
    if (!recorded) {
        failure(s, "event", recorded.error());
        co_return;
    }
    ++s.finished;
}

awaitable<void> floor_helloworld(floor_state& s, int i) {
    auto created = co_await create_object(s, i);
    if (!created) {
        failure(s, "create", created.error());
        co_return;
    }
    // The writes the controller makes: its ConfigMap and its status.
    api::object_meta meta = json::decode_meta(*created);
    const json::value* message = created->at("spec", "message");
    if (!message || !message->is_string()) {
        failure(s, "spec", core::error{core::errc::invalid_argument, "spec.message"});
        co_return;
    }
    json::value configmap = json::object{
        {"apiVersion", "v1"},
        {"kind", "ConfigMap"},
        {"metadata",
         json::object{
             {"name", meta.name},
             {"namespace", meta.namespace_},
             {"labels",
              json::object{{"app.kubernetes.io/managed-by", "kubecoro"},
                           {"app.kubernetes.io/instance", meta.name}}},
             {"ownerReferences",
              json::array{runtime::to_json(
                  runtime::owner_reference_to(meta, "kubecoro.dev/v1alpha1", "HelloWorld"))}},
         }},
        {"data", json::object{{"message", *message}}},
    };
    if (!co_await apply_child(s, configmap))
        co_return;
    runtime::condition ready{.type = "Ready",
                             .status = "True",
                             .reason = "ConfigMapApplied",
                             .message = "ConfigMap " + meta.name + " holds the message",
                             .observed_generation = meta.generation};
    std::vector<runtime::condition> conditions;
    runtime::set_condition(conditions, ready, runtime::now_rfc3339(std::chrono::system_clock::now()));
    json::value status = json::object{
        {"apiVersion", "kubecoro.dev/v1alpha1"},
        {"kind", "HelloWorld"},
        {"metadata", json::object{{"name", meta.name}, {"namespace", meta.namespace_}}},
        {"status",
         json::object{{"observedGeneration", meta.generation}, {"conditions", runtime::to_json(conditions)}}},
    };
    if (!co_await apply_status(s, status))
        co_return;
    ++s.finished;
}

awaitable<void> worker(std::shared_ptr<floor_state> s) {
    while (s->next < s->cfg.count) {
        int i = s->next++;
        if (s->cfg.kind == kind::database)
            co_await floor_database(*s, i);
        else
            co_await floor_helloworld(*s, i);
    }
}

// The first of v1, v1beta1 that the server serves for group/plural (as the controller discovers).
awaitable<std::string> served_version(client::client& c, std::string group, std::string plural) {
    const std::vector<std::string> newest_first{"v1", "v1beta1"};
    auto found = co_await c.discover(group, newest_first, plural);
    co_return found ? found->api_version() : group + "/v1beta1";
}

} // namespace

awaitable<int>
run_floor(std::shared_ptr<client::client> c, bench_config cfg, std::shared_ptr<request_counts> n) {
    auto s = std::make_shared<floor_state>();
    s->client = c;
    s->cfg = cfg;
    if (cfg.kind == kind::database) {
        std::string policy = "policy", pdbs = "poddisruptionbudgets", batch = "batch", cronjobs = "cronjobs";
        s->versions.pdb = co_await served_version(*c, policy, pdbs);
        s->versions.cronjob = co_await served_version(*c, batch, cronjobs);
    }
    *n = request_counts{}; // count the writes only
    double cpu0 = own_cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    auto work = [s](int) { return worker(s); };
    co_await run_workers(cfg.concurrency, work);
    double took = seconds_since(t0);

    std::uint64_t writes = 0;
    for (const auto& [method, count] : n->by_method)
        if (method != "GET") {
            writes += count;
            std::printf("floor_requests_%s=%llu\n", method.c_str(), static_cast<unsigned long long>(count));
        }
    std::printf("floor_seconds=%.3f\n", took);
    std::printf("floor_objects=%d\n", s->finished);
    std::printf("floor_writes=%llu\n", static_cast<unsigned long long>(writes));
    std::printf("floor_writes_per_second=%.1f\n", took > 0 ? static_cast<double>(writes) / took : 0.0);
    std::printf("floor_failed_requests=%llu\n", static_cast<unsigned long long>(n->failed));
    std::printf("floor_client_cpu_seconds=%.3f\n", own_cpu_seconds() - cpu0);
    if (s->failed > 0)
        std::printf("floor_failed_objects=%d\nfloor_first_error=%s\n", s->failed, s->first_error.c_str());
    co_return s->failed == 0 ? 0 : 1;
}

} // namespace kubecoro::bench
