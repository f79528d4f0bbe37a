// plan_replication: each step of a switchover and of a failover from the status record and what the
// members answered, with a fake clock; fencing before promotion, never two writable members.
#include "database/replication.hpp"
#include "helpers.hpp"
#include <kubecoro/runtime/conditions.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using namespace kubecoro::controllers::database;
using action = replication_plan::action;
using namespace std::chrono_literals;

namespace {

const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

member primary(std::string name, std::uint64_t wal = 1000) {
    member m;
    m.name = std::move(name);
    m.uid = m.name + "-uid";
    m.ready = m.answered = true;
    m.wal = wal;
    return m;
}
member replica(std::string name, std::uint64_t wal, bool streaming = true) {
    member m = primary(std::move(name), wal);
    m.in_recovery = true;
    m.replayed = wal;
    m.streaming = streaming;
    return m;
}
member silent(std::string name) {
    member m;
    m.name = std::move(name);
    m.uid = m.name + "-uid";
    return m;
}

replication_input input(std::vector<member> members, std::string current = "db-0") {
    replication_input in;
    in.primary = std::move(current);
    in.members = std::move(members);
    in.now = t0;
    in.failover_delay = 10s;
    return in;
}

} // namespace

TEST_CASE("lsn: parsed and formatted as PostgreSQL writes them") {
    CHECK(parse_lsn("0/3000060") == 0x3000060);
    CHECK(parse_lsn("16/B374D848") == ((std::uint64_t(0x16) << 32) | 0xB374D848));
    CHECK(parse_lsn("") == 0);
    CHECK(parse_lsn("x/1") == 0);
    CHECK(parse_lsn("1/") == 0);
    CHECK(format_lsn(parse_lsn("16/B374D848")) == "16/B374D848");
}

TEST_CASE("replication record: read back from the status it is written to") {
    replication_record r;
    r.unreachable_since = "2027-01-15T08:00:00Z";
    r.in_progress = primary_switch{"Failover", "db-0", "u0", "db-2", "2027-01-15T08:00:10Z"};
    r.standbys = {"db-1", "db-2"};
    r.reseeding = {{"db-1", "2027-01-15T08:00:20Z"}};
    json::object status{{"replication", encode_replication(r)}};
    json::value db = json::object{{"status", status}};
    CHECK(read_replication(db) == r);
    CHECK(read_replication(json::object{}) == replication_record{});
    CHECK(encode_replication(replication_record{}).if_object()->empty());
}

TEST_CASE("a healthy primary: nothing to do, looked at again in 2 s") {
    auto p = plan_replication(input({primary("db-0"), replica("db-1", 900)}));
    CHECK(p.act == action::none);
    CHECK(p.status == "True");
    CHECK(p.message == "db-0 is the primary");
    CHECK(p.again == 2000ms);
    CHECK_FALSE(p.record.in_progress);
}

