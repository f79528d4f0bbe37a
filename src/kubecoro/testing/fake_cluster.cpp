#include <kubecoro/core/errc.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/metrics/metrics.hpp>
#include <kubecoro/runtime/conditions.hpp>
#include <kubecoro/testing/fake_cluster.hpp>

#include <algorithm>
#include <charconv>
#include <set>

namespace kubecoro::testing {

using namespace std::chrono_literals;

namespace {

// Errors only: tests read what the cluster holds, not the controllers' logs.
log::logger quiet_logger() {
    log::logger_config c;
    c.min_level = log::level::error;
    return log::logger(c);
}

// Where a request points: /api/v1/... or /apis/<group>/<version>/..., then
// [namespaces/<ns>/]<plural>[/<name>[/<subresource>]].
struct target {
    std::string group, version, plural, ns, name, subresource;
    bool discovery = false; // /api/v1 or /apis/<group>/<version> itself
};

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        auto end = s.find(sep, start);
        if (end == std::string_view::npos)
            end = s.size();
        if (end > start)
            out.emplace_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::string unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        int v = 0;
        if (s[i] == '%' && i + 2 < s.size() &&
            std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr == s.data() + i + 3) {
            out += static_cast<char>(v);
            i += 2;
            continue;
        }
        out += s[i] == '+' ? ' ' : s[i];
    }
    return out;
}

std::optional<target> parse_target(std::string_view path) {
    auto parts = split(path, '/');
    target t;
    std::size_t i = 0;
    if (parts.size() >= 2 && parts[0] == "api") {
        t.version = parts[1];
        i = 2;
    } else if (parts.size() >= 3 && parts[0] == "apis") {
        t.group = parts[1];
        t.version = parts[2];
        i = 3;
    } else {
        return std::nullopt;
    }
    if (i == parts.size()) {
        t.discovery = true;
        return t;
    }
    if (parts[i] == "namespaces" && i + 2 < parts.size()) {
        t.ns = parts[i + 1];
        i += 2;
    }
    t.plural = parts[i++];
    if (i < parts.size())
        t.name = parts[i++];
    if (i < parts.size())
        t.subresource = parts[i++];
    return t;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
    std::map<std::string, std::string> out;
    for (const auto& pair : split(q, '&')) {
        auto eq = pair.find('=');
        if (eq == std::string::npos)
            out[unescape(pair)] = "";
        else
            out[unescape(pair.substr(0, eq))] = unescape(pair.substr(eq + 1));
    }
    return out;
}

std::map<std::string, std::string> labels_of(const json::value& o) {
    std::map<std::string, std::string> out;
    if (const json::value* l = o.at("metadata", "labels"); l && l->if_object())
        for (const auto& [k, v] : *l->if_object())
            out[k] = v.string_or("");
    return out;
}

bool matches(const json::value& o, std::string_view selector) {
    const auto labels = labels_of(o);
    for (const auto& term : split(selector, ',')) {
        auto eq = term.find('=');
        if (eq == std::string::npos) {
            if (!labels.contains(term))
                return false;
            continue;
        }
        std::string key = term.substr(0, eq);
        std::string want = term.substr(term[eq + 1] == '=' ? eq + 2 : eq + 1);
        auto it = labels.find(key);
        if (it == labels.end() || it->second != want)
            return false;
    }
    return true;
}

json::value status_body(int code, std::string_view reason, std::string message) {
    return json::object{
        {"kind", "Status"},
        {"apiVersion", "v1"},
        {"status", "Failure"},
        {"message", std::move(message)},
        {"reason", reason},
        {"code", code},
    };
}

// Objects merged key by key; everything else replaced. Null removes (merge patch) when asked.
void merge_into(json::value& into, const json::value& patch, bool null_removes) {
    const json::object* p = patch.if_object();
    json::object* o = into.if_object();
    if (!p || !o) {
        into = patch;
        return;
    }
    for (const auto& [key, v] : *p) {
        if (v.is_null() && null_removes) {
            o->erase(key);
            continue;
        }
        json::value* existing = o->find(key);
        if (existing && existing->is_object() && v.is_object())
            merge_into(*existing, v, null_removes);
        else
            o->set(key, v);
    }
}

