// plan_upkeep: planned work moves the primary by a switchover (scaling down past it, a drain of its
// node, the end of a rolling update) and restarts replicas one at a time.
#include "database/upkeep.hpp"

#include <doctest/doctest.h>

using namespace kubecoro::controllers::database;

namespace {

member at(std::string name, bool primary, std::uint64_t wal = 100) {
    member m;
    m.name = std::move(name);
    m.uid = m.name + "-uid";
    m.node = "n1";
    m.ready = m.answered = true;
    m.in_recovery = m.streaming = !primary;
    m.wal = wal;
    return m;
}

upkeep_input three() {
    return {
        "db-0", {at("db-0", true), at("db-1", false, 90), at("db-2", false, 95)}, {"db-0", "db-1", "db-2"}};
}

} // namespace

TEST_CASE("nothing to do: every member updated, the primary's node schedulable, kept") {
    upkeep_plan p = plan_upkeep(three());
    CHECK(p.switchover_to.empty());
    CHECK(p.restart.empty());
    CHECK(p.blocked.empty());
}

TEST_CASE("scaling down past the primary: a switchover to the most advanced kept replica") {
    upkeep_input in = three();
    in.primary = "db-2";
    in.members[0].in_recovery = in.members[0].streaming = true;
    in.members[2].in_recovery = in.members[2].streaming = false;
    in.expected = {"db-0"};
    upkeep_plan p = plan_upkeep(in);
    CHECK(p.switchover_to == "db-0");
    CHECK(p.why == "scaling down removes db-2");
    in.members[0].streaming = false;
    p = plan_upkeep(in);
    CHECK(p.switchover_to.empty());
    CHECK(p.blocked.find("no replica streams") != std::string::npos);
}

TEST_CASE("a drain: the primary's node cordoned, it moves to a replica on a schedulable node") {
    upkeep_input in = three();
    in.members[0].node_unschedulable = true;
    in.members[2].node_unschedulable = true; // db-2 (the most advanced) is on the drained node too
    in.members[1].node = "n2";
    upkeep_plan p = plan_upkeep(in);
    CHECK(p.switchover_to == "db-1");
    CHECK(p.why == "node n1 of db-0 is cordoned (drained)");
    // All on one drained node: nothing to move to; the drain waits (the primary's budget) and says so.
    in.members[1].node_unschedulable = true;
    p = plan_upkeep(in);
    CHECK(p.switchover_to.empty());
    CHECK(p.blocked.find("no streaming replica runs on a schedulable node") != std::string::npos);
}

TEST_CASE("a rolling update: replicas one at a time, highest ordinal first, then a switchover") {
    upkeep_input in = three();
    for (member& m : in.members)
        m.updated = false;
    upkeep_plan p = plan_upkeep(in);
    CHECK(p.restart == "db-2");
    CHECK(p.restart_uid == "db-2-uid");
    CHECK(p.switchover_to.empty());
    // db-2 restarting (not ready): nothing else until it is back.
    in.members[2] = at("db-2", false, 95);
    in.members[2].ready = false;
    p = plan_upkeep(in);
    CHECK(p.restart.empty());
    CHECK(p.blocked == "rolling update waits for every member to be ready");
    in.members[2].ready = true;
    CHECK(plan_upkeep(in).restart == "db-1");
    in.members[1] = at("db-1", false, 99);
    // Only the primary is left on the old revision: switched over to the most advanced updated
    // replica (its fencing restarts it on the new revision).
    p = plan_upkeep(in);
    CHECK(p.restart.empty());
    CHECK(p.switchover_to == "db-1");
    CHECK(p.why == "rolling update: db-0 is the last member on the old revision");
}

TEST_CASE("a primary that does not answer is the failover's business, not upkeep's") {
    upkeep_input in = three();
    in.members[0].answered = false;
    in.members[0].node_unschedulable = true;
    in.members[1].updated = false;
    upkeep_plan p = plan_upkeep(in);
    CHECK(p.switchover_to.empty());
    CHECK(p.restart.empty());
}
