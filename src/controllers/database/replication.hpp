// Which member of a replicated PostgreSQL Database is the primary, and how it changes: a
// switchover on request, a failover when the primary stays unreachable. The operator is the only
// brain and keeps nothing in memory: what it is doing is recorded in the status before it acts,
// and each reconcile takes the next step from that record and from what the members answer.
//
// A change of primary: (1) record it; the Service <name> then routes nowhere and no member starts
// as primary (the ConfigMap names none); (2) fence the old primary: delete its pod (a precondition
// on its uid) and wait until the kubelet confirmed it stopped (the pod object is gone), however
// long that takes; (3) choose the member to promote (a switchover's target, else the replica that
// received the most WAL), recorded; (4) promote it once no other member accepts writes; (5) route
// the Service to it, name it in the ConfigMap, and record it as current. In synchronous mode, a
// failover chooses only once every member recorded as a synchronous standby answered (a commit
// was acknowledged when one of them had it). Pure: no I/O.
#pragma once

#include "database/spec.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kubecoro::controllers::database {

// On the Database: names the member to make primary (kubectl annotate db/x
// kubecoro.dev/switchover-to=x-1); removed by the operator once it is.
inline constexpr std::string_view switchover_annotation = "kubecoro.dev/switchover-to";
// What the Service <name> and the ConfigMap's `primary` name while the primary changes: no pod.
inline constexpr std::string_view no_primary = "none";

struct primary_switch {
    std::string reason;   // "Switchover" or "Failover"
    std::string from;     // the primary being replaced
    std::string from_uid; // its pod when the switch began ("" when it had none)
    std::string to;       // the member to promote ("" until chosen, once the old one is fenced)
    std::string started;  // RFC 3339
    bool operator==(const primary_switch&) const = default;
};

// MariaDB: a member to copy from the primary again (its data moved aside on its volume).
struct reseed_request {
    std::string member;
    std::string requested; // RFC 3339; a pod made after it has been copied again
    bool operator==(const reseed_request&) const = default;
};

// status.replication: what the operator is doing, so that its next leader carries on.
struct replication_record {
    std::optional<primary_switch> in_progress;
    std::string unreachable_since; // RFC 3339: the primary stopped answering then; "" while it answers
    // Synchronous mode: every member seen streaming from the primary (so it may hold a commit
    // acknowledged to a client that no other member has). A failover waits for each of them to
    // answer before it chooses whom to promote. Forgotten when scaled away.
    std::vector<std::string> standbys;
    std::vector<reseed_request> reseeding;
    bool operator==(const replication_record&) const = default;
};

replication_record read_replication(const json::value& db); // from the Database's status
json::value encode_replication(const replication_record& r);

// A member: its pod, and what its server answered (nothing when it did not).
struct member {
    std::string name, uid;
    std::string created; // the pod's creationTimestamp
    bool terminating = false;
    bool stopped = false; // terminating, and the kubelet reports its server's container stopped
    bool running = false; // a container of its pod runs (observed_pod::running)
    bool ready = false;   // the pod's readiness: a replica streams, the primary accepts connections
    bool answered = false;
    bool in_recovery = false;
    std::uint64_t wal = 0;      // a primary's current WAL position, a replica's received (or replayed)
    std::uint64_t replayed = 0; // a replica's replayed position
    bool streaming = false;
    long timeline = 0;
    std::string node;                // the pod's node
    bool node_unschedulable = false; // cordoned (a drain)
    bool updated = true;             // the pod is on the StatefulSet's update revision
    std::optional<long> lag_seconds; // a replica: since the last replayed commit, 0 when caught up
    std::string synchronous_names; // its synchronous_standby_names (MariaDB: semi-sync on the primary's side)
    // MariaDB: its GTID position ("0-1-42"; the sequence number is `wal`), whether a replication
    // source is set, and the error its replication threads stopped on.
    std::string gtid;
    bool following = false;
    std::string replication_error;
    int replication_errno = 0; // its I/O thread's (1236: the primary cannot send what it asks for)
};

// "16/B374D848" as a number; 0 when it is not an LSN.
std::uint64_t parse_lsn(std::string_view lsn);
std::string format_lsn(std::uint64_t lsn);

struct replication_input {
    std::string primary; // status.currentPrimary
    replication_record record;
    std::vector<member> members; // every pod of the StatefulSet
    std::string requested;       // the switchover annotation's value
    std::chrono::system_clock::time_point now;
    std::chrono::seconds failover_delay{10};
    bool synchronous = false;
    std::vector<std::string> expected; // the members the spec asks for (<name>-0 ..)
    // Every member that answered has the synchronous_standby_names the spec asks for.
    bool settings_applied = true;
};

struct replication_plan {
    enum class action {
        none,
        fence,          // delete `pod` (precondition `uid`): the old primary, or a member that
                        // accepts writes while another is being promoted
        promote,        // pg_promote() on `pod`
        finish,         // `pod` is the new primary: route to it and record it as current
        forget_request, // the switchover annotation names the primary already: remove it
    };
    replication_record record; // the status to write (when it differs, write before acting)
    action act = action::none;
    std::string pod, uid;
    bool gentle = true; // fence with the pod's own grace period (a switchover's clean shutdown)
    // The PrimaryAvailable condition.
    std::string status = "True", reason = "Serving", message;
    std::string event_reason, event; // said once, at a transition ("" for none)
    bool warning = false;
    std::chrono::milliseconds again{2000}; // when to look at the members again
};

replication_plan plan_replication(const replication_input& in);

// MariaDB: a replica whose I/O thread stopped with error 1236 (it holds transactions the primary
// does not have, as a former primary may after an asynchronous failover, or it needs binary logs
// the primary no longer keeps) is copied from the primary again: requested (recorded, and said in
// the ConfigMap, where its init container moves its data aside), then its pod deleted, and the
// request forgotten once a pod made after it replicates. Only while a healthy primary serves and no
// switch is in progress. Pure.
struct reseed_plan {
    std::vector<reseed_request> reseeding; // the record's list
    std::string pod, uid;                  // delete this pod (its request is already recorded)
    std::string event;                     // a new request, said once
};
reseed_plan plan_reseed(const std::vector<member>& members,
                        const std::vector<reseed_request>& recorded,
                        const std::string& primary,
                        bool switching,
                        const std::string& now);
// The ConfigMap's `reseed`: a comment, then one "<pod> <requested>" line per request.
std::string reseed_lines(const std::vector<reseed_request>& requests);

} // namespace kubecoro::controllers::database