// The object without metadata and status: what generation counts.
json::value spec_part(const json::value& o) {
    json::value v = o;
    if (auto* fields = v.if_object()) {
        fields->erase("metadata");
        fields->erase("status");
    }
    return v;
}

json::value* pointer(json::value& root, std::string_view ptr, std::string* last) {
    auto parts = split(ptr, '/');
    if (parts.empty())
        return nullptr;
    json::value* v = &root;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        if (auto* o = v->if_object()) {
            v = o->find(parts[i]);
        } else if (auto* a = v->if_array()) {
            std::size_t idx = std::stoul(parts[i]);
            v = idx < a->size() ? &(*a)[idx] : nullptr;
        } else {
            v = nullptr;
        }
        if (!v)
            return nullptr;
    }
    *last = parts.back();
    return v;
}

} // namespace

struct fake_cluster::state {
    struct entry {
        std::string resource; // "<group>/<plural>"
        std::string ns;
        json::event_type type;
        json::value object;
        std::int64_t rv;
    };
    struct delay {
        std::string method, path_part;
        std::chrono::steady_clock::duration delay;
    };
    std::vector<delay> delays;
    struct injected {
        std::string method, path_part, message;
        int status;
        int times;
    };

    asio::io_context& io;
    std::map<std::string, std::map<std::pair<std::string, std::string>, json::value>> objects; // by resource
    std::map<std::string, api::resource> served; // by "<group>/<plural>"
    std::vector<entry> log;
    std::vector<injected> failures;
    std::int64_t rv = 100;
    std::int64_t uids = 0;
    std::shared_ptr<asio::steady_timer> changed;
    std::set<std::string> held;                         // resources whose lists wait for release()
    std::map<std::string, std::size_t> lists;           // lists served, by resource
    std::vector<std::shared_ptr<std::int64_t>> cursors; // of open watches
    std::vector<std::pair<std::string, std::string>> cursor_scopes;
    const std::chrono::system_clock::time_point* now = nullptr;

    explicit state(asio::io_context& i)
        : io(i)
        , changed(std::make_shared<asio::steady_timer>(i, asio::steady_timer::time_point::max())) {}

    static std::string key(const api::resource& r) { return r.group + "/" + r.plural; }

    void notify() {
        changed->cancel();
        changed = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
    }

    void record(const std::string& res, const std::string& ns, json::event_type type, const json::value& o) {
        log.push_back({res, ns, type, o, rv});
        notify();
    }

    std::string next_rv() { return std::to_string(++rv); }

    json::value* find(const std::string& res, const std::string& ns, const std::string& name) {
        auto r = objects.find(res);
        if (r == objects.end())
            return nullptr;
        auto o = r->second.find({ns, name});
        return o == r->second.end() ? nullptr : &o->second;
    }

    // Stores `o` (new or changed) with a new resourceVersion, and tells the watches.
    json::value store(const std::string& res, const std::string& ns, json::value o, bool created) {
        auto* meta = o.if_object() ? o.if_object()->find("metadata") : nullptr;
        if (meta && meta->if_object())
            meta->if_object()->set("resourceVersion", next_rv());
        std::string name = o.at("metadata", "name") ? o.at("metadata", "name")->string_or("") : "";
        objects[res][{ns, name}] = o;
        record(res, ns, created ? json::event_type::added : json::event_type::modified, o);
        return o;
    }

    void new_metadata(json::value& o, const std::string& ns) {
        json::object* fields = o.if_object();
        json::value& meta = (*fields)["metadata"];
        if (!meta.is_object())
            meta = json::object{};
        json::object* m = meta.if_object();
        if (!ns.empty())
            m->set("namespace", ns);
        if (const json::value* g = m->find("generateName"); g && !m->find("name"))
            m->set("name", g->string_or("") + std::to_string(++uids));
        m->set("uid", "uid-" + std::to_string(++uids));
        m->set("creationTimestamp", runtime::now_rfc3339(*now));
        m->set("generation", 1);
    }

