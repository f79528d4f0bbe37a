#include <kubecoro/core/errc.hpp>
#include <kubecoro/leader/election_fsm.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>

using namespace kubecoro;
using namespace std::chrono_literals;
using leader::action_type;
using leader::notice;
using leader::write_outcome;

namespace {

// A controllable clock: both readings advance together from an arbitrary origin.
leader::instant at(std::chrono::milliseconds t) {
    return {std::chrono::steady_clock::time_point{} + 1000h + t,
            std::chrono::system_clock::time_point{} + 24h * 20000 + t};
}
std::chrono::steady_clock::time_point steady(std::chrono::milliseconds t) {
    return at(t).steady;
}
std::chrono::system_clock::time_point wall(std::chrono::milliseconds t) {
    return at(t).wall;
}

leader::election_config config(std::string id) {
    return {std::move(id), 15s, 10s, 2s};
}

leader::lease_record
held_by(std::string holder, std::string rv, std::chrono::milliseconds renewed, int transitions = 0) {
    leader::lease_record r;
    r.holder_identity = std::move(holder);
    r.lease_duration_seconds = 15;
    r.acquire_time = wall(0ms);
    r.renew_time = wall(renewed);
    r.lease_transitions = transitions;
    r.resource_version = std::move(rv);
    return r;
}

// Runs start -> 404 -> create -> ok: leader at time t with resourceVersion "1".
leader::election_fsm leading(std::string id, std::chrono::milliseconds t) {
    leader::election_fsm fsm(config(std::move(id)));
    (void)fsm.start(at(t));
    (void)fsm.on_read(at(t), std::nullopt);
    auto a = fsm.on_write(at(t), write_outcome::ok, "1");
    REQUIRE(a.event == notice::became_leader);
    return fsm;
}

} // namespace

TEST_CASE("validate follows client-go's rules") {
    CHECK(leader::validate(config("a")));
    CHECK_FALSE(leader::validate(config("")));
    CHECK_FALSE(leader::validate({"a", 10s, 10s, 2s}));    // lease must outlast the renew deadline
    CHECK_FALSE(leader::validate({"a", 15s, 2400ms, 2s})); // renew deadline <= 1.2 x retry
    CHECK_FALSE(leader::validate({"a", 15s, 10s, 0s}));
    CHECK(leader::validate({"a", 15s, 10s, 2s}).has_value());
    auto bad = leader::validate(config(""));
    CHECK(bad.error().code == core::errc::invalid_argument);
}

TEST_CASE("acquires by creating the lease when there is none") {
    leader::election_fsm fsm(config("a"));
    auto a = fsm.start(at(0ms));
    CHECK(a.type == action_type::read);
    a = fsm.on_read(at(0ms), std::nullopt);
    REQUIRE(a.type == action_type::create);
    CHECK(a.record.holder_identity == "a");
    CHECK(a.record.lease_duration_seconds == 15);
    CHECK(a.record.acquire_time == wall(0ms));
    CHECK(a.record.renew_time == wall(0ms));
    CHECK(a.record.lease_transitions == 0);
    CHECK(a.record.resource_version.empty());
    CHECK_FALSE(fsm.is_leader());
    a = fsm.on_write(at(50ms), write_outcome::ok, "1");
    CHECK(a.type == action_type::wait);
    CHECK(a.event == notice::became_leader);
    CHECK(a.until == steady(2050ms));
    CHECK(fsm.is_leader());
    CHECK(fsm.leader_identity() == "a");
    CHECK(fsm.observed()->resource_version == "1");
}

TEST_CASE("losing the create race keeps following") {
    leader::election_fsm fsm(config("a"));
    (void)fsm.start(at(0ms));
    (void)fsm.on_read(at(0ms), std::nullopt);
    auto a = fsm.on_write(at(0ms), write_outcome::conflict); // AlreadyExists
    CHECK(a.type == action_type::wait);
    CHECK(a.event == notice::none);
    CHECK(a.until == steady(2s));
    CHECK(fsm.on_timer(at(2s)).type == action_type::read);
    a = fsm.on_read(at(2s), held_by("b", "7", 1s));
    CHECK(a.type == action_type::wait);
    CHECK_FALSE(fsm.is_leader());
    CHECK(fsm.leader_identity() == "b");
}

