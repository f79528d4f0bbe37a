#include "database/spec.hpp"

#include "common/fields.hpp"
#include "common/meta.hpp"
#include <kubecoro/api/cron.hpp>
#include <kubecoro/api/quantity.hpp>
#include <kubecoro/config/exec_credential.hpp>
#include <kubecoro/core/errc.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>

namespace kubecoro::controllers::database {

std::string_view to_string(engine e) {
    switch (e) {
    case engine::postgresql:
        return "postgresql";
    case engine::mysql:
        return "mysql";
    case engine::mariadb:
        return "mariadb";
    }
    return "postgresql";
}

std::optional<engine> engine_from_string(std::string_view s) {
    for (engine e : {engine::postgresql, engine::mysql, engine::mariadb})
        if (to_string(e) == s)
            return e;
    return std::nullopt;
}

int default_port(engine e) {
    return e == engine::postgresql ? 5432 : 3306;
}

std::string_view official_image(engine e) {
    return e == engine::postgresql ? "postgres" : to_string(e);
}

resource_requirements default_resources(engine e) {
    return resource_requirements{
        .requests = {{"cpu", "250m"}, {"memory", e == engine::postgresql ? "256Mi" : "512Mi"}},
        .limits = {{"memory", "1Gi"}},
    };
}

std::string postgres_data_dir(std::string_view version) {
    if (std::optional<int> major = leading_integer(version))
        return "/var/lib/postgresql/" + std::to_string(*major) + "/docker";
    return "/var/lib/postgresql/data";
}

std::optional<int> compare_quantities(std::string_view a, std::string_view b) {
    auto qa = api::parse_quantity(a);
    auto qb = api::parse_quantity(b);
    if (!qa || !qb)
        return std::nullopt;
    auto c = *qa <=> *qb;
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

namespace {

// Collects "field: reason" messages so one condition reports every problem at once.
class field_errors {
public:
    void add(std::string_view field, std::string_view why) {
        if (!text_.empty())
            text_ += "; ";
        text_ += field;
        text_ += ": ";
        text_ += why;
    }
    bool empty() const { return text_.empty(); }
    core::failure fail() const { return core::fail(core::errc::invalid_argument, text_); }

private:
    std::string text_;
};

std::string quoted(std::string_view s) {
    // Appends rather than `"\"" + std::string(s)`, which trips g++ 12's -Wrestrict (PR 105329).
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    out += s;
    out += '"';
    return out;
}

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// The tag grammar of the OCI distribution spec: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool is_tag(std::string_view s) {
    if (s.empty() || s.size() > 128 || !(is_alnum(s[0]) || s[0] == '_'))
        return false;
    return std::all_of(
        s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

// A path component: lowercase alphanumeric runs joined by ".", "_", "__" or dashes.
bool is_path_component(std::string_view s) {
    if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back()))
        return false;
    for (std::size_t i = 0; i < s.size();) {
        if (is_lower_alnum(s[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < s.size() && !is_lower_alnum(s[j]))
            ++j;
        std::string_view sep = s.substr(i, j - i);
        bool dashes = std::all_of(sep.begin(), sep.end(), [](char c) { return c == '-'; });
        if (!(sep == "." || sep == "_" || sep == "__" || dashes))
            return false;
        i = j;
    }
    return true;
}

// Dot-separated labels of `alnum` characters and inner dashes (none empty).
bool dns_labels(std::string_view s, bool (*alnum)(char)) {
    while (true) {
        std::string_view label = s.substr(0, s.find('.'));
        if (label.empty() || !alnum(label.front()) || !alnum(label.back()) ||
            !std::all_of(label.begin(), label.end(), [alnum](char c) { return alnum(c) || c == '-'; }))
            return false;
        if (label.size() == s.size())
            return true;
        s = s.substr(label.size() + 1);
    }
}

// A registry host: DNS-like labels, optionally ":port".
bool is_domain(std::string_view s) {
    if (auto colon = s.find(':'); colon != std::string_view::npos) {
        std::string_view port = s.substr(colon + 1);
        if (port.empty() || port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return false;
        s = s.substr(0, colon);
    }
    return dns_labels(s, is_alnum);
}

bool is_digest(std::string_view s) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0)
        return false;
    std::string_view algorithm = s.substr(0, colon);
    std::string_view hex = s.substr(colon + 1);
    return std::all_of(
               algorithm.begin(),
               algorithm.end(),
               [](char c) { return is_lower_alnum(c) || c == '+' || c == '.' || c == '_' || c == '-'; }) &&
           hex.size() >= 32 && std::all_of(hex.begin(), hex.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c)) != 0;
           });
}