    // Removes the object or, while it has finalizers, marks it deleted. Takes what it controls.
    void remove(const std::string& res, const std::string& ns, const std::string& name) {
        json::value* o = find(res, ns, name);
        if (!o)
            return;
        const json::value* fins = o->at("metadata", "finalizers");
        if (fins && fins->if_array() && !fins->if_array()->empty()) {
            if (!o->at("metadata", "deletionTimestamp")) {
                json::value changed = *o;
                (*changed.if_object())["metadata"].if_object()->set("deletionTimestamp",
                                                                    runtime::now_rfc3339(*now));
                store(res, ns, std::move(changed), false);
            }
            return;
        }
        json::value gone = *o;
        std::string uid = gone.at("metadata", "uid") ? gone.at("metadata", "uid")->string_or("") : "";
        objects[res].erase({ns, name});
        ++rv;
        record(res, ns, json::event_type::deleted, gone);
        collect_garbage(uid);
    }

    void collect_garbage(const std::string& owner_uid) {
        std::vector<std::tuple<std::string, std::string, std::string>> dependents;
        for (const auto& [res, items] : objects)
            for (const auto& [id, o] : items)
                if (const json::value* refs = o.at("metadata", "ownerReferences"); refs && refs->if_array())
                    for (const auto& ref : *refs->if_array())
                        if (ref.at("uid") && ref.at("uid")->string_or("") == owner_uid)
                            dependents.emplace_back(res, id.first, id.second);
        for (const auto& [res, ns, name] : dependents)
            remove(res, ns, name);
    }

    // After a write that may have removed the last finalizer of an object being deleted.
    void release_if_done(const std::string& res, const std::string& ns, const std::string& name) {
        json::value* o = find(res, ns, name);
        if (!o || !o->at("metadata", "deletionTimestamp"))
            return;
        const json::value* fins = o->at("metadata", "finalizers");
        if (!fins || !fins->if_array() || fins->if_array()->empty())
            remove(res, ns, name);
    }
};

fake_cluster::fake_cluster(asio::io_context& io)
    : io_(io)
    , state_(std::make_shared<state>(io))
    , now_(std::chrono::sys_days(std::chrono::year{2026} / 1 / 1) + 12h) {
    state_->now = &now_;
    for (const api::resource& r : {
             api::resource{"", "v1", "configmaps", "ConfigMap"},
             api::resource{"", "v1", "secrets", "Secret"},
             api::resource{"", "v1", "services", "Service"},
             api::resource{"", "v1", "pods", "Pod"},
             api::resource{"", "v1", "events", "Event"},
             api::resource{"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"},
             api::resource{"apps", "v1", "statefulsets", "StatefulSet"},
             api::resource{"batch", "v1", "jobs", "Job"},
             api::resource{"batch", "v1", "cronjobs", "CronJob"},
             api::resource{"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"},
             api::resource{"storage.k8s.io", "v1", "storageclasses", "StorageClass", api::scope::cluster},
         })
        serve(r);
}

fake_cluster::~fake_cluster() = default;

void fake_cluster::serve(const api::resource& r) {
    state_->served[state::key(r)] = r;
}

namespace {

using answer = core::result<client::response>;

client::response reply(int status, const json::value& body) {
    client::response r;
    r.status = status;
    r.fields.push_back({"Content-Type", "application/json"});
    r.body = json::write(body);
    return r;
}

client::response failure(int status, std::string_view reason, std::string message) {
    return reply(status, status_body(status, reason, std::move(message)));
}

} // namespace