TEST_CASE("failover: after failoverDelay of silence, fence, promote the most advanced, route to it") {
    auto in = input({silent("db-0"), replica("db-1", 900), replica("db-2", 950)});
    // First silence: recorded, nothing else.
    auto p = plan_replication(in);
    CHECK(p.act == action::none);
    CHECK(p.record.unreachable_since == runtime::now_rfc3339(t0));
    CHECK(p.reason == "Unreachable");
    CHECK(p.message.find("does not answer") != std::string::npos);
    // A restart that comes back within the delay clears it.
    in.record = p.record;
    in.now = t0 + 4s;
    auto back = in;
    back.members[0] = primary("db-0");
    CHECK(plan_replication(back).record.unreachable_since.empty());
    // Still silent past the delay: the switch is recorded (nothing is done before it is).
    in.now = t0 + 10s;
    p = plan_replication(in);
    REQUIRE(p.record.in_progress);
    CHECK(p.record.in_progress->reason == "Failover");
    CHECK(p.record.in_progress->from == "db-0");
    CHECK(p.record.in_progress->from_uid == "db-0-uid");
    CHECK(p.record.in_progress->to.empty());
    CHECK(p.act == action::none);
    CHECK(p.warning);
    CHECK(p.event_reason == "FailoverStarted");
    // Fencing: the old primary's pod is deleted, quickly (it may be frozen).
    in.record = p.record;
    p = plan_replication(in);
    CHECK(p.act == action::fence);
    CHECK(p.pod == "db-0");
    CHECK(p.uid == "db-0-uid");
    CHECK_FALSE(p.gentle);
    CHECK(p.status == "False");
    // Terminating: nothing is promoted until the kubelet confirmed (the pod object is gone).
    in.members[0].terminating = true;
    p = plan_replication(in);
    CHECK(p.act == action::none);
    CHECK(p.reason == "Fencing");
    CHECK(p.message.find("nothing is promoted until the kubelet confirms") != std::string::npos);
    // Its server's container reported stopped by the kubelet: fenced, as when the pod is gone.
    in.members[0].stopped = true;
    CHECK(plan_replication(in).record.in_progress->to == "db-2");
    // Gone (the StatefulSet's new db-0 waits to rejoin): the most advanced replica is chosen.
    in.members[0] = silent("db-0");
    in.members[0].uid = "db-0-new";
    // Made just after the switch was recorded: it may have read the ConfigMap naming it primary.
    // While the kubelet sets it up (no container runs), it accepts nothing and is not deleted (a
    // deletion then can leave it Terminating for minutes): waited for.
    in.members[0].created = runtime::now_rfc3339(t0 + 12s);
    in.now = t0 + 13s;
    p = plan_replication(in);
    CHECK(p.act == action::none);
    CHECK(p.reason == "Fencing");
    CHECK(p.message.find("to start before stopping it") != std::string::npos);
    CHECK(p.record.in_progress->to.empty());
    // A container of it runs: deleted, quickly.
    in.members[0].running = true;
    p = plan_replication(in);
    CHECK(p.act == action::fence);
    CHECK(p.uid == "db-0-new");
    CHECK_FALSE(p.gentle);
    // One that answers read-only (MariaDB starts read-only; PostgreSQL in recovery) did not read
    // the ConfigMap naming it primary: not deleted, and the most advanced member is chosen.
    auto read_only = in;
    read_only.members[0].answered = true;
    read_only.members[0].in_recovery = true;
    read_only.members[0].wal = 800;
    p = plan_replication(read_only);
    CHECK(p.act == action::none);
    CHECK(p.record.in_progress->to == "db-2");
    // One that never starts a container is deleted anyway after 20 s.
    in.members[0].running = false;
    in.now = t0 + 32s;
    p = plan_replication(in);
    CHECK(p.act == action::fence);
    CHECK(p.uid == "db-0-new");
    in.now = t0 + 10s;
    // Made later: it read "none", and waits to rejoin.
    in.members[0].created = runtime::now_rfc3339(t0 + 16s);
    p = plan_replication(in);
    REQUIRE(p.record.in_progress);
    CHECK(p.record.in_progress->to == "db-2");
    CHECK(p.act == action::none);
    CHECK(p.event.find("promoting db-2") != std::string::npos);
    // Recorded: promoted.
    in.record = p.record;
    p = plan_replication(in);
    CHECK(p.act == action::promote);
    CHECK(p.pod == "db-2");
    // Promoted: the switch ends, the primary is db-2.
    in.members[2].in_recovery = false;
    in.now = t0 + 17s;
    p = plan_replication(in);
    CHECK(p.act == action::finish);
    CHECK(p.pod == "db-2");
    CHECK_FALSE(p.record.in_progress);
    CHECK(p.record.unreachable_since.empty());
    CHECK(p.status == "True");
    CHECK(p.event == "db-2 is the primary (was db-0, Failover in 7 s)");
}