// Why `ref` is not an image reference ([registry/]path[:tag][@digest]); nullopt when it is one.
std::optional<std::string> image_problem(std::string_view ref) {
    std::string_view name = ref;
    if (auto at = name.find('@'); at != std::string_view::npos) {
        if (!is_digest(name.substr(at + 1)))
            return "has an invalid digest";
        name = name.substr(0, at);
    }
    auto slash = name.rfind('/');
    auto colon = name.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        if (!is_tag(name.substr(colon + 1)))
            return "has an invalid tag";
        name = name.substr(0, colon);
    }
    if (name.empty() || name.size() > 255)
        return "has an invalid repository name";
    std::size_t first_end = name.find('/');
    std::string_view first = name.substr(0, first_end);
    bool has_domain = first_end != std::string_view::npos &&
                      (first.find_first_of(".:") != std::string_view::npos || first == "localhost");
    if (has_domain && !is_domain(first))
        return "has an invalid registry host";
    std::string_view path = has_domain ? name.substr(first_end + 1) : name;
    while (true) {
        std::string_view component = path.substr(0, path.find('/'));
        if (!is_path_component(component))
            return "has an invalid repository name (lowercase letters, digits and separators)";
        if (component.size() == path.size())
            return std::nullopt;
        path = path.substr(component.size() + 1);
    }
}

// Kubernetes clamps larger quantities to 2^63-1 units, so the object would never hold what was asked.
bool beyond_kubernetes(const api::quantity& q) {
    return q.nano > static_cast<__int128>(INT64_MAX) * 1'000'000'000;
}
constexpr std::string_view too_large = " is larger than Kubernetes can represent (about 8Ei)";

// A positive quantity, or why not.
std::optional<std::string> size_problem(std::string_view s) {
    auto q = api::parse_quantity(s);
    if (!q)
        return quoted(s) + " is not a quantity (for example 10Gi)";
    if (q->nano <= 0)
        return "must be positive (got " + quoted(s) + ")";
    if (beyond_kubernetes(*q))
        return quoted(s) + std::string(too_large);
    return std::nullopt;
}

// A DNS-1123 subdomain (what Kubernetes requires of a StorageClass name): at most 253 characters,
// dot-separated labels of lowercase letters, digits and inner dashes.
bool is_dns_subdomain(std::string_view s) {
    return !s.empty() && s.size() <= 253 && dns_labels(s, is_lower_alnum);
}

// The resources a pod template accepts without further rules (extended resources and hugepages
// need requests equal to limits and other resources beside them).
bool is_container_resource(std::string_view name) {
    return name == "cpu" || name == "memory" || name == "ephemeral-storage";
}

// Fields of one object read with their types checked; absent (or null) fields keep their default.
struct field_reader {
    const json::value& object;
    std::string_view prefix; // "spec." or "spec.backup."
    field_errors& errors;

    std::string path(std::string_view key) const { return std::string(prefix) + std::string(key); }
    const json::value* find(std::string_view key) const {
        const json::value* v = object.at(key);
        return v && !v->is_null() ? v : nullptr;
    }
    // nullptr when absent or not a string (the latter reported).
    const std::string* string(std::string_view key) const {
        const json::value* v = find(key);
        if (v && !v->is_string())
            errors.add(path(key), "must be a string");
        return v ? v->if_string() : nullptr;
    }
    const std::string* required_string(std::string_view key, std::string_view hint) const {
        if (!find(key))
            errors.add(path(key), "required (" + std::string(hint) + ")");
        return string(key);
    }
    void boolean(std::string_view key, bool& out) const {
        if (const json::value* v = find(key)) {
            if (const bool* b = v->if_bool())
                out = *b;
            else
                errors.add(path(key), "must be true or false");
        }
    }
    void integer(std::string_view key, int lo, int hi, int& out) const {
        const json::value* v = find(key);
        if (!v)
            return;
        // int_or also reads whole doubles (2.0); the sentinel catches 1.5 and non-numbers.
        std::int64_t n = v->int_or(INT64_MIN);
        if (n == INT64_MIN) {
            errors.add(path(key), "must be an integer");
            return;
        }
        if (n < lo || n > hi) {
            errors.add(path(key),
                       "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " +
                           std::to_string(n) + ")");
            return;
        }
        out = static_cast<int>(n);
    }
};

