// What the servers of a replicated MariaDB Database say, asked over SQL as the operator's account
// (kubecoro), and what the operator makes them do: follow the primary, take semi-synchronous
// commits, hand over to a replica, be promoted. The GTID sequence number of replication domain 0
// is the position (members.hpp dispatches here).
#pragma once

#include "database/members.hpp"
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>

#include <string>
#include <vector>

namespace kubecoro::controllers::database::mariadb {

// "0-1-5,1-2-9" -> 5: the sequence number of domain 0; 0 when there is none.
std::uint64_t gtid_sequence(std::string_view gtid_list);

// (`port`: every server's; tests run several on one address.)
awaitable<std::vector<member>>
ask_members(const std::vector<observed_pod>& pods, const std::string& password, int port = 3306);

// Every member's rpl_semi_sync_master_enabled: on for a writable member (the primary, or the one
// just promoted) in synchronous mode, else off.
awaitable<synchronous_setting> configure_synchronous(const std::vector<observed_pod>& pods,
                                                     const std::vector<member>& members,
                                                     bool synchronous,
                                                     const std::string& password,
                                                     int port = 3306);

// Each read-only member that follows nothing (a new replica, a former primary restarted) follows
// `source` (the Service that routes to the primary) from its own GTID position; `except` (the
// member being promoted) is left alone. The members changed.
awaitable<std::vector<std::string>> follow(const std::vector<observed_pod>& pods,
                                           const std::vector<member>& members,
                                           const std::string& source,
                                           const std::string& except,
                                           const std::string& password,
                                           int port = 3306,
                                           int source_port = 3306);

// A switchover's first step: `from` stops taking the application's writes (read_only: only the
// operator's and root's accounts may still write), then `to` is waited for until it received
// everything `from` wrote (at most `bound`). Clients are told by the error the server gives.
awaitable<core::result<void>> hand_over(const observed_pod& from,
                                        const observed_pod& to,
                                        const std::string& password,
                                        std::chrono::milliseconds bound,
                                        int port = 3306,
                                        int to_port = 3306);

// The replica stops receiving, applies what it received, forgets its source and becomes writable
// (semi-synchronous on in synchronous mode). Done again on a member already promoted, it only
// makes sure it is writable.
awaitable<core::result<void>>
promote(const observed_pod& pod, const std::string& password, bool synchronous, int port = 3306);

} // namespace kubecoro::controllers::database::mariadb
