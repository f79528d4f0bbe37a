#include "database/upkeep.hpp"

#include <algorithm>

namespace kubecoro::controllers::database {
namespace {

bool listed(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// The replica that received the most WAL among those that stream and match `also`.
template <class Pred>
const member* best_replica(const upkeep_input& in, Pred also) {
    const member* best = nullptr;
    for (const member& m : in.members)
        if (m.name != in.primary && listed(in.expected, m.name) && !m.terminating && m.answered &&
            m.in_recovery && m.streaming && m.ready && also(m) && (!best || m.wal > best->wal))
            best = &m;
    return best;
}

} // namespace

upkeep_plan plan_upkeep(const upkeep_input& in) {
    upkeep_plan p;
    const member* primary = nullptr;
    for (const member& m : in.members)
        if (m.name == in.primary)
            primary = &m;
    if (!primary || !primary->answered || primary->in_recovery || primary->terminating)
        return p; // failover's business (replication.hpp)
    auto move_to = [&](const member* to, std::string why) {
        p.switchover_to = to->name;
        p.why = std::move(why);
        return p;
    };
    if (!listed(in.expected, in.primary)) {
        if (const member* to = best_replica(in, [](const member&) { return true; }))
            return move_to(to, "scaling down removes " + in.primary);
        p.blocked = "scaling down waits: " + in.primary + " is the primary and no replica streams";
        return p;
    }
    if (primary->node_unschedulable) {
        if (const member* to = best_replica(in, [](const member& m) { return !m.node_unschedulable; }))
            return move_to(to, "node " + primary->node + " of " + in.primary + " is cordoned (drained)");
        p.blocked = "node " + primary->node + " of the primary " + in.primary +
                    " is cordoned and no streaming replica runs on a schedulable node: a drain waits "
                    "(PodDisruptionBudget) until one does";
        return p;
    }
    // A rolling update: one member at a time, and only while every member is ready.
    bool all_ready = true;
    for (const std::string& name : in.expected) {
        auto it = std::find_if(
            in.members.begin(), in.members.end(), [&](const member& m) { return m.name == name; });
        if (it == in.members.end() || !it->ready || it->terminating)
            all_ready = false;
    }
    const member* outdated_replica = nullptr;
    for (const member& m : in.members)
        if (m.name != in.primary && !m.updated && listed(in.expected, m.name) &&
            (!outdated_replica || m.name > outdated_replica->name)) // the highest ordinal (0..4)
            outdated_replica = &m;
    if (outdated_replica) {
        if (!all_ready) {
            p.blocked = "rolling update waits for every member to be ready";
            return p;
        }
        p.restart = outdated_replica->name;
        p.restart_uid = outdated_replica->uid;
        p.why = "rolling update: restarting replica " + outdated_replica->name + " on the new revision";
        return p;
    }
    if (!primary->updated) {
        if (const member* to = best_replica(in, [](const member& m) { return m.updated; }); to && all_ready)
            return move_to(to, "rolling update: " + in.primary + " is the last member on the old revision");
        p.blocked = "rolling update waits for an updated replica that streams before switching over";
    }
    return p;
}

} // namespace kubecoro::controllers::database