// requests or limits: name -> quantity (the schema allows integers too: cpu: 2).
void read_resource_list(const json::value& list,
                        std::string_view path,
                        field_errors& errors,
                        std::map<std::string, std::string>& out) {
    const json::object* o = list.if_object();
    if (!o) {
        errors.add(path, "must be a map of resource names to quantities");
        return;
    }
    for (const auto& [name, v] : *o) {
        std::string field = std::string(path) + "." + name;
        if (!is_container_resource(name)) {
            errors.add(field, "not a resource kubecoro sets (cpu, memory or ephemeral-storage)");
            continue;
        }
        std::string q;
        if (const std::string* s = v.if_string())
            q = *s;
        else if (const std::int64_t* i = v.if_int())
            q = std::to_string(*i);
        else {
            errors.add(field, "must be a quantity");
            continue;
        }
        auto parsed = api::parse_quantity(q);
        if (!parsed) {
            errors.add(field, quoted(q) + " is not a quantity");
            continue;
        }
        if (parsed->nano < 0) {
            errors.add(field, "must not be negative (got " + quoted(q) + ")");
            continue;
        }
        if (beyond_kubernetes(*parsed)) {
            errors.add(field, quoted(q) + std::string(too_large));
            continue;
        }
        out[name] = q;
    }
}

void read_resources(const json::value& spec, field_errors& errors, engine e, resource_requirements& out) {
    const json::value* r = spec.at("resources");
    if (r && !r->is_null()) {
        if (!r->is_object()) {
            errors.add("spec.resources", "must be an object with requests and limits");
            return;
        }
        if (const json::value* v = r->at("requests"); v && !v->is_null())
            read_resource_list(*v, "spec.resources.requests", errors, out.requests);
        if (const json::value* v = r->at("limits"); v && !v->is_null())
            read_resource_list(*v, "spec.resources.limits", errors, out.limits);
    }
    if (out.requests.empty() && out.limits.empty()) {
        out = default_resources(e);
        return;
    }
    // The API server would reject the StatefulSet's pod template; say why here instead.
    for (const auto& [name, request] : out.requests) {
        auto limit = out.limits.find(name);
        if (limit == out.limits.end())
            continue;
        std::optional<int> c = compare_quantities(request, limit->second);
        if (c && *c > 0)
            errors.add("spec.resources.requests." + name,
                       "must not exceed the limit (" + request + " > " + limit->second + ")");
    }
}

// spec.<name> when it is an object; nullptr when absent or null, and an error when not an object.
const json::value* object_field(const json::value& spec, const std::string& name, field_errors& errors) {
    const json::value* v = spec.at(name);
    if (!v || v->is_null())
        return nullptr;
    if (!v->is_object()) {
        errors.add("spec." + name, "must be an object");
        return nullptr;
    }
    return v;
}

void read_replication(const json::value& spec, field_errors& errors, bool& synchronous) {
    if (const json::value* rep = object_field(spec, "replication", errors)) {
        field_reader r{*rep, "spec.replication.", errors};
        r.boolean("synchronous", synchronous);
    }
}

void read_backup(const json::value& spec, field_errors& errors, backup_spec& out) {
    const json::value* b = object_field(spec, "backup", errors);
    if (!b)
        return;
    field_reader r{*b, "spec.backup.", errors};
    r.boolean("enabled", out.enabled);
    if (const std::string* schedule = r.string("schedule")) {
        out.schedule = *schedule;
        if (auto ok = api::validate_cron(out.schedule); !ok)
            errors.add("spec.backup.schedule",
                       quoted(out.schedule) + " is not a cron schedule: " + ok.error().message);
    }
    r.integer("retention", 1, 365, out.retention);
    if (const std::string* storage = r.string("storage")) {
        out.storage = *storage;
        if (auto why = size_problem(out.storage))
            errors.add("spec.backup.storage", *why);
    }
}

// Settings the operator itself sets or relies on (where the server listens, where its data and
// sockets are): a parameter may not move them.
bool operator_owned(engine e, std::string key) {
    if (e == engine::postgresql) {
        for (std::string_view k : {"listen_addresses",
                                   "port",
                                   "data_directory",
                                   "hba_file",
                                   "ident_file",
                                   "config_file",
                                   "unix_socket_directories",
                                   "external_pid_file",
                                   "primary_conninfo",
                                   "primary_slot_name",
                                   "hot_standby",
                                   "synchronous_standby_names"})
            if (key == k)
                return true;
        return false;
    }
    std::replace(key.begin(), key.end(), '-', '_'); // my.cnf accepts both spellings
    for (std::string_view k : {"port",
                               "bind_address",
                               "datadir",
                               "socket",
                               "skip_networking",
                               "pid_file",
                               "user",
                               "server_id",
                               "read_only",
                               "skip_grant_tables",
                               "init_file"})
        if (key == k)
            return true;
    return false;
}

