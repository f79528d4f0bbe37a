// Managed resources: the protocol every controller of a custom resource follows, owned by the
// runtime, so that a controller only says what it wants. A controller is a spec decoder, a
// reconcile function that declares children and returns an outcome, and optionally a finalizer
// step:
//
//   runtime::managed<std::string>(helloworlds)
//       .decode(message)                        // a failure: Ready False InvalidSpec, said once
//       .owns(configmaps, runtime::keep_paths({{"data"}}))
//       .reconcile([](runtime::managed_context& ctx, const std::string& message) {
//           ctx.child(configmaps, ctx.name(), json::object{{"data", json::object{{"message", message}}}});
//           return runtime::outcome::ready("ConfigMapApplied", "the ConfigMap holds the message");
//       })
//       .build(env.builder("helloworld"));
//
// For each reconcile of a primary the runtime
//  1. does nothing for an object gone from the cache;
//  2. while it is being deleted, runs the finalizer step and then removes the finalizer (a failure
//     of either is retried with backoff and said in a CleanupFailed event; the step may show
//     progress with ctx.write_status first; a step that returns outcome::refused keeps the
//     finalizer and writes its status, until the object changes);
//  3. decodes the spec: a failure is outcome::refused("InvalidSpec", message), or what on_invalid
//     makes of it;
//  4. adds the finalizer before the reconcile function first runs, and comes back on its watch
//     event (an invalid spec creates nothing, so it gets no finalizer);
//  5. runs the reconcile function, which declares children (ctx.child, or ctx.apply to apply one
//     at once) and returns an outcome;
//  6. applies each declared child that drifted from the cache, with the primary as controller
//     owner and the managed-by and instance labels, then deletes owned children that this
//     (complete) reconcile no longer declared;
//  7. writes status {observedGeneration, conditions, the outcome's fields} only when it changed,
//     conditional on the resourceVersion it was computed from; lastTransitionTime moves only when
//     a condition's status does;
//  8. after a status write that took, says each announced condition that changed, once; then the
//     events the reconcile recorded;
//  9. returns done (or requeue_after) when ready or progressing, retry with backoff when failed,
//     and nothing until the object changes when refused.
#pragma once

#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/runtime/conditions.hpp>
#include <kubecoro/runtime/controller.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kubecoro::runtime {

// The value of app.kubernetes.io/managed-by on every child, and the owned kinds' watch filter.
inline constexpr std::string_view managed_by = "kubecoro";
inline constexpr std::string_view managed_by_label = "app.kubernetes.io/managed-by";
inline constexpr std::string_view instance_label = "app.kubernetes.io/instance";
watch_filter managed_children();

// What a reconcile came to.
struct outcome {
    enum class kind {
        ready,       // in sync
        progressing, // in sync as far as the operator goes; waiting for the world (pods starting)
        failed,      // an error: retried with backoff
        refused,     // the spec cannot be served: not again until the object changes
    };
    kind result = kind::ready;
    // Ready first, then any others; observedGeneration is filled in.
    std::vector<condition> conditions;
    // Condition types said as an event when they change (Warning when False, else Normal).
    std::vector<std::string> announced;
    json::object status; // more status fields, next to observedGeneration and conditions
    std::optional<std::chrono::steady_clock::duration> requeue;
    core::error error; // of a failed outcome

    static outcome ready(std::string reason, std::string message);
    // Ready False, and no error: looked at again on the next change (or `requeue`).
    static outcome progressing(std::string reason, std::string message);
    // Ready False with `reason` and the error's message, announced; retried with backoff.
    static outcome failed(core::error e, std::string reason = "ReconcileFailed");
    // Ready False with `reason` and `message`, announced; not retried until the object changes.
    static outcome refused(std::string reason, std::string message);