TEST_CASE("waits while another holds a fresh lease, takes over once it expires") {
    leader::election_fsm fsm(config("a"));
    (void)fsm.start(at(0ms));
    auto other = held_by("b", "5", 0ms, 3);
    auto a = fsm.on_read(at(0ms), other);
    REQUIRE(a.type == action_type::wait);
    CHECK(a.until == steady(2s));
    // Unchanged record: expiry counts from when we first saw it (t = 0), not from renew_time.
    for (auto t = 2s; t < 15s; t += 2s) {
        CAPTURE(t.count());
        REQUIRE(fsm.on_timer(at(t)).type == action_type::read);
        a = fsm.on_read(at(t), other);
        REQUIRE(a.type == action_type::wait);
        CHECK(a.until == steady(t + 2s));
    }
    REQUIRE(fsm.on_timer(at(15s)).type == action_type::read);
    a = fsm.on_read(at(15s), other);
    REQUIRE(a.type == action_type::update);
    CHECK(a.record.holder_identity == "a");
    CHECK(a.record.lease_transitions == 4);
    CHECK(a.record.acquire_time == wall(15s));
    CHECK(a.record.renew_time == wall(15s));
    CHECK(a.record.resource_version == "5"); // the precondition
    a = fsm.on_write(at(15s), write_outcome::ok, "6");
    CHECK(a.event == notice::became_leader);
    CHECK(fsm.is_leader());
}

TEST_CASE("a holder that keeps renewing is never taken over; remote times are not trusted") {
    leader::election_fsm fsm(config("a"));
    (void)fsm.start(at(0ms));
    // renew_time far in the past by our wall clock (skew): still fresh because it is new to us.
    auto a = fsm.on_read(at(0ms), held_by("b", "5", -1h));
    CHECK(a.type == action_type::wait);
    (void)fsm.on_timer(at(14s));
    a = fsm.on_read(at(14s), held_by("b", "6", 14s)); // b renewed: observed again at 14 s
    CHECK(a.type == action_type::wait);
    (void)fsm.on_timer(at(28s));
    a = fsm.on_read(at(28s), held_by("b", "6", 14s));
    CHECK(a.type == action_type::wait); // 14 s + 15 s > 28 s
    (void)fsm.on_timer(at(29s));
    a = fsm.on_read(at(29s), held_by("b", "6", 14s));
    CHECK(a.type == action_type::update);
}

TEST_CASE("a released lease (empty holder) is taken at once") {
    leader::election_fsm fsm(config("a"));
    (void)fsm.start(at(0ms));
    leader::lease_record released;
    released.lease_duration_seconds = 1;
    released.lease_transitions = 2;
    released.resource_version = "9";
    auto a = fsm.on_read(at(0ms), released);
    REQUIRE(a.type == action_type::update);
    CHECK(a.record.holder_identity == "a");
    CHECK(a.record.lease_transitions == 3);
}

TEST_CASE("the holder's leaseDurationSeconds decides expiry") {
    leader::election_fsm fsm(config("a"));
    (void)fsm.start(at(0ms));
    auto other = held_by("b", "5", 0ms);
    other.lease_duration_seconds = 1;
    CHECK(fsm.on_read(at(0ms), other).type == action_type::wait);
    (void)fsm.on_timer(at(1s));
    CHECK(fsm.on_read(at(1s), other).type == action_type::update);
}

TEST_CASE("renews every retry period, keeping acquireTime and transitions") {
    auto fsm = leading("a", 0ms);
    std::string rv = "1";
    for (int i = 1; i <= 5; ++i) {
        auto t = std::chrono::milliseconds(2000 * i);
        CAPTURE(i);
        auto a = fsm.on_timer(at(t));
        // Fast path: our lease is surely ours, so no read first.
        REQUIRE(a.type == action_type::update);
        CHECK(a.record.holder_identity == "a");
        CHECK(a.record.acquire_time == wall(0ms));
        CHECK(a.record.renew_time == wall(t));
        CHECK(a.record.lease_transitions == 0);
        CHECK(a.record.resource_version == rv);
        rv = std::to_string(i + 1);
        a = fsm.on_write(at(t), write_outcome::ok, rv);
        CHECK(a.type == action_type::wait);
        CHECK(a.event == notice::none);
        CHECK(a.until == steady(t + 2s));
    }
    CHECK(fsm.is_leader());
}

TEST_CASE("a failed fast renewal reads and renews on the slow path") {
    auto fsm = leading("a", 0ms);
    REQUIRE(fsm.on_timer(at(2s)).type == action_type::update);
    auto a = fsm.on_write(at(2s), write_outcome::conflict); // someone touched the object (labels)
    REQUIRE(a.type == action_type::read);
    auto ours = held_by("a", "2", 0ms); // our record, object touched by someone else
    CHECK(ours.same_spec(*fsm.observed()));
    a = fsm.on_read(at(2s), ours);
    REQUIRE(a.type == action_type::update);
    CHECK(a.record.resource_version == "2");
    CHECK(a.record.acquire_time == wall(0ms));
    a = fsm.on_write(at(2s), write_outcome::ok, "3");
    CHECK(a.type == action_type::wait);
    CHECK(a.event == notice::none);
    CHECK(fsm.is_leader());
}