// PostgreSQL setting names are identifiers (a dot for extensions' settings); my.cnf keys letters,
// digits, '_' and '-'.
bool is_parameter_name(engine e, std::string_view key) {
    if (key.empty() || key.size() > 64 || !(std::islower(static_cast<unsigned char>(key[0])) != 0))
        return false;
    return std::all_of(key.begin(), key.end(), [e](char c) {
        return is_lower_alnum(c) || c == '_' || (e == engine::postgresql ? c == '.' : c == '-');
    });
}

void read_parameters(const json::value& spec,
                     engine e,
                     field_errors& errors,
                     std::map<std::string, std::string>& out) {
    const json::value* p = spec.at("parameters");
    if (!p || p->is_null())
        return;
    const json::object* o = p->if_object();
    if (!o) {
        errors.add("spec.parameters", "must be a map of setting names to string values");
        return;
    }
    for (const auto& [key, v] : *o) {
        std::string field = "spec.parameters." + key;
        const std::string* value = v.if_string();
        if (!value) {
            errors.add(field, "must be a string (quote numbers and booleans)");
            continue;
        }
        if (!is_parameter_name(e, key)) {
            errors.add(field,
                       "is not a setting name (lowercase letters, digits, " +
                           std::string(e == engine::postgresql ? "'_' and '.'" : "'_' and '-'") + ")");
            continue;
        }
        if (operator_owned(e, key)) {
            errors.add(field, "is set by kubecoro and cannot be overridden");
            continue;
        }
        if (value->find('\0') != std::string::npos || value->find('\n') != std::string::npos) {
            errors.add(field, "must be one line");
            continue;
        }
        out[key] = *value;
    }
}

// A dump's name as the backup job writes it: the UTC time it started, 20250101T020000Z.
bool is_dump_name(std::string_view s) {
    if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z')
        return false;
    for (std::size_t i = 0; i < 15; ++i)
        if (i != 8 && !(s[i] >= '0' && s[i] <= '9'))
            return false;
    return true;
}

// nodeSelector, tolerations, affinity, priorityClassName: checked for their shape here; the API
// server validates their content when the StatefulSet is applied (ApplyFailed names the field).
void read_scheduling(const json::value& spec, field_errors& errors, scheduling_spec& out) {
    if (const json::value* ns = spec.at("nodeSelector"); ns && !ns->is_null()) {
        const json::object* o = ns->if_object();
        if (!o)
            errors.add("spec.nodeSelector", "must be a map of label keys to values");
        else
            for (const auto& [k, v] : *o) {
                if (const std::string* value = v.if_string())
                    out.node_selector[k] = *value;
                else
                    errors.add("spec.nodeSelector." + k, "must be a string");
            }
    }
    if (const json::value* t = spec.at("tolerations"); t && !t->is_null()) {
        const json::array* a = t->if_array();
        if (!a || !std::all_of(a->begin(), a->end(), [](const json::value& v) { return v.is_object(); }))
            errors.add("spec.tolerations", "must be a list of tolerations");
        else if (!a->empty())
            out.tolerations = *t;
    }
    if (const json::value* a = spec.at("affinity"); a && !a->is_null()) {
        if (!a->is_object())
            errors.add("spec.affinity", "must be an affinity object");
        else
            out.affinity = *a;
    }
    field_reader r{spec, "spec.", errors};
    if (const std::string* p = r.string("priorityClassName")) {
        if (!is_dns_subdomain(*p))
            errors.add("spec.priorityClassName", quoted(*p) + " is not a PriorityClass name");
        out.priority_class_name = *p;
    }
}

void read_bootstrap(const json::value& spec, field_errors& errors, std::optional<bootstrap_spec>& out) {
    const json::value* b = spec.at("bootstrap");
    if (!b || b->is_null())
        return;
    const json::value* from = b->at("fromBackup");
    if (!from || !from->is_object()) {
        errors.add("spec.bootstrap.fromBackup", "required when spec.bootstrap is set (claimName and dump)");
        return;
    }
    field_reader r{*from, "spec.bootstrap.fromBackup.", errors};
    bootstrap_spec boot;
    if (const std::string* claim =
            r.required_string("claimName", "the source Database's backup claim, <name>-backup")) {
        boot.claim_name = *claim;
        if (!is_dns_subdomain(*claim))
            errors.add("spec.bootstrap.fromBackup.claimName", quoted(*claim) + " is not a claim name");
    }
    boot.dump = "latest";
    if (const std::string* dump = r.string("dump")) {
        boot.dump = *dump;
        if (*dump != "latest" && !is_dump_name(*dump))
            errors.add("spec.bootstrap.fromBackup.dump",
                       quoted(*dump) + " is neither \"latest\" nor a dump's name (its UTC start time, "
                                       "for example 20250101T020000Z)");
    }
    out = boot;
}

} // namespace

