// An API server inside the test process, for unit tests of controllers (what controller-runtime's
// fake client and kube-rs' mock service give their users). Objects live in memory; the client's
// requests reach it through client_options::transport, so the controller under test runs its
// real client, runtime and reconcile code; watchers read it through watch sources.
//
//   asio::io_context io;
//   testing::fake_cluster cluster(io);
//   cluster.put(helloworlds, hello);                      // as kubectl apply would
//   testing::running_controller hw(cluster, manager::registered_controllers().at("helloworld"));
//   REQUIRE(hw.settle());                                 // until nothing is left to do
//   CHECK(cluster.count("PATCH", "/status") == 1);
//
// What it models: one resourceVersion counter; generation moves when anything outside metadata
// and status changes; a main-resource write leaves status alone and a status write changes only
// status; server-side apply merges the applied fields into the object (objects key by key, lists
// and scalars replaced; no field-manager bookkeeping, so a field dropped from an apply stays);
// metadata.resourceVersion in an apply or a delete precondition is checked (409); merge patches
// follow RFC 7386; JSON patches do test/add/remove/replace; an object with finalizers is marked
// deleted and goes with its last finalizer; a deleted object takes the objects it controls with
// it at once (garbage collection). Label selectors: k=v and k (exists), comma-separated.
#pragma once

#include <kubecoro/api/resource.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/json/value.hpp>
#include <kubecoro/manager/manager.hpp>
#include <kubecoro/runtime/controller.hpp>
#include <kubecoro/runtime/watcher.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::testing {

// The string at `path` of an object from fake_cluster::get ("<absent>" when there is none).
std::string text(const std::optional<json::value>& o, auto... path) {
    const json::value* v = o ? o->at(path...) : nullptr;
    return v ? v->string_or("") : std::string("<absent>");
}

class fake_cluster {
public:
    explicit fake_cluster(asio::io_context& io);
    ~fake_cluster();

    // A client whose requests this cluster answers.
    std::shared_ptr<client::client> client();
    // Lists and watches of `r`, for controller_config::make_source.
    runtime::watch_source source(const api::resource& r);
    // A cache for several controllers to share (controller_env::informers), reading from here.
    std::shared_ptr<runtime::informer_cache> informers();
    // Lists of `r` asked for so far (one per namespace per watcher, and one per relist).
    std::size_t lists(const api::resource& r) const;
    // Serves `r` in discovery (the usual built-in kinds are served from the start).
    void serve(const api::resource& r);

    // Creates or replaces an object as a user would (metadata filled in, no request recorded).
    json::value put(const api::resource& r, json::value object);
    std::optional<json::value> get(const api::resource& r, std::string_view ns, std::string_view name) const;
    std::vector<json::value> list(const api::resource& r, std::string_view ns = {}) const;
    // As kubectl delete: marked deleted while finalizers remain.
    void remove(const api::resource& r, std::string_view ns, std::string_view name);
    // Replaces the status (as the kind's own controller would, e.g. a StatefulSet's).
    void set_status(const api::resource& r, std::string_view ns, std::string_view name, json::value status);

    // The next `times` requests with this method whose path contains `path_part` (ends with it,
    // when it ends with '$') fail with `status` (a Status body with `message`) without reaching
    // the objects.
    void fail(std::string method, std::string path_part, int status, std::string message, int times = 1);

    // Lists of `r` wait until release_lists(r) (a cache that has not synced yet).
    void hold_lists(const api::resource& r);
    void release_lists(const api::resource& r);

    // Requests with this method whose path contains `path_part` are answered after `d` (a slow
    // API server); cancelled while they wait, they fail with core::errc::cancelled.
    void slow(std::string method, std::string path_part, std::chrono::steady_clock::duration d);

    struct request {
        std::string method;
        std::string path; // without the query
        std::string query;
        std::string body;
        int status = 0;
    };
    const std::vector<request>& requests() const { return requests_; }
    // Requests with this method whose path contains `path_part` ("" for any).
    std::size_t count(std::string_view method, std::string_view path_part = {}) const;
    // How many times an Event with this reason was said (core/v1 count included).
    long said(std::string_view reason) const;

    // The wall clock the controllers read (controller_config::clock): starts at a fixed time and
    // moves only by advance().
    std::chrono::system_clock::time_point now() const { return now_; }
    void advance(std::chrono::system_clock::duration d) { now_ += d; }

    // Every open watch has read every event it will get.
    bool watches_caught_up() const;
    asio::io_context& io() { return io_; }

    struct state;

private:
    asio::io_context& io_;
    std::shared_ptr<state> state_;
    std::vector<request> requests_;
    std::chrono::system_clock::time_point now_;
    std::shared_ptr<client::client> client_;
};

// A controller from a factory (manager::registered_controllers()), built against a fake cluster
// (its client, watch sources and clock; no resync timer) and running on the cluster's io_context.
class running_controller {
public:
    // With `informers` (fake_cluster::informers()) it shares that cache with other controllers.
    running_controller(fake_cluster& cluster,
                       const manager::controller_factory& factory,
                       manager::options opts = {},
                       std::shared_ptr<runtime::informer_cache> informers = nullptr);
    ~running_controller();

    // Runs the io_context until the controller has nothing left to do: every watch event read,
    // no key ready or due within `horizon`, no reconcile running, no Event unsent. False when
    // that does not happen within `limit` (of the wall clock).
    bool settle(std::chrono::steady_clock::duration horizon = std::chrono::seconds(2),
                std::chrono::steady_clock::duration limit = std::chrono::seconds(20));
    runtime::controller& get() { return *controller_; }
    // Reconciles `ns/name` again (as a resync would).
    void resync(const std::string& ns, const std::string& name);
    // Reconciles started so far.
    std::uint64_t reconciles() const;

private:
    fake_cluster& cluster_;
    asio::io_context& io_;
    std::shared_ptr<runtime::controller> controller_;
    std::shared_ptr<bool> finished_;
    std::unique_ptr<metrics::registry> metrics_;
};

} // namespace kubecoro::testing
