#include "database/replication.hpp"

#include "common/fields.hpp"
#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/conditions.hpp>

#include <algorithm>
#include <cstdio>

namespace kubecoro::controllers::database {
namespace {

// How long a kubelet may take to see a ConfigMap change (its watch): a pod created later read it.
constexpr auto config_propagation = std::chrono::seconds(5);
// How long a new pod that must be fenced is given to start a container before it is deleted
// anyway (its image cannot be pulled, its sandbox cannot be made).
constexpr auto start_bound = std::chrono::seconds(20);

const member* find(const std::vector<member>& members, std::string_view name) {
    for (const member& m : members)
        if (m.name == name)
            return &m;
    return nullptr;
}

bool serving(const member* m) {
    return m && !m->terminating && m->answered && !m->in_recovery;
}

// A member that could be promoted: its server answers, as a replica.
bool candidate(const member& m) {
    return !m.terminating && m.answered && m.in_recovery;
}

// The candidate that received the most WAL (then replayed the most; then the lowest ordinal).
const member* most_advanced(const std::vector<member>& members, std::string_view except_uid) {
    const member* best = nullptr;
    for (const member& m : members) {
        if (!candidate(m) || (!except_uid.empty() && m.uid == except_uid))
            continue;
        if (!best || m.wal > best->wal || (m.wal == best->wal && m.replayed > best->replayed))
            best = &m;
    }
    return best;
}

std::string seconds_since(std::chrono::system_clock::time_point from,
                          std::chrono::system_clock::time_point now) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - from).count()) + " s";
}

} // namespace

std::uint64_t parse_lsn(std::string_view lsn) {
    auto slash = lsn.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 >= lsn.size())
        return 0;
    auto hex = [](std::string_view s, std::uint64_t& out) {
        out = 0;
        if (s.size() > 8)
            return false;
        for (char c : s) {
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                           : -1;
            if (d < 0)
                return false;
            out = out * 16 + static_cast<std::uint64_t>(d);
        }
        return true;
    };
    std::uint64_t hi = 0, lo = 0;
    if (!hex(lsn.substr(0, slash), hi) || !hex(lsn.substr(slash + 1), lo))
        return 0;
    return (hi << 32) | lo;
}

std::string format_lsn(std::uint64_t lsn) {
    char buf[24];
    std::snprintf(
        buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32), static_cast<unsigned>(lsn & 0xffffffffu));
    return buf;
}

namespace {
// What a member received: WAL (PostgreSQL) or transactions (MariaDB's GTID sequence).
std::string received(const member& m) {
    return m.gtid.empty() ? "WAL up to " + format_lsn(m.wal) : "transactions up to " + std::to_string(m.wal);
}
} // namespace

replication_record read_replication(const json::value& db) {
    replication_record r;
    const json::value* rep = db.at("status", "replication");
    if (!rep)
        return r;
    r.unreachable_since = string_at(rep->at("primaryUnreachableSince"));
    if (const json::value* standbys = rep->at("synchronousStandbys"); standbys && standbys->if_array())
        for (const json::value& name : *standbys->if_array())
            if (std::string n = string_at(&name); !n.empty())
                r.standbys.push_back(std::move(n));
    if (const json::value* reseed = rep->at("reseed"); reseed && reseed->if_array())
        for (const json::value& one : *reseed->if_array())
            if (std::string m = string_at(one.at("member")); !m.empty())
                r.reseeding.push_back({std::move(m), string_at(one.at("requestedAt"))});
    if (const json::value* s = rep->at("switch"); s && s->if_object()) {
        primary_switch w;
        w.reason = string_at(s->at("reason"));
        w.from = string_at(s->at("from"));
        w.from_uid = string_at(s->at("fromUID"));
        w.to = string_at(s->at("to"));
        w.started = string_at(s->at("startedAt"));
        if (!w.from.empty())
            r.in_progress = std::move(w);
    }
    return r;
}