core::result<database_spec> parse_spec(const json::value& db) {
    const json::value* spec = db.at("spec");
    if (!spec || !spec->is_object())
        return core::fail(core::errc::invalid_argument, "spec: required");
    field_errors errors;
    field_reader r{*spec, "spec.", errors};
    database_spec out;

    if (const std::string* name = r.required_string("engine", "postgresql, mysql or mariadb")) {
        if (auto e = engine_from_string(*name))
            out.engine = *e;
        else
            errors.add("spec.engine", "must be postgresql, mysql or mariadb (got " + quoted(*name) + ")");
    }
    if (const std::string* version = r.required_string("version", "the image tag, for example \"16\"")) {
        out.version = *version;
        if (!is_tag(out.version))
            errors.add("spec.version", quoted(out.version) + " is not a valid image tag");
        else if (out.engine == engine::postgresql && !leading_integer(out.version))
            errors.add("spec.version",
                       quoted(out.version) +
                           " names no PostgreSQL major version (for example \"16\" or \"16.4\"): the data "
                           "directory belongs to one major, and a floating tag would move it");
    }
    if (const std::string* image = r.string("image")) {
        if (image->empty())
            errors.add("spec.image", "must not be empty when set");
        else if (auto why = image_problem(*image))
            errors.add("spec.image", quoted(*image) + " " + *why);
        out.image = *image;
    }
    if (out.image.empty())
        out.image = std::string(official_image(out.engine)) + ":" + out.version;
    if (const std::string* storage = r.required_string("storage", "for example 10Gi")) {
        out.storage = *storage;
        if (auto why = size_problem(out.storage))
            errors.add("spec.storage", *why);
    }
    if (const std::string* storage_class = r.string("storageClassName")) {
        out.storage_class_name = *storage_class;
        if (!is_dns_subdomain(*storage_class))
            errors.add("spec.storageClassName",
                       quoted(*storage_class) +
                           " is not a StorageClass name (lowercase DNS subdomain, at most 253 characters)");
    }

    r.integer("replicas", 1, 5, out.replicas);
    read_resources(*spec, errors, out.engine, out.resources);
    read_backup(*spec, errors, out.backup);
    if (out.backup.storage.empty())
        out.backup.storage = out.storage;

    if (const std::string* policy = r.string("deletionPolicy")) {
        if (*policy == "Delete")
            out.deletion = deletion_policy::delete_volumes;
        else if (*policy == "DoNotTerminate")
            out.deletion = deletion_policy::do_not_terminate;
        else if (*policy != "Retain")
            errors.add("spec.deletionPolicy",
                       "must be Retain, Delete or DoNotTerminate (got " + quoted(*policy) + ")");
    }
    r.boolean("paused", out.paused);
    read_parameters(*spec, out.engine, errors, out.parameters);
    r.integer("startupTimeoutSeconds", 60, 86400, out.startup_timeout_seconds);
    r.integer("shutdownTimeoutSeconds", 10, 3600, out.shutdown_timeout_seconds);
    r.integer("failoverDelay", 0, 3600, out.failover_delay_seconds);
    read_replication(*spec, errors, out.synchronous);
    read_bootstrap(*spec, errors, out.bootstrap);
    read_scheduling(*spec, errors, out.scheduling);

    if (!errors.empty())
        return errors.fail();
    return out;
}

bool deletion_protected(const json::value& db) {
    const json::value* policy = db.at("spec", "deletionPolicy");
    return policy && policy->string_or("") == "DoNotTerminate";
}

core::result<database_spec> decode_spec(const json::value& db, std::string_view name) {
    auto spec = parse_spec(db);
    if (!spec)
        return spec;
    if (auto named = validate_name(name, *spec); !named)
        return core::fail(named.error());
    return spec;
}

