// What `kubectl kubecoro` shows and builds, from the objects it read: pure functions, no I/O.
#pragma once

#include <kubecoro/json/value.hpp>

#include <string>
#include <vector>

namespace kubecoro::plugin {

// The string at `v`; "" when `v` is null or not a string.
std::string string_at(const json::value* v);

// `status`: a readable summary of one Database: engine, phase, endpoint, primary, conditions with
// their reasons, instances, pods (role, phase, readiness, restarts, node), backups, and the newest
// `max_events` of `events` (oldest first).
std::string status_text(const json::value& db,
                        const std::vector<json::value>& pods,
                        const std::vector<json::value>& events,
                        std::size_t max_events = 10);

// `restore`: a new Database `name` with `source`'s engine, version, storage, and image, storage
// class, parameters and resources where set, bootstrapped from the dump `dump` ("latest" or a
// dump's name) in `source`'s backup claim.
json::value restored_database(const json::value& source, const std::string& name, const std::string& dump);

// `connect`: the shell command run in the server container: the engine's client as the
// application user, the password read from the container's environment (never an argument), and
// the user's extra arguments as "$@". Empty for an unknown engine.
std::string connect_script(const std::string& engine);

// The pod of a Database to connect to: status.currentPrimary, else <name>-0.
std::string primary_pod(const json::value& db);

} // namespace kubecoro::plugin