    // Adds (or replaces) a condition; `announce`: say it as an event when it changes.
    outcome& with(condition c, bool announce = false);
    outcome& field(std::string key, json::value v);
    outcome& again_after(std::chrono::steady_clock::duration d);
    const condition* find(std::string_view type) const;
};

struct child_options {
    // A controller ownerReference to the primary (garbage collected with it); false for children
    // that outlive it (then the instance label is how it is found).
    bool owned = true;
};

class managed_context {
public:
    const object& primary() const { return *primary_; }
    const api::object_meta& meta() const { return primary_->meta; }
    const std::string& name() const { return primary_->meta.name; }
    const std::string& namespace_() const { return primary_->meta.namespace_; }

    // Declares a child of resource `r` named `name` in the primary's namespace: `object` holds
    // what the controller sets (data, spec, metadata labels and annotations); apiVersion, kind,
    // name, namespace, the managed-by and instance labels and (when owned) the owner reference are
    // added. Applied after the reconcile function returns, when it drifted from the cache.
    void child(const api::resource& r, std::string name, json::value object, child_options o = {});
    // The same, applied now (when it drifted): the object as the server returned it, or as cached
    // when nothing needed applying.
    awaitable<core::result<json::value>>
    apply(const api::resource& r, std::string name, json::value object, child_options o = {});
    // A complete child as the controller renders it (metadata.name set), declared and applied now.
    awaitable<core::result<json::value>>
    apply(const api::resource& r, json::value object, child_options o = {});

    // A cached object in the primary's namespace (nullptr when absent or not watched).
    object_ptr cached(const api::resource& r, std::string_view name) const;
    const store* cache(const api::resource& r) const { return base_.cache(r); }
    std::vector<object_ptr> owned(const api::resource& r) const { return base_.owned(r); }
    client::client& client() const { return base_.client(); }
    const std::string& field_manager() const { return base_.field_manager(); }
    const log::logger& log() const { return base_.log(); }
    // A condition of the status as it was before this reconcile (nullptr when absent).
    const condition* previous(std::string_view type) const;
    // The controller's clock (controller_config::clock).
    std::chrono::system_clock::time_point now() const;
    // An Event about the primary, sent after the status write (whether it wrote or not).
    void record(event_type type, std::string reason, std::string message);

    // Writes the status of `o` now, when it changed (what the runtime does after the reconcile);
    // true when it wrote. For a finalizer step that shows progress before it acts.
    awaitable<core::result<bool>> write_status(const outcome& o);

    managed_context(reconcile_context base, object_ptr primary, api::resource primary_resource);
    // Internal: what the runtime does with the declarations.
    struct declared_child {
        api::resource resource;
        std::string name;
        json::value object;
    };
    struct said {
        event_type type;
        std::string reason, message;
    };
    std::vector<declared_child>& pending() { return pending_; }
    // Applies a completed child unless the cache already holds it; the object as applied or cached.
    awaitable<core::result<json::value>>
    apply_if_drifted(const api::resource& r, const std::string& name, json::value desired);
    const std::vector<std::pair<std::string, std::string>>& declared() const { return declared_; }
    std::vector<said>& events() { return events_; }
    // The announcements of the last status write that took.
    std::vector<said>& announcements() { return announcements_; }
    const reconcile_context& base() const { return base_; }
    const api::resource& primary_resource() const { return primary_resource_; }

private:
    json::value complete(const api::resource& r, std::string name, json::value object, child_options o);

    reconcile_context base_;
    object_ptr primary_;
    api::resource primary_resource_;
    std::vector<condition> previous_;
    std::vector<declared_child> pending_;
    std::vector<std::pair<std::string, std::string>> declared_; // (kind, name)
    std::vector<said> events_;
    std::vector<said> announcements_;
    json::value status_; // the status as last read or written
    std::string resource_version_;
};