TEST_CASE("synchronous mode: the members seen streaming are recorded, and forgotten when scaled away") {
    auto in = input({primary("db-0"), replica("db-1", 900), replica("db-2", 0, false)});
    in.synchronous = true;
    in.expected = {"db-0", "db-1", "db-2"};
    auto p = plan_replication(in);
    CHECK(p.record.standbys == std::vector<std::string>{"db-1"}); // db-2 still clones
    CHECK(p.act == action::none);
    // Once it streams, both; a member that stops answering stays recorded (it may hold a commit).
    in.record = p.record;
    in.members[2] = replica("db-2", 900);
    in.members[1] = silent("db-1");
    CHECK(plan_replication(in).record.standbys == std::vector<std::string>{"db-1", "db-2"});
    in.record.standbys = {"db-1", "db-2"};
    in.expected = {"db-0", "db-1"}; // scaled to 2
    CHECK(plan_replication(in).record.standbys == std::vector<std::string>{"db-1"});
    in.synchronous = false; // asynchronous again: nothing to wait for
    CHECK(plan_replication(in).record.standbys.empty());
}

TEST_CASE("synchronous mode: a failover chooses only once every recorded standby answered") {
    // db-1 and db-2 streamed; db-3 was still cloning when db-0 went silent (it holds nothing).
    auto in = input({silent("db-0"), replica("db-1", 900), silent("db-2"), silent("db-3")});
    in.synchronous = true;
    in.expected = {"db-0", "db-1", "db-2", "db-3"};
    in.record.standbys = {"db-1", "db-2"};
    in.record.unreachable_since = runtime::now_rfc3339(t0 - 60s);
    auto p = plan_replication(in);
    REQUIRE(p.record.in_progress); // db-1 answers: a failover starts (nothing chosen yet)
    in.record = p.record;
    in.members[0].stopped = in.members[0].terminating = true; // fenced
    p = plan_replication(in);
    CHECK(p.act == action::none);
    CHECK(p.record.in_progress->to.empty());
    CHECK(p.reason == "Switching");
    CHECK(p.message.find("synchronous mode: waiting for db-2 to answer") != std::string::npos);
    // db-2 is back with more WAL than db-1 (the last acknowledged commit was on it alone): chosen.
    in.members[2] = replica("db-2", 950);
    p = plan_replication(in);
    REQUIRE(p.record.in_progress);
    CHECK(p.record.in_progress->to == "db-2");
    // Without synchronous mode (nothing recorded) the same failover promotes whoever answers.
    in.synchronous = false;
    in.record.standbys.clear();
    in.members[2] = silent("db-2");
    CHECK(plan_replication(in).record.in_progress->to == "db-1");
}

TEST_CASE("failover: waits, and says so, when no replica answers") {
    auto in = input({silent("db-0"), silent("db-1")});
    in.record.unreachable_since = runtime::now_rfc3339(t0 - 60s);
    auto p = plan_replication(in);
    CHECK_FALSE(p.record.in_progress);
    CHECK(p.reason == "NoCandidate");
    CHECK(p.message.find("nothing can be promoted") != std::string::npos);
}

TEST_CASE("a member that accepts writes besides the primary, or while another is promoted, is fenced") {
    auto p = plan_replication(input({primary("db-0"), primary("db-1")}));
    CHECK(p.act == action::fence);
    CHECK(p.pod == "db-1");
    CHECK(p.warning);
    auto in = input({silent("db-0"), replica("db-1", 900), primary("db-2")});
    in.members[0].created = runtime::now_rfc3339(t0);
    in.record.in_progress =
        primary_switch{"Failover", "db-0", "gone", "db-1", runtime::now_rfc3339(t0 - 60s)};
    p = plan_replication(in);
    CHECK(p.act == action::fence);
    CHECK(p.pod == "db-2");
    CHECK(p.uid == "db-2-uid");
}