json::value encode_replication(const replication_record& r) {
    json::object out;
    if (!r.unreachable_since.empty())
        out.set("primaryUnreachableSince", r.unreachable_since);
    if (const auto& w = r.in_progress) {
        json::object s{{"reason", w->reason}, {"from", w->from}};
        if (!w->from_uid.empty())
            s.set("fromUID", w->from_uid);
        if (!w->to.empty())
            s.set("to", w->to);
        if (!w->started.empty())
            s.set("startedAt", w->started);
        out.set("switch", std::move(s));
    }
    if (!r.standbys.empty()) {
        json::array standbys;
        for (const std::string& name : r.standbys)
            standbys.push_back(name);
        out.set("synchronousStandbys", std::move(standbys));
    }
    if (!r.reseeding.empty()) {
        json::array reseed;
        for (const reseed_request& one : r.reseeding)
            reseed.push_back(json::object{{"member", one.member}, {"requestedAt", one.requested}});
        out.set("reseed", std::move(reseed));
    }
    return out;
}

reseed_plan plan_reseed(const std::vector<member>& members,
                        const std::vector<reseed_request>& recorded,
                        const std::string& primary,
                        bool switching,
                        const std::string& now) {
    reseed_plan p;
    auto find_member = [&](const std::string& name) -> const member* {
        for (const member& m : members)
            if (m.name == name)
                return &m;
        return nullptr;
    };
    for (const reseed_request& r : recorded) {
        const member* m = find_member(r.member);
        if (!m) // scaled away
            continue;
        auto created = parse_time(m->created), requested = parse_time(r.requested);
        const bool new_pod = created && requested && *created >= *requested;
        if (new_pod && m->answered && m->streaming && m->replication_errno == 0)
            continue; // copied again, and replicating
        p.reseeding.push_back(r);
        if (!new_pod && !m->terminating && p.pod.empty()) {
            p.pod = m->name;
            p.uid = m->uid;
        }
    }
    const member* serving = find_member(primary);
    if (switching || !serving || !serving->answered || serving->in_recovery || serving->terminating)
        return p;
    for (const member& m : members) {
        if (m.name == primary || m.replication_errno != 1236 || !m.answered)
            continue;
        if (std::any_of(p.reseeding.begin(), p.reseeding.end(), [&](const reseed_request& r) {
                return r.member == m.name;
            }))
            continue;
        p.reseeding.push_back({m.name, now});
        p.event = m.name + " cannot replicate from " + primary + " (" + m.replication_error +
                  "): its data is moved aside on its volume and it is copied from " + primary + " again";
    }
    return p;
}

std::string reseed_lines(const std::vector<reseed_request>& requests) {
    std::string out = "# <pod> <requested at>: the members to copy from the primary again\n";
    for (const reseed_request& r : requests)
        out += r.member + " " + r.requested + "\n";
    return out;
}

