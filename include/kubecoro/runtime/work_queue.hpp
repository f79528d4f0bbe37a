// The bookkeeping of client-go's rate-limited work queue, without I/O or timers: the driver passes
// the time in, pops ready keys for its workers, and sleeps until next_deadline() when none is ready.
//
// - add() dedupes: a key waits in the queue at most once.
// - A key is never handed out twice at once: added while processing it is marked dirty and
//   queued again by done().
// - add_after() delays an add; of several delays for one key the earliest wins. Like client-go,
//   an immediate add does not cancel a pending delayed one.
// - add_rate_limited() delays by a per-key exponential backoff until forget(), or longer when
//   the server asked for it.
#pragma once

#include <kubecoro/core/backoff.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace kubecoro::runtime {

struct work_queue_config {
    core::backoff_config rate_limit = core::per_key_backoff; // 5 ms doubling to 1000 s; jitter unused
};

class work_queue {
public:
    using clock = std::chrono::steady_clock;

    explicit work_queue(work_queue_config cfg = {});

    // Makes `key` ready now (ignored after shut_down()).
    void add(const std::string& key, clock::time_point now);
    // Makes `key` ready at now + delay (at once when delay <= 0).
    void add_after(const std::string& key, clock::duration delay, clock::time_point now);
    // add_after() with the key's next backoff delay, or `at_least` when that is longer (a server's
    // Retry-After); returns the delay.
    clock::duration
    add_rate_limited(const std::string& key, clock::time_point now, clock::duration at_least = {});
    // Clears the key's failure count (after a success).
    void forget(const std::string& key);
    // Consecutive add_rate_limited() calls since the last forget().
    unsigned num_requeues(const std::string& key) const;

    // The next ready key (FIFO among ready keys), now marked as processing; nothing when no key
    // is ready or after shut_down().
    std::optional<std::string> pop(clock::time_point now);
    // The worker finished `key`; if it was added meanwhile it is ready again from `now`.
    void done(const std::string& key, clock::time_point now);

    // When the earliest delayed key becomes ready; nothing when no key is delayed.
    std::optional<clock::time_point> next_deadline() const;

    // Ready keys (the workqueue_depth metric).
    std::size_t depth() const { return queue_.size(); }
    // Keys waiting for a delay to pass.
    std::size_t delayed() const { return waiting_.size(); }
    bool is_processing(const std::string& key) const { return processing_.contains(key); }

    // For processing keys: when the key became ready and when pop() handed it out.
    struct in_flight {
        clock::time_point ready_at;
        clock::time_point started_at;
    };
    // nullptr unless `key` is processing. started_at - ready_at is the time it waited in the queue
    // (workqueue_queue_duration_seconds); read it right after pop().
    const in_flight* processing(const std::string& key) const;
    // Sum of the time the processing keys have been running (workqueue_unfinished_work_seconds).
    clock::duration unfinished_work(clock::time_point now) const;
    // The longest any processing key has been running (workqueue_longest_running_processor_seconds).
    clock::duration longest_running(clock::time_point now) const;

    // Keys that entered the ready queue (workqueue_adds_total); dedupes are not counted.
    std::uint64_t adds_total() const { return adds_total_; }
    // add_rate_limited() calls (workqueue_retries_total).
    std::uint64_t retries_total() const { return retries_total_; }

    // From now on nothing is added and pop() returns nothing; done() still works.
    void shut_down();
    bool shutting_down() const { return shut_down_; }

private:
    void enqueue(const std::string& key, clock::time_point ready_at);
    void promote_due(clock::time_point now);

    work_queue_config cfg_;
    std::deque<std::string> queue_;
    // Keys that need processing (queued, or to be queued again by done()), and since when.
    std::unordered_map<std::string, clock::time_point> dirty_;
    std::unordered_map<std::string, in_flight> processing_;
    // Delayed keys: by key, and ordered by (ready time, sequence) for FIFO among equal times.
    std::unordered_map<std::string, std::pair<clock::time_point, std::uint64_t>> waiting_;
    std::set<std::tuple<clock::time_point, std::uint64_t, std::string>> waiting_order_;
    std::uint64_t sequence_ = 0;
    std::unordered_map<std::string, unsigned> failures_;
    std::uint64_t adds_total_ = 0;
    std::uint64_t retries_total_ = 0;
    bool shut_down_ = false;
};

} // namespace kubecoro::runtime
