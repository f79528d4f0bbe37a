#include <kubecoro/api/string_map.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_set>

namespace kubecoro::api {

struct interned::entry {
    std::atomic<std::size_t> users{1};
    const std::string text;
    explicit entry(std::string_view s)
        : text(s) {}
};

namespace {

struct by_text {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    std::size_t operator()(const interned::entry* e) const noexcept { return (*this)(e->text); }
    bool operator()(const interned::entry* a, const interned::entry* b) const noexcept { return a == b; }
    bool operator()(std::string_view a, const interned::entry* b) const noexcept { return a == b->text; }
    bool operator()(const interned::entry* a, std::string_view b) const noexcept { return a->text == b; }
};

// The pool. A copy adds a user without the lock (the copied handle keeps the entry alive); taking
// a string from the pool and dropping a user take it, so an entry is freed only while no one can
// be finding it.
struct pool {
    std::mutex lock;
    std::unordered_set<interned::entry*, by_text, by_text> entries;
};

pool& the_pool() {
    static pool* p = new pool; // never destroyed: handles in static objects outlive any order
    return *p;
}

} // namespace

interned::interned(std::string_view s) {
    if (s.empty())
        return;
    pool& p = the_pool();
    std::lock_guard held(p.lock);
    if (auto it = p.entries.find(s); it != p.entries.end()) {
        (*it)->users.fetch_add(1, std::memory_order_relaxed);
        entry_ = *it;
        return;
    }
    entry_ = new entry(s);
    p.entries.insert(entry_);
}

interned::interned(const interned& other) noexcept
    : entry_(other.entry_) {
    if (entry_)
        entry_->users.fetch_add(1, std::memory_order_relaxed);
}

interned::~interned() {
    if (!entry_)
        return;
    pool& p = the_pool();
    std::lock_guard held(p.lock);
    if (entry_->users.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        p.entries.erase(entry_);
        delete entry_;
    }
}

std::string_view interned::view() const noexcept {
    return entry_ ? std::string_view(entry_->text) : std::string_view();
}

std::size_t interned::pool_size() {
    pool& p = the_pool();
    std::lock_guard held(p.lock);
    return p.entries.size();
}

string_map::string_map(std::initializer_list<std::pair<std::string_view, std::string_view>> entries) {
    for (const auto& [k, v] : entries)
        set(k, v);
}

string_map::string_map(const std::map<std::string, std::string>& entries) {
    entries_.reserve(entries.size());
    for (const auto& [k, v] : entries) // already sorted and unique
        entries_.emplace_back(interned(k), interned(v));
}

string_map::const_iterator string_map::find(std::string_view key) const {
    auto it =
        std::lower_bound(entries_.begin(), entries_.end(), key, [](const value_type& e, std::string_view k) {
            return e.first < k;
        });
    return it != entries_.end() && it->first == key ? it : entries_.end();
}

std::string_view string_map::value_or_empty(std::string_view key) const {
    auto it = find(key);
    return it == end() ? std::string_view() : it->second.view();
}

void string_map::set(std::string_view key, std::string_view value) {
    auto it =
        std::lower_bound(entries_.begin(), entries_.end(), key, [](const value_type& e, std::string_view k) {
            return e.first < k;
        });
    if (it != entries_.end() && it->first == key)
        it->second = interned(value);
    else
        entries_.emplace(it, interned(key), interned(value));
}

void string_map::erase(std::string_view key) {
    auto it =
        std::lower_bound(entries_.begin(), entries_.end(), key, [](const value_type& e, std::string_view k) {
            return e.first < k;
        });
    if (it != entries_.end() && it->first == key)
        entries_.erase(it);
}

} // namespace kubecoro::api
