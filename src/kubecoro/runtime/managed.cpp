#include <kubecoro/api/errc.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/apply.hpp>
#include <kubecoro/runtime/drift.hpp>
#include <kubecoro/runtime/finalizer.hpp>
#include <kubecoro/runtime/managed.hpp>

#include <algorithm>
#include <memory>

namespace kubecoro::runtime {

watch_filter managed_children() {
    return {std::string(managed_by_label) + "=" + std::string(managed_by), ""};
}

// outcome

namespace {

condition ready_condition(std::string status, std::string reason, std::string message) {
    return condition{.type = "Ready",
                     .status = std::move(status),
                     .reason = std::move(reason),
                     .message = std::move(message)};
}

} // namespace

outcome outcome::ready(std::string reason, std::string message) {
    outcome o;
    o.conditions.push_back(ready_condition("True", std::move(reason), std::move(message)));
    return o;
}

outcome outcome::progressing(std::string reason, std::string message) {
    outcome o;
    o.result = kind::progressing;
    o.conditions.push_back(ready_condition("False", std::move(reason), std::move(message)));
    return o;
}

outcome outcome::failed(core::error e, std::string reason) {
    outcome o;
    o.result = kind::failed;
    o.with(ready_condition("False", std::move(reason), e.message), true);
    o.error = std::move(e);
    return o;
}

outcome outcome::refused(std::string reason, std::string message) {
    outcome o;
    o.result = kind::refused;
    o.with(ready_condition("False", std::move(reason), message), true);
    o.error = core::error{core::errc::invalid_argument, std::move(message)};
    return o;
}

outcome& outcome::with(condition c, bool announce) {
    if (announce && std::find(announced.begin(), announced.end(), c.type) == announced.end())
        announced.push_back(c.type);
    auto same = std::find_if(
        conditions.begin(), conditions.end(), [&](const condition& x) { return x.type == c.type; });
    if (same != conditions.end())
        *same = std::move(c);
    else
        conditions.push_back(std::move(c));
    return *this;
}

outcome& outcome::field(std::string key, json::value v) {
    status.set(std::move(key), std::move(v));
    return *this;
}

outcome& outcome::again_after(std::chrono::steady_clock::duration d) {
    requeue = d;
    return *this;
}

const condition* outcome::find(std::string_view type) const {
    return find_condition(conditions, type);
}

// managed_context

namespace {

std::vector<condition> conditions_of(const json::value* status) {
    if (const json::value* c = status ? status->at("conditions") : nullptr)
        if (auto decoded = conditions_from_json(*c))
            return std::move(*decoded);
    return {};
}

} // namespace

managed_context::managed_context(reconcile_context base, object_ptr primary, api::resource primary_resource)
    : base_(std::move(base))
    , primary_(std::move(primary))
    , primary_resource_(std::move(primary_resource)) {
    const json::value* status = primary_->body.at("status");
    previous_ = conditions_of(status);
    status_ = status ? *status : json::value();
    resource_version_ = primary_->meta.resource_version;
}

json::value
managed_context::complete(const api::resource& r, std::string name, json::value object, child_options o) {
    json::object* given = object.if_object();
    json::object out{{"apiVersion", r.api_version()}, {"kind", r.kind}};
    json::object m;
    if (const json::value* v = given ? given->find("metadata") : nullptr; v && v->if_object())
        m = *v->if_object();
    m.set("name", std::move(name));
    if (r.scope == api::scope::namespaced)
        m.set("namespace", namespace_());
    json::object labels;
    if (const json::value* l = m.find("labels"); l && l->if_object())
        labels = *l->if_object();
    if (!labels.find(managed_by_label))
        labels.set(std::string(managed_by_label), std::string(managed_by));
    if (!labels.find(instance_label))
        labels.set(std::string(instance_label), primary_->meta.name);
    m.set("labels", std::move(labels));
    if (o.owned && !m.find("ownerReferences")) {
        json::array refs;
        refs.push_back(to_json(owner_reference_to(primary_->meta, primary_resource_)));
        m.set("ownerReferences", std::move(refs));
    }
    out.set("metadata", std::move(m));
    if (given)
        for (auto& [key, v] : *given)
            if (key != "apiVersion" && key != "kind" && key != "metadata")
                out.set(key, std::move(v));
    return out;
}

void managed_context::child(const api::resource& r, std::string name, json::value object, child_options o) {
    declared_.emplace_back(r.kind, name);
    json::value desired = complete(r, name, std::move(object), o);
    pending_.push_back({r, std::move(name), std::move(desired)});
}

awaitable<core::result<json::value>>
managed_context::apply(const api::resource& r, std::string name, json::value object, child_options o) {
    declared_.emplace_back(r.kind, name);
    json::value desired = complete(r, name, std::move(object), o);
    co_return co_await apply_if_drifted(r, name, std::move(desired));
}

awaitable<core::result<json::value>>
managed_context::apply_if_drifted(const api::resource& r, const std::string& name, json::value desired) {
    if (object_ptr current = cached(r, name)) {
        json::value body = current->tree(); // decoded once, for the comparison and the answer
        if (is_applied(desired, *current, body))
            co_return whole(*current, std::move(body));
    }
    co_return co_await runtime::apply(client(), r, std::move(desired), field_manager());
}

awaitable<core::result<json::value>>
managed_context::apply(const api::resource& r, json::value object, child_options o) {
    const json::value* name = object.at("metadata", "name");
    std::string n = name ? name->string_or("") : std::string();
    if (n.empty())
        co_return core::fail(core::errc::invalid_argument, "a " + r.kind + " without metadata.name");
    co_return co_await apply(r, std::move(n), std::move(object), o);
}

object_ptr managed_context::cached(const api::resource& r, std::string_view name) const {
    const store* s = base_.cache(r);
    if (!s)
        return nullptr;
    return s->get(r.scope == api::scope::namespaced ? std::string_view(namespace_()) : std::string_view(),
                  name);
}

const condition* managed_context::previous(std::string_view type) const {
    return find_condition(previous_, type);
}

std::chrono::system_clock::time_point managed_context::now() const {
    return base_.now();
}

void managed_context::record(event_type type, std::string reason, std::string message) {
    events_.push_back({type, std::move(reason), std::move(message)});
}

awaitable<core::result<bool>> managed_context::write_status(const outcome& o) {
    const std::string now_text = now_rfc3339(now());
    std::vector<condition> conditions = previous_;
    std::vector<said> changed;
    for (condition c : o.conditions) {
        c.observed_generation = meta().generation;
        c.message = clip_message(std::move(c.message));
        const condition* before = find_condition(previous_, c.type);
        bool announce = std::find(o.announced.begin(), o.announced.end(), c.type) != o.announced.end();
        if (announce && (!before || before->status != c.status || before->reason != c.reason ||
                         before->message != c.message))
            changed.push_back(
                {c.status == "False" ? event_type::warning : event_type::normal, c.reason, c.message});
        set_condition(conditions, std::move(c), now_text);
    }
    json::object status = o.status;
    status.set("observedGeneration", meta().generation);
    status.set("conditions", to_json(conditions));
    json::value desired = std::move(status);
    if (!status_.is_null() && contains(status_, desired))
        co_return false;

    api::object_meta target;
    target.name = name();
    target.namespace_ = namespace_();
    json::value body = json::object{
        {"apiVersion", primary_resource_.api_version()},
        {"kind", primary_resource_.kind},
        {"metadata", json::encode_meta(target)},
        {"status", desired},
    };
    require_resource_version(body, resource_version_);
    auto written = co_await apply_status(client(), primary_resource_, std::move(body), field_manager());
    if (!written)
        co_return core::fail(written.error());
    // A second write in this reconcile compares with (and is conditional on) this one.
    if (const json::value* s = written->at("status"))
        status_ = *s;
    if (const json::value* rv = written->at("metadata", "resourceVersion"))
        resource_version_ = rv->string_or(resource_version_);
    previous_ = std::move(conditions);
    for (said& s : changed)
        announcements_.push_back(std::move(s));
    co_return true;
}

// The protocol

namespace {

bool complete_outcome(const outcome& o) {
    return o.result == outcome::kind::ready || o.result == outcome::kind::progressing;
}

outcome apply_failed(outcome o, core::error e) {
    o.result = outcome::kind::failed;
    o.with(ready_condition("False", "ApplyFailed", e.message), true);
    o.error = std::move(e);
    return o;
}

// Applies the declared children that drifted, then deletes owned children no longer declared.
awaitable<outcome> converge_children(managed_context& ctx, const managed_steps& steps, outcome o) {
    for (auto& c : ctx.pending()) {
        auto applied = co_await ctx.apply_if_drifted(c.resource, c.name, std::move(c.object));
        if (!applied)
            co_return apply_failed(std::move(o), applied.error());
    }
    ctx.pending().clear();
    if (ctx.declared().empty())
        co_return o; // a reconcile that declares nothing does not mean "no children"
    for (const api::resource& r : steps.owned) {
        const store* s = ctx.cache(r);
        if (!s)
            continue;
        for (const object_ptr& child : s->owned_by(ctx.meta().uid)) {
            std::pair<std::string, std::string> id{r.kind, child->meta.name};
            if (std::find(ctx.declared().begin(), ctx.declared().end(), id) != ctx.declared().end())
                continue;
            api::delete_options background{.propagation_policy = api::propagation::background};
            background.precondition_uid = child->meta.uid;
            auto removed =
                co_await ctx.client().remove(r, child->meta.namespace_, child->meta.name, background);
            if (!removed && removed.error().code != api::errc::not_found)
                co_return apply_failed(std::move(o), removed.error());
            ctx.log().info("deleted a child no longer wanted",
                           {{"kind", r.kind}, {"child", child->meta.name}});
        }
    }
    co_return o;
}

void say(managed_context& ctx) {
    for (const auto& e : ctx.announcements())
        ctx.base().record(e.type, e.reason, e.message);
    for (const auto& e : ctx.events())
        ctx.base().record(e.type, e.reason, e.message);
    ctx.announcements().clear();
    ctx.events().clear();
}

// Writes the status, says the events, and turns the outcome into what the queue does next.
awaitable<reconcile_result> conclude(managed_context& ctx, const outcome& o) {
    auto wrote = co_await ctx.write_status(o);
    say(ctx);
    if (!wrote && o.result != outcome::kind::failed)
        co_return reconcile_result::from_error(wrote.error());
    switch (o.result) {
    case outcome::kind::ready:
    case outcome::kind::progressing:
        co_return o.requeue ? reconcile_result::requeue_after(*o.requeue) : reconcile_result::done();
    case outcome::kind::failed:
        co_return reconcile_result::from_error(o.error);
    case outcome::kind::refused:
        break;
    }
    co_return reconcile_result::terminal(o.error);
}

// The object is being deleted and carries the finalizer: clean up, then let it go.
awaitable<reconcile_result> finish_deletion(managed_context& ctx, const managed_steps& steps) {
    outcome o = co_await steps.finalize(ctx);
    if (o.result == outcome::kind::refused)
        co_return co_await conclude(ctx, o); // held: the finalizer stays until the object changes
    if (o.result == outcome::kind::failed) {
        ctx.record(event_type::warning, "CleanupFailed", o.error.message);
        say(ctx);
        co_return reconcile_result::from_error(o.error);
    }
    say(ctx);
    if (auto r = co_await remove_finalizer(ctx.client(), ctx.primary_resource(), ctx.meta(), steps.finalizer);
        !r) {
        ctx.base().record(event_type::warning,
                          "CleanupFailed",
                          "removing finalizer " + steps.finalizer + ": " + r.error().message);
        co_return reconcile_result::from_error(r.error());
    }
    co_return reconcile_result::done();
}

awaitable<reconcile_result>
reconcile_managed(api::resource primary, std::shared_ptr<const managed_steps> steps, reconcile_context base) {
    object_ptr p = base.get();
    if (!p)
        co_return reconcile_result::done();
    managed_context ctx(std::move(base), p, std::move(primary));
    if (!steps->finalizer.empty()) {
        switch (decide_finalizer(p->meta, steps->finalizer)) {
        case finalizer_step::released:
            co_return reconcile_result::done();
        case finalizer_step::cleanup:
            co_return co_await finish_deletion(ctx, *steps);
        case finalizer_step::add:
            // An invalid spec creates nothing, so there is nothing to clean up: no finalizer.
            if (!steps->valid(*p))
                break;
            if (auto r = co_await ensure_finalizer(
                    ctx.client(), ctx.primary_resource(), p->meta, steps->finalizer);
                !r)
                co_return reconcile_result::from_error(r.error());
            // Its watch event brings the object back; a status write now would name the
            // resourceVersion from before the finalizer and fail.
            co_return reconcile_result::done();
        case finalizer_step::proceed:
            break;
        }
    } else if (p->meta.deletion_timestamp) {
        co_return reconcile_result::done(); // the children go with it (garbage collection)
    }
    outcome o = co_await steps->reconcile(ctx);
    if (complete_outcome(o))
        o = co_await converge_children(ctx, *steps, std::move(o));
    co_return co_await conclude(ctx, o);
}

} // namespace

reconcile_fn managed_reconcile(api::resource primary, managed_steps steps) {
    auto shared = std::make_shared<const managed_steps>(std::move(steps));
    return [primary = std::move(primary), shared](reconcile_context ctx) {
        return reconcile_managed(primary, shared, std::move(ctx));
    };
}

} // namespace kubecoro::runtime