replication_plan plan_replication(const replication_input& in) {
    using action = replication_plan::action;
    using namespace std::chrono_literals;
    replication_plan p;
    p.record = in.record;
    // The synchronous standbys: those scaled away are forgotten, and all once synchronous mode is
    // off everywhere; never while the primary changes (the one to promote is chosen among them).
    if (!in.record.in_progress)
        std::erase_if(p.record.standbys, [&](const std::string& name) {
            return (!in.synchronous && in.settings_applied) ||
                   (in.synchronous &&
                    std::find(in.expected.begin(), in.expected.end(), name) == in.expected.end());
        });
    // A recorded standby (other than `from` and `except`) that does not answer as a replica.
    auto silent_standby = [&](const std::string& from, const std::string& except) -> const std::string* {
        for (const std::string& name : p.record.standbys) {
            const member* m = find(in.members, name);
            if (name != from && name != except && (!m || !candidate(*m)))
                return &name;
        }
        return nullptr;
    };
    const std::string now = runtime::now_rfc3339(in.now);
    auto waiting = [&](std::string reason, std::string message, std::chrono::milliseconds again = 1000ms) {
        p.status = "False";
        p.reason = std::move(reason);
        p.message = std::move(message);
        p.again = again;
        return p;
    };
    // A member that accepts writes where it must not: stopped at once (no clean shutdown).
    auto fence_writer = [&](const member& m, const std::string& why) {
        p.act = action::fence;
        p.pod = m.name;
        p.uid = m.uid;
        p.gentle = false;
        p.event_reason = "Fencing";
        p.event = m.name + " accepts writes " + why + ": stopping it";
        p.warning = true;
        return waiting("Fencing", p.event, 500ms);
    };

    if (!in.record.in_progress) {
        const member* primary = find(in.members, in.primary);
        const bool healthy = serving(primary);
        p.message = in.primary + " is the primary";
        if (healthy)
            p.record.unreachable_since.clear();
        if (healthy && in.synchronous)
            for (const member& m : in.members)
                if (m.name != in.primary && candidate(m) && m.streaming &&
                    std::find(in.expected.begin(), in.expected.end(), m.name) != in.expected.end() &&
                    std::find(p.record.standbys.begin(), p.record.standbys.end(), m.name) ==
                        p.record.standbys.end()) {
                    p.record.standbys.push_back(m.name);
                    std::sort(p.record.standbys.begin(), p.record.standbys.end());
                }
        // A second writable member (it should never be): stopped at once.
        for (const member& m : in.members)
            if (healthy && m.name != in.primary && serving(&m))
                return fence_writer(m, "but " + in.primary + " is the primary");
        if (!in.requested.empty() && in.requested == in.primary) {
            p.act = action::forget_request;
        } else if (!in.requested.empty() && healthy) {
            const member* target = find(in.members, in.requested);
            if (!target || !candidate(*target) || !target->streaming)
                return waiting("SwitchoverWaiting",
                               "switchover to " + in.requested +
                                   " waits: it is not a replica streaming from " + in.primary,
                               2000ms);
            p.record.in_progress = primary_switch{"Switchover", in.primary, primary->uid, in.requested, now};
            p.event_reason = "SwitchoverStarted";
            p.event = "switchover from " + in.primary + " to " + in.requested + ": stopping " + in.primary;
            return waiting("Switching", p.event, 200ms);
        }
        if (healthy)
            return p;
        std::string why = !primary               ? "has no pod"
                          : primary->terminating ? "is being deleted"
                          : !primary->answered   ? "does not answer"
                                                 : "is not writable (in recovery)";
        auto since = parse_time(p.record.unreachable_since);
        if (!since) {
            p.record.unreachable_since = now;
            since = in.now;
        }
        auto elapsed = in.now - *since;
        if (elapsed < in.failover_delay)
            return waiting(
                "Unreachable",
                "primary " + in.primary + " " + why + " (for " + seconds_since(*since, in.now) +
                    "): a replica is promoted after " + std::to_string(in.failover_delay.count()) + " s",
                std::min<std::chrono::milliseconds>(
                    1000ms,
                    std::chrono::duration_cast<std::chrono::milliseconds>(in.failover_delay - elapsed)));
        if (!most_advanced(in.members, primary ? primary->uid : ""))
            return waiting("NoCandidate",
                           "primary " + in.primary + " " + why + " for " + seconds_since(*since, in.now) +
                               " and no replica answers: nothing can be promoted",
                           2000ms);
        p.record.in_progress = primary_switch{"Failover", in.primary, primary ? primary->uid : "", "", now};
        p.event_reason = "FailoverStarted";
        p.event =
            "primary " + in.primary + " " + why + " for " + seconds_since(*since, in.now) + ": stopping it";
        p.warning = true;
        return waiting("Switching", p.event, 200ms);
    }

    const primary_switch& w = *in.record.in_progress;
    // (2) Fencing: the old primary's pod must be gone, or its server's container reported stopped
    // by the kubelet. A pod that stays Terminating (its node does not answer) holds this here. A
    // pod of the same name made before the switch was recorded may have read the ConfigMap naming
    // it primary: it is stopped too (after that, the ConfigMap names none), once one of its
    // containers runs (a pod deleted while its kubelet sets it up can stay Terminating for
    // minutes; until a container runs, nothing in it accepts writes).
    const auto started = parse_time(w.started);
    for (const member& m : in.members) {
        if (m.name != w.from || m.stopped)
            continue;
        auto created = parse_time(m.created);
        bool old = (!w.from_uid.empty() && m.uid == w.from_uid) ||
                   (started && (!created || *created < *started + config_propagation));
        if (!old)
            continue;
        // A new pod that answered read-only (in recovery) read a ConfigMap that did not name it
        // primary: it is no writer, and becomes one only by a promotion.
        if (m.uid != w.from_uid && m.answered && m.in_recovery && !m.terminating)
            continue;
        if (m.terminating)
            return waiting("Fencing",
                           "waiting for " + w.from +
                               " to stop before promoting a replica (its pod is terminating; nothing is "
                               "promoted until the kubelet confirms)");
        if (!m.running && created && in.now - *created < start_bound)
            return waiting("Fencing",
                           "waiting for the new pod of " + w.from +
                               " to start before stopping it (it was made before the ConfigMap named no "
                               "primary)",
                           500ms);
        p.act = action::fence;
        p.pod = m.name;
        p.uid = m.uid;
        p.gentle = w.reason == "Switchover" && m.uid == w.from_uid;
        return waiting("Fencing", "stopping " + w.from + " before promoting a replica", 500ms);
    }
    // (3) The member to promote, recorded before it is promoted, and never chosen again (its pod,
    // if deleted now, comes back as it was: the ConfigMap names it).
    if (w.to.empty()) {
        if (const std::string* silent = silent_standby(w.from, ""); silent && w.reason == "Failover")
            return waiting("Switching",
                           "synchronous mode: waiting for " + *silent +
                               " to answer before choosing the member to promote (a commit "
                               "acknowledged to a client may be on " +
                               *silent + " alone)",
                           1000ms);
        const member* best = most_advanced(in.members, w.from_uid);
        if (!best)
            return waiting("Switching", w.from + " is stopped; waiting for a replica to answer", 1000ms);
        p.record.in_progress->to = best->name;
        p.event_reason = "Promoting";
        p.event = "promoting " + best->name + " (received " + received(*best) + ")";
        return waiting("Switching", p.event, 200ms);
    }
    const member* target = find(in.members, w.to);
    if (!target || !target->answered)
        return waiting("Switching", "waiting for " + w.to + " to answer before promoting it", 1000ms);
    // (4) Nobody else may accept writes when it is promoted: a member that does is stopped, and
    // one being deleted whose server is not yet reported stopped is waited for.
    for (const member& m : in.members) {
        if (m.name == w.to)
            continue;
        if (m.terminating && !m.stopped)
            return waiting("Fencing", "waiting for " + m.name + " to stop before promoting " + w.to, 1000ms);
        if (serving(&m))
            return fence_writer(m, "while " + w.to + " is being promoted");
    }
    // Synchronous mode: a switchover's target too must hold every acknowledged commit (the old
    // primary may have been killed before it sent its last WAL): while it is not yet promoted, a
    // recorded standby that received more is chosen instead.
    if (target->in_recovery && !p.record.standbys.empty()) {
        if (const std::string* silent = silent_standby(w.from, w.to))
            return waiting("Switching",
                           "synchronous mode: waiting for " + *silent + " to answer before promoting " + w.to,
                           1000ms);
        const member* ahead = target;
        for (const std::string& name : p.record.standbys)
            if (const member* m = find(in.members, name); m && name != w.from && m->wal > ahead->wal)
                ahead = m;
        if (ahead != target) {
            p.record.in_progress->to = ahead->name;
            p.event_reason = "Promoting";
            p.event = "promoting " + ahead->name + " instead of " + w.to + ": it received more (" +
                      received(*ahead) + ", " + w.to + " " + received(*target) + ")";
            return waiting("Switching", p.event, 200ms);
        }
    }
    if (target->in_recovery) {
        p.act = action::promote;
        p.pod = target->name;
        return waiting("Switching", "promoting " + w.to, 500ms);
    }
    // (5) Promoted.
    p.act = action::finish;
    p.pod = w.to;
    p.record.in_progress.reset();
    p.record.unreachable_since.clear();
    p.event_reason = w.reason == "Switchover" ? "SwitchoverDone" : "FailoverDone";
    p.event = w.to + " is the primary (was " + w.from + ", " + w.reason +
              (started ? " in " + seconds_since(*started, in.now) : std::string()) + ")";
    p.message = w.to + " is the primary";
    return p;
}

} // namespace kubecoro::controllers::database