namespace {

// One request against the objects.
client::response handle(fake_cluster::state& s, const http::request& req, const target& t) {
    if (t.discovery) {
        json::array resources;
        for (const auto& [key, r] : s.served)
            if (r.group == t.group && r.version == t.version)
                resources.push_back(json::object{
                    {"name", r.plural}, {"kind", r.kind}, {"namespaced", r.scope == api::scope::namespaced}});
        if (resources.empty())
            return failure(404, "NotFound", "the server could not find the requested resource");
        return reply(200, json::object{{"kind", "APIResourceList"}, {"resources", std::move(resources)}});
    }
    const std::string res = t.group + "/" + t.plural;
    auto served = s.served.find(res);
    if (served == s.served.end() || served->second.version != t.version)
        return failure(404, "NotFound", "the server could not find the requested resource");
    const api::resource& r = served->second;
    auto q = parse_query(
        req.target.find('?') == std::string::npos ? "" : req.target.substr(req.target.find('?') + 1));
    const std::string what = r.plural + (t.name.empty() ? "" : " \"" + t.name + "\"");

    if (req.method == "GET" && t.name.empty()) {
        json::array items;
        for (const auto& [id, o] : s.objects[res])
            if ((t.ns.empty() || id.first == t.ns) && matches(o, q["labelSelector"]))
                items.push_back(o);
        return reply(200,
                     json::object{{"kind", r.kind + "List"},
                                  {"apiVersion", r.api_version()},
                                  {"metadata", json::object{{"resourceVersion", std::to_string(s.rv)}}},
                                  {"items", std::move(items)}});
    }
    json::value* current = s.find(res, t.ns, t.name);
    if (req.method == "GET") {
        if (!current)
            return failure(404, "NotFound", what + " not found");
        return reply(200, *current);
    }

    auto body = req.body.empty() ? core::result<json::value>(json::value()) : json::parse(req.body);
    if (!body)
        return failure(400, "BadRequest", "undecodable body: " + body.error().message);

    if (req.method == "POST") {
        json::value o = *body;
        s.new_metadata(o, t.ns);
        std::string name = o.at("metadata", "name") ? o.at("metadata", "name")->string_or("") : "";
        if (s.find(res, t.ns, name))
            return failure(409, "AlreadyExists", r.plural + " \"" + name + "\" already exists");
        return reply(201, s.store(res, t.ns, std::move(o), true));
    }
    if (req.method == "DELETE") {
        if (!current)
            return failure(404, "NotFound", what + " not found");
        const json::value* uid = body->at("preconditions", "uid");
        const json::value* rv = body->at("preconditions", "resourceVersion");
        if ((uid && uid->string_or("") != current->at("metadata", "uid")->string_or("")) ||
            (rv && rv->string_or("") != current->at("metadata", "resourceVersion")->string_or("")))
            return failure(409, "Conflict", "Precondition failed for " + what);
        s.remove(res, t.ns, t.name);
        return reply(200, status_body(200, "", "deleted"));
    }

    const bool status_only = t.subresource == "status";
    std::string content_type;
    for (const auto& f : req.fields)
        if (f.name == "Content-Type")
            content_type = f.value;
    json::value next;
    bool created = false;
    if (req.method == "PUT") {
        if (!current)
            return failure(404, "NotFound", what + " not found");
        next = *body;
    } else if (req.method == "PATCH" && content_type == "application/apply-patch+yaml") {
        const json::value* want_rv = body->at("metadata", "resourceVersion");
        if (!current) {
            if (status_only)
                return failure(404, "NotFound", what + " not found");
            next = *body;
            s.new_metadata(next, t.ns);
            created = true;
        } else {
            if (want_rv &&
                want_rv->string_or("") != current->at("metadata", "resourceVersion")->string_or(""))
                return failure(409,
                               "Conflict",
                               "Operation cannot be fulfilled on " + what +
                                   ": the object has been modified; please apply your changes to the latest "
                                   "version and try again");
            next = *current;
            json::value patch = *body;
            if (auto* m = patch.if_object() ? patch.if_object()->find("metadata") : nullptr;
                m && m->if_object())
                m->if_object()->erase("resourceVersion");
            merge_into(next, patch, false);
        }
    } else if (req.method == "PATCH" && content_type == "application/merge-patch+json") {
        if (!current)
            return failure(404, "NotFound", what + " not found");
        next = *current;
        merge_into(next, *body, true);
    } else if (req.method == "PATCH" && content_type == "application/json-patch+json") {
        if (!current)
            return failure(404, "NotFound", what + " not found");
        next = *current;
        const json::array* ops = body->if_array();
        for (const auto& op : ops ? *ops : json::array{}) {
            std::string kind = op.at("op") ? op.at("op")->string_or("") : "";
            std::string path = op.at("path") ? op.at("path")->string_or("") : "";
            std::string last;
            json::value* parent = pointer(next, path, &last);
            if (!parent)
                return failure(422, "Invalid", "no path " + path);
            json::value* at = nullptr;
            std::size_t index = 0;
            if (auto* o = parent->if_object())
                at = o->find(last);
            else if (auto* a = parent->if_array(); a && last != "-") {
                index = std::stoul(last);
                at = index < a->size() ? &(*a)[index] : nullptr;
            }
            const json::value value = op.at("value") ? *op.at("value") : json::value();
            if (kind == "test") {
                if (!at || !(*at == value))
                    return failure(422, "Invalid", "the test at " + path + " failed");
            } else if (kind == "remove") {
                if (!at)
                    return failure(422, "Invalid", "nothing to remove at " + path);
                if (auto* o = parent->if_object())
                    o->erase(last);
                else
                    parent->if_array()->erase(parent->if_array()->begin() + static_cast<long>(index));
            } else if (kind == "add" || kind == "replace") {
                if (auto* o = parent->if_object())
                    o->set(last, value);
                else if (auto* a = parent->if_array(); a && last == "-")
                    a->push_back(value);
                else if (a && index <= a->size())
                    kind == "add" ? (void)a->insert(a->begin() + static_cast<long>(index), value)
                                  : (void)((*a)[index] = value);
            }
        }
    } else {
        return failure(405, "MethodNotAllowed", req.method + " " + content_type);
    }

    if (!created) {
        // The status subresource changes status only; the main resource everything else.
        json::value merged = *current;
        if (status_only) {
            const json::value* st = next.at("status");
            merged.if_object()->set("status", st ? *st : json::value());
        } else {
            json::value keep_status = current->at("status") ? *current->at("status") : json::value();
            json::value keep_meta = *current->at("metadata");
            merged = next;
            if (keep_status.is_null())
                merged.if_object()->erase("status");
            else
                merged.if_object()->set("status", keep_status);
            // Fields the server owns stay.
            json::object* m = merged.if_object()->find("metadata")->if_object();
            for (const char* field :
                 {"uid", "creationTimestamp", "generation", "deletionTimestamp", "namespace", "name"})
                if (const json::value* v = keep_meta.at(field))
                    m->set(field, *v);
            if (!(spec_part(merged) == spec_part(*current)))
                m->set("generation", current->at("metadata", "generation")->int_or(1) + 1);
        }
        if (merged == *current)
            return reply(200, *current); // nothing changed: no new resourceVersion, no event
        auto stored = s.store(res, t.ns, std::move(merged), false);
        s.release_if_done(res, t.ns, t.name);
        return reply(200, stored);
    }
    if (status_only)
        return failure(404, "NotFound", what + " not found");
    if (auto* st = next.if_object())
        st->erase("status");
    return reply(201, s.store(res, t.ns, std::move(next), true));
}

awaitable<answer> transport(std::weak_ptr<fake_cluster::state> weak,
                            std::vector<fake_cluster::request>* log,
                            http::request req) {
    auto s = weak.lock();
    if (!s)
        co_return core::fail(core::errc::cancelled, "the fake cluster is gone");
    std::string path = req.target.substr(0, req.target.find('?'));
    auto slow = std::find_if(s->delays.begin(), s->delays.end(), [&](const auto& d) {
        return d.method == req.method && path.find(d.path_part) != std::string::npos;
    });
    if (slow != s->delays.end()) {
        const auto wait = slow->delay;
        s.reset(); // the cluster may go while this request waits
        if (!co_await sleep_for(wait))
            co_return core::fail(core::errc::cancelled, req.method + " " + path + ": cancelled");
        s = weak.lock();
        if (!s)
            co_return core::fail(core::errc::cancelled, "the fake cluster is gone");
    }
    std::string query =
        req.target.find('?') == std::string::npos ? "" : req.target.substr(req.target.find('?') + 1);
    client::response out;
    auto injected = std::find_if(s->failures.begin(), s->failures.end(), [&](const auto& f) {
        bool exact = f.path_part.ends_with('$');
        bool hit = exact ? path.ends_with(f.path_part.substr(0, f.path_part.size() - 1))
                         : path.find(f.path_part) != std::string::npos;
        return f.method == req.method && hit && f.times > 0;
    });
    if (injected != s->failures.end()) {
        --injected->times;
        out = failure(injected->status,
                      injected->status == 409   ? "Conflict"
                      : injected->status == 404 ? "NotFound"
                      : injected->status == 403 ? "Forbidden"
                                                : "InternalError",
                      injected->message);
    } else if (auto t = parse_target(path)) {
        out = handle(*s, req, *t);
    } else {
        out = failure(404, "NotFound", "no such path " + path);
    }
    log->push_back({req.method, path, query, req.body, out.status});
    co_return out;
}

awaitable<core::result<runtime::watch_source::next_fn>>
open_watch(std::shared_ptr<fake_cluster::state> s, std::string res, std::string ns, api::watch_options o) {
    auto cursor = std::make_shared<std::int64_t>(0);
    if (!o.resource_version.empty())
        std::from_chars(
            o.resource_version.data(), o.resource_version.data() + o.resource_version.size(), *cursor);
    s->cursors.push_back(cursor);
    s->cursor_scopes.emplace_back(res, ns);
    std::weak_ptr<fake_cluster::state> weak = s;
    std::string selector = o.label_selector;
    runtime::watch_source::next_fn next =
        [weak, cursor, res, ns, selector]() -> awaitable<core::result<std::optional<json::watch_event>>> {
        for (;;) {
            auto st = weak.lock();
            if (!st)
                co_return core::fail(core::errc::cancelled, "the fake cluster is gone");
            for (const auto& e : st->log) {
                if (e.rv <= *cursor || e.resource != res || (!ns.empty() && e.ns != ns))
                    continue;
                *cursor = e.rv;
                if (!matches(e.object, selector)) {
                    // An object that no longer matches leaves the watch as DELETED (the real
                    // server's behaviour); a watcher that never had it ignores that.
                    if (e.type == json::event_type::modified)
                        co_return std::optional<json::watch_event>(
                            json::watch_event{json::event_type::deleted, e.object});
                    continue;
                }
                co_return std::optional<json::watch_event>(json::watch_event{e.type, e.object});
            }
            // Everything read: caught up until the next change.
            *cursor = std::max(*cursor, st->rv);
            auto timer = st->changed;
            st.reset();
            auto [ec] = co_await timer->async_wait(use_tuple);
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cancelled(cs))
                co_return core::fail(core::errc::cancelled, "watch closed");
            (void)ec;
        }
    };
    // The cursor leaves the list of open watches when the watch is dropped.
    struct closer {
        std::weak_ptr<fake_cluster::state> s;
        std::shared_ptr<std::int64_t> cursor;
        ~closer() {
            if (auto st = s.lock()) {
                auto it = std::find(st->cursors.begin(), st->cursors.end(), cursor);
                if (it != st->cursors.end()) {
                    st->cursor_scopes.erase(st->cursor_scopes.begin() + (it - st->cursors.begin()));
                    st->cursors.erase(it);
                }
            }
        }
    };
    auto guard = std::make_shared<closer>(closer{weak, cursor});
    co_return runtime::watch_source::next_fn([next, guard] { return next(); });
}

} // namespace