TEST_CASE("lost leadership when renewals fail past the renew deadline") {
    auto fsm = leading("a", 0ms);
    // The renewal cycle starts at 2 s: it must succeed before 12 s.
    auto t = 2s;
    auto a = fsm.on_timer(at(t));
    for (;;) {
        CAPTURE(t.count());
        REQUIRE(a.type == action_type::update); // fast path
        a = fsm.on_write(at(t), write_outcome::error);
        REQUIRE(a.type == action_type::read); // slow path
        a = fsm.on_read_error(at(t));
        REQUIRE(a.type == action_type::wait);
        CHECK(fsm.is_leader());
        if (a.until == steady(12s))
            break;
        CHECK(a.until == steady(t + 2s));
        t = std::chrono::duration_cast<std::chrono::seconds>(a.until - steady(0ms));
        a = fsm.on_timer(at(t));
    }
    CHECK(t == 10s);
    a = fsm.on_timer(at(12s));
    CHECK(a.type == action_type::stop);
    CHECK(a.event == notice::lost_leadership);
    CHECK_FALSE(fsm.is_leader());
    CHECK(fsm.stopped());
    CHECK(fsm.on_timer(at(14s)).type == action_type::stop);
}

TEST_CASE("a success within the renew deadline starts a new cycle") {
    auto fsm = leading("a", 0ms);
    (void)fsm.on_timer(at(2s));
    (void)fsm.on_write(at(2s), write_outcome::error);
    auto a = fsm.on_read_error(at(2s));
    REQUIRE(a.until == steady(4s));
    a = fsm.on_timer(at(11s)); // late timer, still inside the 12 s deadline
    REQUIRE(a.type == action_type::update);
    a = fsm.on_write(at(11500ms), write_outcome::ok, "2");
    CHECK(a.until == steady(13500ms));
    // New cycle from 13.5 s: failing at 20 s is still fine.
    (void)fsm.on_timer(at(13500ms));
    (void)fsm.on_write(at(20s), write_outcome::error);
    a = fsm.on_read_error(at(20s));
    CHECK(a.type == action_type::wait);
    CHECK(a.until == steady(22s));
    CHECK(fsm.is_leader());
}

TEST_CASE("another holder in the lease means leadership is lost at once") {
    auto fsm = leading("a", 0ms);
    REQUIRE(fsm.on_timer(at(2s)).type == action_type::update);
    REQUIRE(fsm.on_write(at(2s), write_outcome::conflict).type == action_type::read);
    auto a = fsm.on_read(at(2s), held_by("b", "4", 2s, 1));
    CHECK(a.type == action_type::stop);
    CHECK(a.event == notice::lost_leadership);
    CHECK(fsm.leader_identity() == "b");
}

TEST_CASE("release empties the holder with a 1 s lease, then stops") {
    auto fsm = leading("a", 0ms);
    (void)fsm.on_timer(at(2s));
    (void)fsm.on_write(at(2s), write_outcome::ok, "2");
    auto a = fsm.release(at(3s));
    REQUIRE(a.type == action_type::update);
    CHECK(a.record.holder_identity.empty());
    CHECK(a.record.lease_duration_seconds == 1);
    CHECK(a.record.acquire_time == wall(3s));
    CHECK(a.record.renew_time == wall(3s));
    CHECK(a.record.lease_transitions == 0);
    CHECK(a.record.resource_version == "2");
    a = fsm.on_write(at(3s), write_outcome::ok, "3");
    CHECK(a.type == action_type::stop);
    CHECK(a.event == notice::released);
    CHECK_FALSE(fsm.is_leader());
    CHECK(fsm.leader_identity().empty());
}

TEST_CASE("release: a failed write still stops; a follower just stops") {
    auto fsm = leading("a", 0ms);
    REQUIRE(fsm.release(at(1s)).type == action_type::update);
    auto a = fsm.on_write(at(1s), write_outcome::error);
    CHECK(a.type == action_type::stop);
    CHECK(a.event == notice::released);

    leader::election_fsm follower(config("c"));
    (void)follower.start(at(0ms));
    (void)follower.on_read(at(0ms), held_by("b", "1", 0ms));
    a = follower.release(at(1s));
    CHECK(a.type == action_type::stop);
    CHECK(a.event == notice::none);
}

TEST_CASE("a leader whose lease was deleted recreates it and stays leader") {
    auto fsm = leading("a", 0ms);
    (void)fsm.on_timer(at(2s));
    REQUIRE(fsm.on_write(at(2s), write_outcome::error).type == action_type::read);
    auto a = fsm.on_read(at(2s), std::nullopt);
    REQUIRE(a.type == action_type::create);
    CHECK(a.record.holder_identity == "a");
    a = fsm.on_write(at(2s), write_outcome::ok, "10");
    CHECK(a.type == action_type::wait);
    CHECK(a.event == notice::none);
    CHECK(fsm.is_leader());
}