// The type-erased steps, built by managed<Spec>.
struct managed_steps {
    // Decodes the spec and runs the reconcile function.
    std::function<awaitable<outcome>(managed_context&)> reconcile;
    // Whether the spec decodes (for the finalizer decision).
    std::function<bool(const object&)> valid;
    std::string finalizer; // empty: no finalizer step
    std::function<awaitable<outcome>(managed_context&)> finalize;
    std::vector<api::resource> owned; // pruned of children no longer declared
};

// The reconcile function of a managed resource, for controller_builder::reconcile_with.
reconcile_fn managed_reconcile(api::resource primary, managed_steps steps);

template <class Spec>
class managed {
public:
    using decode_fn = std::function<core::result<Spec>(const object&)>;
    using reconcile_fn = std::function<awaitable<outcome>(managed_context&, const Spec&)>;
    // Spec is nullptr when the spec of the object being deleted does not decode.
    using finalize_fn = std::function<awaitable<outcome>(managed_context&, const Spec*)>;

    explicit managed(api::resource primary)
        : primary_(std::move(primary)) {}

    managed& decode(decode_fn f) {
        decode_ = std::move(f);
        return *this;
    }
    // `f` returns an outcome, or an awaitable<outcome> when it needs the API server.
    template <class F>
    managed& reconcile(F f) {
        if constexpr (std::is_same_v<std::invoke_result_t<F&, managed_context&, const Spec&>, outcome>)
            reconcile_ = [f = std::move(f)](managed_context& ctx, const Spec& s) -> awaitable<outcome> {
                co_return f(ctx, s);
            };
        else
            reconcile_ = std::move(f);
        return *this;
    }
    // What an invalid spec looks like in the status (default: outcome::refused("InvalidSpec", ...)).
    managed& on_invalid(std::function<outcome(managed_context&, const core::error&)> f) {
        invalid_ = std::move(f);
        return *this;
    }
    managed& finalizer(std::string name, finalize_fn f) {
        steps_.finalizer = std::move(name);
        finalize_ = std::move(f);
        return *this;
    }
    // Children with the primary as controller owner, filtered by the managed-by label; those a
    // complete reconcile no longer declares are deleted.
    managed& owns(api::resource r, projection p = keep_metadata(), watch_filter f = managed_children()) {
        steps_.owned.push_back(r);
        owned_.push_back({std::move(r), std::move(p), std::move(f)});
        return *this;
    }

    // The controller on `b` (from manager::controller_env::builder, which may already watch more).
    core::result<std::shared_ptr<controller>> build(controller_builder b) {
        if (!decode_ || !reconcile_)
            return core::fail(core::errc::invalid_argument,
                              "a managed " + primary_.kind + " needs a decoder and a reconcile function");
        b.for_resource(primary_);
        for (auto& o : owned_)
            b.owns(o.r, o.p, o.f);
        managed_steps steps = steps_;
        steps.valid = [d = decode_](const object& o) { return d(o).has_value(); };
        steps.reconcile =
            [d = decode_, r = reconcile_, i = invalid_](managed_context& ctx) -> awaitable<outcome> {
            auto spec = d(ctx.primary());
            if (!spec)
                co_return i ? i(ctx, spec.error()) : outcome::refused("InvalidSpec", spec.error().message);
            co_return co_await r(ctx, *spec);
        };
        if (finalize_)
            steps.finalize = [d = decode_, f = finalize_](managed_context& ctx) -> awaitable<outcome> {
                auto spec = d(ctx.primary());
                co_return co_await f(ctx, spec ? &*spec : nullptr);
            };
        return b.reconcile_with(managed_reconcile(primary_, std::move(steps))).build();
    }

private:
    struct owned_source {
        api::resource r;
        projection p;
        watch_filter f;
    };
    api::resource primary_;
    decode_fn decode_;
    reconcile_fn reconcile_;
    finalize_fn finalize_;
    std::function<outcome(managed_context&, const core::error&)> invalid_;
    managed_steps steps_;
    std::vector<owned_source> owned_;
};

} // namespace kubecoro::runtime