std::shared_ptr<client::client> fake_cluster::client() {
    if (client_)
        return client_;
    config::cluster_config cfg;
    cfg.server = "http://fake.invalid:80";
    client::client_options o;
    o.qps = 0;
    o.transport = [weak = std::weak_ptr<state>(state_), log = &requests_](http::request r) {
        return transport(weak, log, std::move(r));
    };
    auto made = client::client::create(io_.get_executor(), cfg, o);
    client_ = made ? *made : nullptr;
    return client_;
}

runtime::watch_source fake_cluster::source(const api::resource& r) {
    runtime::watch_source src;
    std::string res = state::key(r);
    std::weak_ptr<state> weak = state_;
    src.list = [this, r, res](std::string ns,
                              api::list_options o,
                              const runtime::projection&) -> awaitable<core::result<json::object_list>> {
        while (state_->held.contains(res)) {
            auto timer = state_->changed;
            (void)co_await timer->async_wait(use_tuple);
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cancelled(cs))
                co_return core::fail(core::errc::cancelled, "list cancelled");
        }
        ++state_->lists[res];
        json::object_list l;
        l.resource_version = std::to_string(state_->rv);
        for (const auto& o2 : list(r, ns))
            if (matches(o2, o.label_selector))
                l.items.push_back(o2);
        co_return l;
    };
    src.watch = [weak, res](std::string ns,
                            api::watch_options o) -> awaitable<core::result<runtime::watch_source::next_fn>> {
        auto s = weak.lock();
        if (!s)
            co_return core::fail(core::errc::cancelled, "the fake cluster is gone");
        co_return co_await open_watch(s, res, std::move(ns), std::move(o));
    };
    return src;
}

