// Idle keep-alive connections kept for reuse, per endpoint, with a bound on how many are kept.
#pragma once

#include <kubecoro/net/connection.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kubecoro::net {

// The bookkeeping without I/O: items under keys, oldest evicted first, warmest reused first.
template <class T>
class idle_pool {
public:
    explicit idle_pool(std::size_t max_idle)
        : max_idle_(max_idle) {}

    // Keeps `item` under `key`. Returns what no longer fits (the oldest item overall, or `item`
    // itself when nothing may be kept) so that the caller can close it.
    std::optional<T> put(std::string key, T item) {
        if (max_idle_ == 0)
            return std::optional<T>(std::move(item));
        entries_.push_back(entry{std::move(key), std::move(item)});
        if (entries_.size() <= max_idle_)
            return std::nullopt;
        std::optional<T> evicted(std::move(entries_.front().item));
        entries_.pop_front();
        return evicted;
    }

    // The item put last under `key`, if any.
    std::optional<T> take(std::string_view key) {
        for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
            if (it->key == key) {
                std::optional<T> item(std::move(it->item));
                entries_.erase(std::next(it).base());
                return item;
            }
        }
        return std::nullopt;
    }

    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t size(std::string_view key) const noexcept {
        std::size_t n = 0;
        for (const auto& e : entries_)
            n += e.key == key ? 1 : 0;
        return n;
    }

    std::vector<T> clear() {
        std::vector<T> items;
        for (auto& e : entries_)
            items.push_back(std::move(e.item));
        entries_.clear();
        return items;
    }

private:
    struct entry {
        std::string key;
        T item;
    };
    std::deque<entry> entries_; // oldest first
    std::size_t max_idle_;
};

class connection_pool {
public:
    explicit connection_pool(std::size_t max_idle)
        : idle_(max_idle) {}

    // An idle connection to `key` that the peer has not closed; dead ones are closed and dropped.
    std::unique_ptr<connection> acquire(std::string_view key);
    // Keeps a connection whose last exchange completed and allows keep-alive; closes what does
    // not fit.
    void release(std::string key, std::unique_ptr<connection> c);
    // Closes every idle connection (e.g. after the credentials or TLS settings changed).
    void clear();
    std::size_t idle() const noexcept { return idle_.size(); }

private:
    idle_pool<std::unique_ptr<connection>> idle_;
};

} // namespace kubecoro::net