TEST_CASE("switchover: on request to a streaming replica, the primary stopped cleanly, then promoted") {
    auto in = input({primary("db-0"), replica("db-1", 990), replica("db-2", 900, false)});
    in.requested = "db-2"; // not streaming: waits
    auto p = plan_replication(in);
    CHECK_FALSE(p.record.in_progress);
    CHECK(p.reason == "SwitchoverWaiting");
    in.requested = "db-9";
    CHECK(plan_replication(in).reason == "SwitchoverWaiting");
    in.requested = "db-0"; // the primary already: the request is removed
    CHECK(plan_replication(in).act == action::forget_request);
    in.requested = "db-1";
    p = plan_replication(in);
    REQUIRE(p.record.in_progress);
    CHECK(p.record.in_progress->reason == "Switchover");
    CHECK(p.record.in_progress->to == "db-1");
    in.record = p.record;
    p = plan_replication(in);
    CHECK(p.act == action::fence);
    CHECK(p.gentle); // its own grace period: a clean shutdown sends the last WAL to the replicas
    // The old primary is gone: the target stays db-1 even if another went further.
    in.members[0] = silent("db-0");
    in.members[0].uid = "db-0-new";
    in.members[0].created = runtime::now_rfc3339(t0 + 60s);
    in.members[2].wal = 5000;
    p = plan_replication(in);
    CHECK(p.act == action::promote);
    CHECK(p.pod == "db-1");
}

TEST_CASE("a chosen member is never chosen again: its pod, gone, is waited for") {
    auto in = input({silent("db-2"), replica("db-1", 900)});
    in.members[0].created = runtime::now_rfc3339(t0);
    in.record.in_progress = primary_switch{"Failover", "db-2", "old", "db-0", runtime::now_rfc3339(t0 - 60s)};
    auto p = plan_replication(in);
    REQUIRE(p.record.in_progress);
    CHECK(p.record.in_progress->to == "db-0");
    CHECK(p.act == action::none);
    CHECK(p.message == "waiting for db-0 to answer before promoting it");
}

TEST_CASE("a member being deleted whose server is not known stopped holds the promotion") {
    auto in = input({replica("db-0", 900), replica("db-1", 900)});
    in.members[1].terminating = true;
    in.record.in_progress = primary_switch{"Failover", "db-2", "old", "db-0", runtime::now_rfc3339(t0 - 60s)};
    auto p = plan_replication(in);
    CHECK(p.act == action::none);
    CHECK(p.reason == "Fencing");
    in.members[1].stopped = true;
    CHECK(plan_replication(in).act == action::promote);
}

TEST_CASE("synchronous mode: a switchover's target must hold what the other standbys received") {
    // db-0 was killed during a switchover to db-1 (no clean shutdown; its pod is gone): db-2
    // received more.
    auto in = input({replica("db-1", 900), silent("db-2")});
    in.synchronous = true;
    in.expected = {"db-0", "db-1", "db-2"};
    in.record.standbys = {"db-1", "db-2"};
    in.record.in_progress =
        primary_switch{"Switchover", "db-0", "db-0-uid", "db-1", runtime::now_rfc3339(t0)};
    auto p = plan_replication(in);
    CHECK(p.act == action::none);
    CHECK(p.message == "synchronous mode: waiting for db-2 to answer before promoting db-1");
    in.members[1] = replica("db-2", 950);
    p = plan_replication(in);
    CHECK(p.act == action::none);
    REQUIRE(p.record.in_progress);
    CHECK(p.record.in_progress->to == "db-2");
    CHECK(p.event.find("promoting db-2 instead of db-1") != std::string::npos);
    in.record = p.record;
    CHECK(plan_replication(in).act == action::promote);
    CHECK(plan_replication(in).pod == "db-2");
}