std::shared_ptr<runtime::informer_cache> fake_cluster::informers() {
    return std::make_shared<runtime::informer_cache>(
        client(), quiet_logger(), [this](const api::resource& r) { return source(r); });
}

std::size_t fake_cluster::lists(const api::resource& r) const {
    auto it = state_->lists.find(state::key(r));
    return it == state_->lists.end() ? 0 : it->second;
}

json::value fake_cluster::put(const api::resource& r, json::value object) {
    serve(r);
    std::string res = state::key(r);
    const json::value* n = object.at("metadata", "name");
    const json::value* nsv = object.at("metadata", "namespace");
    std::string name = n ? n->string_or("") : "";
    std::string ns = r.scope == api::scope::namespaced ? (nsv ? nsv->string_or("default") : "default") : "";
    json::value* current = state_->find(res, ns, name);
    if (!current) {
        state_->new_metadata(object, ns);
        object.if_object()->set("apiVersion", r.api_version());
        object.if_object()->set("kind", r.kind);
        return state_->store(res, ns, std::move(object), true);
    }
    json::value next = object;
    next.if_object()->set("apiVersion", r.api_version());
    next.if_object()->set("kind", r.kind);
    if (const json::value* st = current->at("status"); st && !next.at("status"))
        next.if_object()->set("status", *st);
    const bool spec_changed = !(spec_part(next) == spec_part(*current));
    json::object* m = next.if_object()->find("metadata")->if_object();
    for (const char* field :
         {"uid", "creationTimestamp", "generation", "namespace", "finalizers", "deletionTimestamp"})
        if (const json::value* v = current->at("metadata", field); v && !m->find(field))
            m->set(field, *v);
    if (spec_changed)
        m->set("generation", current->at("metadata", "generation")->int_or(1) + 1);
    return state_->store(res, ns, std::move(next), false);
}

