// What the servers of a replicated Database say, asked over SQL as the superuser (the operator's
// only connection to them), and what the operator makes them do. PostgreSQL here; MariaDB in
// mariadb_members.hpp, which these dispatch to.
#pragma once

#include "database/replication.hpp"
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>

#include <string>
#include <vector>

namespace kubecoro::controllers::database {

// A member as its pod says (what its server answers is filled in by the asking).
member member_of(const observed_pod& pod);

// One member per pod; a pod with no IP, or whose server does not answer in time, answered nothing.
awaitable<std::vector<member>>
ask_members(engine e, const std::vector<observed_pod>& pods, const std::string& password);

// What synchronous_standby_names is on every member (spec.replication.synchronous), set where a
// member answered with another value: ALTER SYSTEM, then a reload. Replicas too, so that the one
// promoted next already has it. (MariaDB: semi-synchronous commits on the primary's side.)
inline constexpr std::string_view synchronous_quorum = "ANY 1 (*)";
struct synchronous_setting {
    std::string value;                // what every member should have
    std::vector<std::string> changed; // the members set now
    bool applied = true;              // every member that answered has it (now)
};
awaitable<synchronous_setting> configure_synchronous(engine e,
                                                     const std::vector<observed_pod>& pods,
                                                     const std::vector<member>& members,
                                                     bool synchronous,
                                                     const std::string& password);

// MariaDB: every read-only member that follows nothing follows `source` (PostgreSQL replicas
// follow primary_conninfo by themselves). The members changed.
awaitable<std::vector<std::string>> follow_primary(engine e,
                                                   const std::vector<observed_pod>& pods,
                                                   const std::vector<member>& members,
                                                   const std::string& source,
                                                   const std::string& except,
                                                   const std::string& password);

// A switchover, before the old primary is stopped. MariaDB: it stops taking the application's
// writes and the target receives all it wrote (a clean shutdown does not wait for replicas).
// PostgreSQL: nothing (a clean shutdown sends the replicas all its WAL).
awaitable<core::result<void>>
hand_over(engine e, const observed_pod& from, const observed_pod& to, const std::string& password);

// Promotes the pod's server, waiting for it to finish: pg_promote(), or for MariaDB
// mariadb::promote.
awaitable<core::result<void>>
promote(engine e, const observed_pod& pod, const std::string& password, bool synchronous);

} // namespace kubecoro::controllers::database