TEST_CASE("synchronous mode: the standbys are kept through a switch, and until the setting is gone") {
    auto in = input({primary("db-0"), replica("db-1", 900), replica("db-2", 900)});
    in.synchronous = true;
    in.expected = {"db-0"}; // scaled to 1 in the same change
    in.record.standbys = {"db-1", "db-2"};
    in.record.in_progress = primary_switch{"Failover", "db-0", "db-0-uid", "", runtime::now_rfc3339(t0)};
    CHECK(plan_replication(in).record.standbys == std::vector<std::string>{"db-1", "db-2"});
    in.record.in_progress.reset();
    in.synchronous = false;
    in.settings_applied = false; // a member still has synchronous_standby_names
    CHECK(plan_replication(in).record.standbys == std::vector<std::string>{"db-1", "db-2"});
    in.settings_applied = true;
    CHECK(plan_replication(in).record.standbys.empty());
}

TEST_CASE("plan_reseed: a replica that cannot replicate is requested, its pod deleted once recorded, "
          "forgotten once a new pod replicates") {
    const std::string now = runtime::now_rfc3339(t0);
    member diverged = replica("db-0", 900, false);
    diverged.replication_errno = 1236;
    diverged.replication_error = "Got fatal error 1236 from master";
    diverged.created = runtime::now_rfc3339(t0 - 1h);
    std::vector<member> members{diverged, primary("db-1"), replica("db-2", 1000)};
    // Requested: recorded, nothing deleted yet (the request reaches the ConfigMap first).
    reseed_plan p = plan_reseed(members, {}, "db-1", false, now);
    REQUIRE(p.reseeding.size() == 1);
    CHECK(p.reseeding[0] == reseed_request{"db-0", now});
    CHECK(p.pod.empty());
    CHECK(p.event.find("db-0 cannot replicate from db-1 (Got fatal error 1236 from master)") !=
          std::string::npos);
    CHECK(reseed_lines(p.reseeding) == reseed_lines({}) + "db-0 " + now + "\n");
    CHECK(reseed_lines({}).starts_with("# "));
    // Recorded: its (old) pod is deleted, the request kept, said once.
    reseed_plan next = plan_reseed(members, p.reseeding, "db-1", false, runtime::now_rfc3339(t0 + 2s));
    CHECK(next.reseeding == p.reseeding);
    CHECK(next.pod == "db-0");
    CHECK(next.uid == "db-0-uid");
    CHECK(next.event.empty());
    // A new pod, being copied (not answering yet): kept, not deleted.
    members[0] = silent("db-0");
    members[0].created = runtime::now_rfc3339(t0 + 5s);
    next = plan_reseed(members, p.reseeding, "db-1", false, runtime::now_rfc3339(t0 + 6s));
    CHECK(next.reseeding == p.reseeding);
    CHECK(next.pod.empty());
    // It replicates: forgotten.
    members[0] = replica("db-0", 1000);
    members[0].created = runtime::now_rfc3339(t0 + 5s);
    CHECK(plan_reseed(members, p.reseeding, "db-1", false, runtime::now_rfc3339(t0 + 60s)).reseeding.empty());
    // Scaled away: forgotten.
    CHECK(plan_reseed({primary("db-1")}, p.reseeding, "db-1", false, now).reseeding.empty());
}

TEST_CASE("plan_reseed: nothing is requested during a switch, without a serving primary, or for other "
          "errors") {
    member diverged = replica("db-0", 900, false);
    diverged.replication_errno = 1236;
    const std::string now = runtime::now_rfc3339(t0);
    CHECK(plan_reseed({diverged, primary("db-1")}, {}, "db-1", true, now).reseeding.empty());
    CHECK(plan_reseed({diverged, silent("db-1")}, {}, "db-1", false, now).reseeding.empty());
    CHECK(plan_reseed({diverged, replica("db-1", 1000)}, {}, "db-1", false, now).reseeding.empty());
    member unreachable = replica("db-0", 900, false);
    unreachable.replication_errno = 2003; // cannot connect: it retries by itself
    CHECK(plan_reseed({unreachable, primary("db-1")}, {}, "db-1", false, now).reseeding.empty());
    // The primary itself is never requested.
    member odd = primary("db-1");
    odd.replication_errno = 1236;
    CHECK(plan_reseed({odd}, {}, "db-1", false, now).reseeding.empty());
}