std::optional<json::value>
fake_cluster::get(const api::resource& r, std::string_view ns, std::string_view name) const {
    json::value* o = state_->find(state::key(r), std::string(ns), std::string(name));
    return o ? std::optional<json::value>(*o) : std::nullopt;
}

std::vector<json::value> fake_cluster::list(const api::resource& r, std::string_view ns) const {
    std::vector<json::value> out;
    auto it = state_->objects.find(state::key(r));
    if (it != state_->objects.end())
        for (const auto& [id, o] : it->second)
            if (ns.empty() || id.first == ns)
                out.push_back(o);
    return out;
}

void fake_cluster::remove(const api::resource& r, std::string_view ns, std::string_view name) {
    state_->remove(state::key(r), std::string(ns), std::string(name));
}

void fake_cluster::set_status(const api::resource& r,
                              std::string_view ns,
                              std::string_view name,
                              json::value status) {
    json::value* o = state_->find(state::key(r), std::string(ns), std::string(name));
    if (!o)
        return;
    json::value next = *o;
    next.if_object()->set("status", std::move(status));
    state_->store(state::key(r), std::string(ns), std::move(next), false);
}

void fake_cluster::hold_lists(const api::resource& r) {
    state_->held.insert(state::key(r));
}

void fake_cluster::release_lists(const api::resource& r) {
    state_->held.erase(state::key(r));
    state_->notify();
}