core::result<void> validate_topology(const database_spec& spec) {
    if (spec.synchronous && spec.replicas < 2)
        return core::fail(core::errc::invalid_argument,
                          "spec.replication.synchronous: a commit waits until a replica has it, and "
                          "with replicas: " +
                              std::to_string(spec.replicas) +
                              " there is none (every write would hang): set replicas: 2 or more, or "
                              "synchronous: false");
    if (spec.replicas <= 1)
        return {};
    if (spec.engine == engine::mariadb)
        return {};
    if (spec.engine == engine::postgresql) {
        std::optional<int> major = leading_integer(spec.version);
        if (!major || *major >= 12)
            return {};
        return core::fail(core::errc::invalid_argument,
                          "spec.replicas: " + std::to_string(spec.replicas) +
                              ": replication needs PostgreSQL 12 or newer (standby.signal, pg_promote); "
                              "set replicas: 1 or a newer version");
    }
    return core::fail(core::errc::invalid_argument,
                      "spec.replicas: " + std::to_string(spec.replicas) + " " +
                          std::string(to_string(spec.engine)) +
                          " instances would be independent databases behind one Service (writes "
                          "scattered, reads disagreeing, each backup a fraction of the data): replication "
                          "is implemented for postgresql and mariadb; set replicas: 1");
}

