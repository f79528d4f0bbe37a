#include <kubecoro/runtime/work_queue.hpp>

#include <algorithm>

namespace kubecoro::runtime {

work_queue::work_queue(work_queue_config cfg)
    : cfg_(cfg) {}

void work_queue::enqueue(const std::string& key, clock::time_point ready_at) {
    if (shut_down_ || dirty_.contains(key))
        return;
    dirty_.emplace(key, ready_at);
    if (processing_.contains(key))
        return; // done() queues it
    queue_.push_back(key);
    ++adds_total_;
}

// Delayed keys that fell due before `now` go first, so the ready queue stays in ready-time order.
void work_queue::add(const std::string& key, clock::time_point now) {
    promote_due(now);
    enqueue(key, now);
}

void work_queue::add_after(const std::string& key, clock::duration delay, clock::time_point now) {
    if (shut_down_)
        return;
    if (delay <= clock::duration::zero()) {
        add(key, now);
        return;
    }
    clock::time_point at = now + delay;
    auto it = waiting_.find(key);
    if (it != waiting_.end()) {
        if (it->second.first <= at)
            return;
        waiting_order_.erase({it->second.first, it->second.second, key});
        waiting_.erase(it);
    }
    std::uint64_t seq = sequence_++;
    waiting_.emplace(key, std::pair{at, seq});
    waiting_order_.emplace(at, seq, key);
}

work_queue::clock::duration
work_queue::add_rate_limited(const std::string& key, clock::time_point now, clock::duration at_least) {
    unsigned& failures = failures_[key];
    clock::duration delay = std::max(core::exponential_delay(cfg_.rate_limit, failures), at_least);
    if (failures < 1000) // the delay saturated long before
        ++failures;
    ++retries_total_;
    add_after(key, delay, now);
    return delay;
}

void work_queue::forget(const std::string& key) {
    failures_.erase(key);
}

unsigned work_queue::num_requeues(const std::string& key) const {
    auto it = failures_.find(key);
    return it == failures_.end() ? 0 : it->second;
}

void work_queue::promote_due(clock::time_point now) {
    while (!waiting_order_.empty()) {
        auto first = waiting_order_.begin();
        auto [at, seq, key] = *first;
        if (at > now)
            break;
        waiting_order_.erase(first);
        waiting_.erase(key);
        enqueue(key, at); // it has been ready since `at`, not since we noticed
    }
}

std::optional<std::string> work_queue::pop(clock::time_point now) {
    if (shut_down_)
        return std::nullopt;
    promote_due(now);
    if (queue_.empty())
        return std::nullopt;
    std::string key = std::move(queue_.front());
    queue_.pop_front();
    auto d = dirty_.find(key);
    processing_[key] = in_flight{d->second, now};
    dirty_.erase(d);
    return key;
}

void work_queue::done(const std::string& key, clock::time_point now) {
    if (processing_.erase(key) == 0)
        return;
    auto d = dirty_.find(key);
    if (d == dirty_.end() || shut_down_)
        return;
    // It waited behind its own processing; queue time starts now.
    d->second = now;
    queue_.push_back(key);
    ++adds_total_;
}

std::optional<work_queue::clock::time_point> work_queue::next_deadline() const {
    if (shut_down_ || waiting_order_.empty())
        return std::nullopt;
    return std::get<0>(*waiting_order_.begin());
}

const work_queue::in_flight* work_queue::processing(const std::string& key) const {
    auto it = processing_.find(key);
    return it == processing_.end() ? nullptr : &it->second;
}

work_queue::clock::duration work_queue::unfinished_work(clock::time_point now) const {
    clock::duration total{};
    for (const auto& [key, f] : processing_)
        total += now - f.started_at;
    return total;
}

work_queue::clock::duration work_queue::longest_running(clock::time_point now) const {
    clock::duration longest{};
    for (const auto& [key, f] : processing_)
        longest = std::max(longest, now - f.started_at);
    return longest;
}

void work_queue::shut_down() {
    shut_down_ = true;
    queue_.clear();
    dirty_.clear();
    waiting_.clear();
    waiting_order_.clear();
}

} // namespace kubecoro::runtime
