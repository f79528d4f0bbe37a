// Labels and annotations as the cache keeps them: a sorted flat vector of pooled strings.
//
// Thousands of cached objects carry the same few label keys (app.kubernetes.io/...) and values
// (the owner's name, the engine): `interned` keeps one copy of each distinct string for the whole
// process, counted by its users and freed with the last, so a label costs 16 bytes per object
// instead of a std::map node with two std::strings (about 160 bytes with the long keys).
#pragma once

#include <compare>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kubecoro::api {

// An immutable string from the process-wide pool. Copies share it; equal strings are the same
// entry, so comparing two is comparing pointers. Thread-safe.
class interned {
public:
    interned() noexcept = default; // ""
    explicit interned(std::string_view s);
    interned(const char* literal)
        : interned(std::string_view(literal)) {}
    interned(const interned& other) noexcept;
    interned(interned&& other) noexcept
        : entry_(std::exchange(other.entry_, nullptr)) {}
    interned& operator=(interned other) noexcept {
        std::swap(entry_, other.entry_);
        return *this;
    }
    ~interned();

    std::string_view view() const noexcept;
    operator std::string_view() const noexcept { return view(); }
    std::string str() const { return std::string(view()); }
    bool empty() const noexcept { return entry_ == nullptr; }
    std::size_t size() const noexcept { return view().size(); }

    friend bool operator==(const interned& a, const interned& b) noexcept { return a.entry_ == b.entry_; }
    friend bool operator==(const interned& a, std::string_view b) noexcept { return a.view() == b; }
    friend bool operator==(const interned& a, const char* b) noexcept { return a.view() == b; }
    friend std::strong_ordering operator<=>(const interned& a, std::string_view b) noexcept {
        return a.view() <=> b;
    }

    // Distinct strings in the pool now (tests and memory accounting).
    static std::size_t pool_size();

    struct entry;

private:
    entry* entry_ = nullptr;
};

// A string-to-string map (labels, annotations) with std::map's lookups, kept sorted by key.
class string_map {
public:
    using value_type = std::pair<interned, interned>;
    using const_iterator = std::vector<value_type>::const_iterator;

    string_map() = default;
    string_map(std::initializer_list<std::pair<std::string_view, std::string_view>> entries);
    string_map(const std::map<std::string, std::string>& entries);

    const_iterator begin() const noexcept { return entries_.begin(); }
    const_iterator end() const noexcept { return entries_.end(); }
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    void clear() noexcept { entries_.clear(); }

    const_iterator find(std::string_view key) const;
    bool contains(std::string_view key) const { return find(key) != end(); }
    // The value under `key`, or "" when there is none.
    std::string_view value_or_empty(std::string_view key) const;

    // Adds or replaces.
    void set(std::string_view key, std::string_view value);
    void erase(std::string_view key);
    // Frees the spare capacity left by building the map one entry at a time.
    void shrink_to_fit() { entries_.shrink_to_fit(); }

    bool operator==(const string_map&) const = default;

private:
    std::vector<value_type> entries_; // sorted by key, keys unique
};

} // namespace kubecoro::api