core::result<void> validate_name(std::string_view name, const database_spec& spec) {
    constexpr std::size_t statefulset_max = 52;                     // 63 minus "-<revision hash>"
    constexpr std::size_t cronjob_max = 52 - sizeof("-backup") + 1; // 45
    auto problem = [&](const std::string& why) {
        return core::fail(core::errc::invalid_argument, "metadata.name: " + quoted(name) + " " + why);
    };
    bool letter_first = !name.empty() && name.front() >= 'a' && name.front() <= 'z';
    bool label_chars =
        std::all_of(name.begin(), name.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
    if (!letter_first || !label_chars || name.back() == '-')
        return problem("cannot name the Services: it must start with a lowercase letter and hold only "
                       "lowercase letters, digits and dashes (a DNS-1035 label)");
    if (name.size() > statefulset_max)
        return problem("is " + std::to_string(name.size()) + " characters long; at most " +
                       std::to_string(statefulset_max) +
                       " fit the StatefulSet's pod labels (\"<name>-<revision hash>\", 63 characters)");
    if (spec.backup.enabled && name.size() > cronjob_max)
        return problem("is " + std::to_string(name.size()) +
                       " characters long; with backups enabled at most " + std::to_string(cronjob_max) +
                       " fit the CronJob " + std::string(name) + "-backup (52 characters)");
    return {};
}

namespace {

const json::value* find_container(const json::value& pod_spec, std::string_view name) {
    const json::value* containers = pod_spec.at("containers");
    if (!containers || !containers->is_array())
        return nullptr;
    for (const json::value& c : *containers->if_array())
        if (const json::value* n = c.at("name"); n && n->string_or("") == name)
            return &c;
    return nullptr;
}

bool condition_true(const json::value& object, std::string_view type) {
    const json::value* list = object.at("status", "conditions");
    if (!list || !list->is_array())
        return false;
    for (const json::value& c : *list->if_array())
        if (string_at(c.at("type")) == type)
            return string_at(c.at("status")) == "True";
    return false;
}

std::string condition_time(const json::value& object, std::string_view type) {
    const json::value* list = object.at("status", "conditions");
    if (!list || !list->is_array())
        return {};
    for (const json::value& c : *list->if_array())
        if (string_at(c.at("type")) == type)
            return string_at(c.at("lastTransitionTime"));
    return {};
}

} // namespace

observed_statefulset observe_statefulset(const json::value& sts) {
    observed_statefulset out;
    out.engine = string_at(sts.at("metadata", "labels", "app.kubernetes.io/name"));
    if (const json::value* pod_spec = sts.at("spec", "template", "spec")) {
        if (const json::value* c = find_container(*pod_spec, "database")) {
            out.image = string_at(c->at("image"));
            if (const json::value* env = c->at("env"); env && env->is_array())
                for (const json::value& e : *env->if_array())
                    if (string_at(e.at("name")) == "PGDATA")
                        out.pgdata = string_at(e.at("value"));
        }
    }
    if (const json::value* templates = sts.at("spec", "volumeClaimTemplates");
        templates && templates->is_array()) {
        for (const json::value& t : *templates->if_array()) {
            if (string_at(t.at("metadata", "name")) != "data")
                continue;
            out.claim_storage = string_at(t.at("spec", "resources", "requests", "storage"));
            if (const json::value* sc = t.at("spec", "storageClassName"); sc && sc->is_string())
                out.claim_storage_class = *sc->if_string();
        }
    }
    if (const json::value* g = sts.at("metadata", "generation"))
        out.generation = static_cast<long>(g->int_or(0));
    if (const json::value* g = sts.at("status", "observedGeneration"))
        out.observed_generation = static_cast<long>(g->int_or(0));
    // spec.replicas defaults to 1 on the server.
    out.spec_replicas = sts.at("spec", "replicas") ? int_at(sts.at("spec", "replicas")) : 1;
    out.replicas = int_at(sts.at("status", "replicas"));
    out.ready_replicas = int_at(sts.at("status", "readyReplicas"));
    out.updated_replicas = int_at(sts.at("status", "updatedReplicas"));
    out.current_revision = string_at(sts.at("status", "currentRevision"));
    out.update_revision = string_at(sts.at("status", "updateRevision"));
    out.on_delete = string_at(sts.at("spec", "updateStrategy", "type")) == "OnDelete";
    return out;
}

observed_pvc observe_pvc(const json::value& pvc) {
    return observed_pvc{
        .name = string_at(pvc.at("metadata", "name")),
        .requested = string_at(pvc.at("spec", "resources", "requests", "storage")),
        .capacity = string_at(pvc.at("status", "capacity", "storage")),
        .resize_pending = condition_true(pvc, "Resizing") || condition_true(pvc, "FileSystemResizePending"),
        .storage_class = pvc.at("spec", "storageClassName")
                             ? std::optional<std::string>(string_at(pvc.at("spec", "storageClassName")))
                             : std::nullopt,
        .engine = string_at(pvc.at("metadata", "labels", "app.kubernetes.io/name")),
        .major = string_at(pvc.at("metadata", "labels", major_label)),
    };
}

observed_cronjob observe_cronjob(const json::value& cronjob) {
    return observed_cronjob{
        .created = string_at(cronjob.at("metadata", "creationTimestamp")),
        .last_schedule_time = string_at(cronjob.at("status", "lastScheduleTime")),
        .last_successful_time = string_at(cronjob.at("status", "lastSuccessfulTime")),
    };
}

observed_job observe_job(const json::value& job) {
    observed_job out;
    out.name = string_at(job.at("metadata", "name"));
    out.component = string_at(job.at("metadata", "labels", "app.kubernetes.io/component"));
    out.secret_version = string_at(job.at("metadata", "annotations", "kubecoro.dev/secret-version"));
    out.succeeded = condition_true(job, "Complete");
    out.failed = condition_true(job, "Failed");
    if (out.succeeded)
        out.finished_time = string_at(job.at("status", "completionTime"));
    if (out.failed) {
        out.finished_time = condition_time(job, "Failed");
        if (const json::value* list = job.at("status", "conditions"); list && list->is_array())
            for (const json::value& c : *list->if_array())
                if (string_at(c.at("type")) == "Failed")
                    out.failure = string_at(c.at("reason")) + ": " + string_at(c.at("message"));
    }
    out.created = string_at(job.at("metadata", "creationTimestamp"));
    out.active = int_at(job.at("status", "active"));
    return out;
}

bool observed_pod::stuck() const {
    for (std::string_view r : {"ErrImagePull",
                               "ImagePullBackOff",
                               "InvalidImageName",
                               "CrashLoopBackOff",
                               "CreateContainerConfigError",
                               "CreateContainerError"})
        if (waiting_reason == r)
            return true;
    return false;
}

observed_pod observe_pod(const json::value& pod) {
    observed_pod out;
    out.name = string_at(pod.at("metadata", "name"));
    out.revision = string_at(pod.at("metadata", "labels", "controller-revision-hash"));
    out.role = string_at(pod.at("metadata", "labels", role_label));
    out.uid = string_at(pod.at("metadata", "uid"));
    out.ip = string_at(pod.at("status", "podIP"));
    out.created = string_at(pod.at("metadata", "creationTimestamp"));
    out.ready = condition_true(pod, "Ready");
    out.terminating = pod.at("metadata", "deletionTimestamp") != nullptr;
    out.node = string_at(pod.at("spec", "nodeName"));
    out.scheduled = !out.node.empty();
    std::string finished;
    if (const json::value* list = pod.at("status", "containerStatuses"); list && list->is_array())
        for (const json::value& c : *list->if_array())
            if (string_at(c.at("name")) == "database") {
                out.waiting_reason = string_at(c.at("state", "waiting", "reason"));
                out.waiting_message = string_at(c.at("state", "waiting", "message"));
                finished = string_at(c.at("state", "terminated", "finishedAt"));
                out.running = out.running || c.at("state", "running") != nullptr;
            }
    // An init container (PostgreSQL's `instance`) that cannot run holds the server back: its wait
    // is the pod's (an image that cannot be pulled, a refusal that keeps it crashing). One that
    // runs makes the pod running.
    if (const json::value* list = pod.at("status", "initContainerStatuses"); list && list->is_array())
        for (const json::value& c : *list->if_array()) {
            out.running = out.running || c.at("state", "running") != nullptr;
            const bool server_waits = out.waiting_reason.empty() || out.waiting_reason == "PodInitializing";
            if (std::string reason = string_at(c.at("state", "waiting", "reason"));
                server_waits && !reason.empty() && reason != "PodInitializing") {
                out.waiting_reason = reason;
                out.waiting_message = "init container " + string_at(c.at("name")) + ": " +
                                      string_at(c.at("state", "waiting", "message"));
            }
        }
    // The deletion was asked at deletionTimestamp minus its grace period; a termination reported
    // since then was seen by a kubelet that knows of the deletion. (An earlier one, a crash, may
    // be followed by a restart of which a kubelet cut off from the API server says nothing.)
    if (out.terminating && !finished.empty()) {
        auto deleted = config::parse_rfc3339(string_at(pod.at("metadata", "deletionTimestamp")));
        auto ended = config::parse_rfc3339(finished);
        const auto asked = std::chrono::seconds(int_at(pod.at("metadata", "deletionGracePeriodSeconds")) + 1);
        out.server_stopped = deleted && ended && *ended >= *deleted - asked;
    }
    return out;
}

core::result<void> validate_change(const database_spec& desired, const observed_state& observed) {
    field_errors errors;
    // The largest of the sizes in use: the claim template and every claim (claims may have grown).
    auto refuse_shrink =
        [&](std::string_view field, const std::vector<std::string>& current, const std::string& to) {
            for (const std::string& from : current) {
                std::optional<int> c = compare_quantities(to, from);
                if (c && *c < 0) {
                    errors.add(field, "cannot shrink the volume from " + from + " to " + to);
                    return;
                }
            }
        };
    std::vector<std::string> data_sizes;
    if (const auto& sts = observed.statefulset) {
        if (!sts->engine.empty() && sts->engine != to_string(desired.engine))
            errors.add("spec.engine",
                       "cannot change from " + sts->engine + " to " + std::string(to_string(desired.engine)) +
                           " (the engine is immutable; create a new Database and restore a dump)");
        data_sizes.push_back(sts->claim_storage);
        if (sts->claim_storage_class != desired.storage_class_name)
            errors.add("spec.storageClassName",
                       "cannot change from " + quoted(sts->claim_storage_class.value_or("")) + " to " +
                           quoted(desired.storage_class_name.value_or("")) + " (volumes keep their class)");
        if (desired.engine == engine::postgresql && !sts->pgdata.empty() &&
            sts->pgdata != postgres_data_dir(desired.version))
            errors.add("spec.version",
                       "cannot move to " + quoted(desired.version) + ": the data in " + sts->pgdata +
                           " belongs to another PostgreSQL major version (upgrade with a dump and restore "
                           "into a new Database)");
    }
    std::string want_engine(to_string(desired.engine));
    std::optional<int> want_major = leading_integer(desired.version);
    for (const observed_pvc& pvc : observed.data_pvcs) {
        data_sizes.push_back(pvc.requested);
        if (!observed.statefulset && !pvc.engine.empty() && pvc.engine != want_engine)
            errors.add("spec.engine",
                       "claim " + pvc.name + " holds " + pvc.engine +
                           " data (kept by deletionPolicy Retain): " + "it cannot serve " + want_engine +
                           "; delete the claim or use another name");
        else if (desired.engine == engine::postgresql && !pvc.major.empty() && want_major &&
                 pvc.major != std::to_string(*want_major))
            errors.add("spec.version",
                       "claim " + pvc.name + " holds PostgreSQL " + pvc.major + " data: it cannot serve " +
                           quoted(desired.version) +
                           " (upgrade with a dump and restore into a new Database)");
    }
    refuse_shrink("spec.storage", data_sizes, desired.storage);
    if (observed.backup_pvc && desired.backup.enabled)
        refuse_shrink("spec.backup.storage", {observed.backup_pvc->requested}, desired.backup.storage);
    if (!errors.empty())
        return errors.fail();
    return {};
}

} // namespace kubecoro::controllers::database
