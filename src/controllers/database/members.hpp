// What the servers of a replicated PostgreSQL Database say, asked over SQL as the superuser (the
// operator's only connection to them), and the promotion of one.
#pragma once

#include "database/replication.hpp"
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>

#include <string>
#include <vector>

namespace kubecoro::controllers::database {

// One member per pod; a pod with no IP, or whose server does not answer in time, answered nothing.
awaitable<std::vector<member>> ask_members(const std::vector<observed_pod>& pods,
                                           const std::string& password);

// What synchronous_standby_names is on every member (spec.replication.synchronous), set where a
// member answered with another value: ALTER SYSTEM, then a reload. Replicas too, so that the one
// promoted next already has it.
inline constexpr std::string_view synchronous_quorum = "ANY 1 (*)";
struct synchronous_setting {
    std::string value;                // what every member should have
    std::vector<std::string> changed; // the members set now
    bool applied = true;              // every member that answered has it (now)
};
awaitable<synchronous_setting> configure_synchronous(const std::vector<observed_pod>& pods,
                                                     const std::vector<member>& members,
                                                     bool synchronous,
                                                     const std::string& password);

// pg_promote() on the pod's server, waiting for it to finish.
awaitable<core::result<void>> promote(const observed_pod& pod, const std::string& password);

} // namespace kubecoro::controllers::database
