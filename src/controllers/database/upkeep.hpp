// When the primary of a replicated PostgreSQL Database should move, and which replica restarts
// next, so that planned work never takes writes away for longer than a switchover: a scale-down
// that removes the primary's ordinal, a drain of the primary's node (cordoned: its PodDisruption-
// Budget holds the eviction until the primary has moved), and a rolling update (the StatefulSet's
// updateStrategy is OnDelete: replicas restart one at a time, then the primary is switched over to
// an updated replica, and its fencing restarts it). Pure: no I/O.
#pragma once

#include "database/replication.hpp"

#include <string>
#include <vector>

namespace kubecoro::controllers::database {

struct upkeep_input {
    std::string primary;               // status.currentPrimary
    std::vector<member> members;       // every pod of the StatefulSet, with what it answered
    std::vector<std::string> expected; // the members the spec asks for, in ordinal order
};

struct upkeep_plan {
    std::string switchover_to;        // a switchover to request ("" for none)
    std::string why;                  // why, for the log and the condition
    std::string restart, restart_uid; // a replica to delete so that it comes back updated
    std::string blocked;              // work that waits, and for what ("" for none)
};

upkeep_plan plan_upkeep(const upkeep_input& in);

} // namespace kubecoro::controllers::database