void fake_cluster::slow(std::string method, std::string path_part, std::chrono::steady_clock::duration d) {
    state_->delays.push_back({std::move(method), std::move(path_part), d});
}

void fake_cluster::fail(
    std::string method, std::string path_part, int status, std::string message, int times) {
    state_->failures.push_back({std::move(method), std::move(path_part), std::move(message), status, times});
}

std::size_t fake_cluster::count(std::string_view method, std::string_view path_part) const {
    return static_cast<std::size_t>(std::count_if(requests_.begin(), requests_.end(), [&](const request& r) {
        return r.method == method && r.path.find(path_part) != std::string::npos;
    }));
}

long fake_cluster::said(std::string_view reason) const {
    long n = 0;
    for (const auto& e : list(api::resource{"", "v1", "events", "Event"}))
        if (e.at("reason") && e.at("reason")->string_or("") == reason)
            n += e.at("count") ? e.at("count")->int_or(1) : 1;
    return n;
}

bool fake_cluster::watches_caught_up() const {
    for (std::size_t i = 0; i < state_->cursors.size(); ++i) {
        const auto& [res, ns] = state_->cursor_scopes[i];
        for (const auto& e : state_->log)
            if (e.rv > *state_->cursors[i] && e.resource == res && (ns.empty() || e.ns == ns))
                return false;
    }
    return true;
}

// running_controller

running_controller::running_controller(fake_cluster& cluster,
                                       const manager::controller_factory& factory,
                                       manager::options opts,
                                       std::shared_ptr<runtime::informer_cache> informers)
    : cluster_(cluster)
    , io_(cluster.io())
    , finished_(std::make_shared<bool>(false))
    , metrics_(std::make_unique<metrics::registry>()) {
    opts.resync_period = std::chrono::seconds(0);
    manager::controller_env env{cluster.client(), opts, quiet_logger(), *metrics_, std::move(informers)};
    env.configure = [&cluster](runtime::controller_config& c) {
        c.make_source = [&cluster](const api::resource& r) { return cluster.source(r); };
        c.clock = [&cluster] { return cluster.now(); };
        c.resync_period = std::chrono::seconds(0);
    };
    std::optional<core::result<std::shared_ptr<runtime::controller>>> built;
    auto build = [&]() -> awaitable<void> { built = co_await factory(env); };
    asio::co_spawn(io_, build(), [&](std::exception_ptr e) {
        if (e)
            built = core::fail(core::errc::invalid_argument, "the controller factory threw");
    });
    while (!built && io_.run_one_for(std::chrono::seconds(5)) > 0) {
    }
    io_.restart();
    if (!built || !*built)
        throw std::runtime_error("the controller was not built: " +
                                 (built ? built->error().message : std::string("no answer")));
    controller_ = **built;
    asio::co_spawn(io_, controller_->run(), [done = finished_](std::exception_ptr) { *done = true; });
}

running_controller::~running_controller() {
    controller_->stop();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!*finished_ && std::chrono::steady_clock::now() < deadline)
        io_.run_one_for(std::chrono::milliseconds(50));
    io_.restart();
}

bool running_controller::settle(std::chrono::steady_clock::duration horizon,
                                std::chrono::steady_clock::duration limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    int quiet_rounds = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        std::size_t ran = io_.poll();
        io_.restart();
        auto now = std::chrono::steady_clock::now();
        auto due = controller_->queue().next_deadline();
        bool quiet = controller_->synced() && cluster_.watches_caught_up() &&
                     controller_->queue().depth() == 0 && controller_->active_reconciles() == 0 &&
                     controller_->recorder().idle() && (!due || *due > now + horizon);
        if (ran == 0 && quiet) {
            if (++quiet_rounds >= 3)
                return true;
            continue;
        }
        quiet_rounds = 0;
        if (ran == 0) {
            io_.run_one_for(std::chrono::milliseconds(20));
            io_.restart();
        }
    }
    return false;
}

void running_controller::resync(const std::string& ns, const std::string& name) {
    controller_->enqueue({ns, name});
}

std::uint64_t running_controller::reconciles() const {
    return controller_->reconciles_started();
}

} // namespace kubecoro::testing
