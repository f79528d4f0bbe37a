// ObjectMeta and OwnerReference as owned structs (what reconcilers and the store read).
#pragma once

#include <kubecoro/api/string_map.hpp>

#include <optional>
#include <string>
#include <vector>

namespace kubecoro::api {

// Interned: every child of an owner repeats the same four strings.
struct owner_reference {
    interned api_version;
    interned kind;
    interned name;
    interned uid;
    bool controller = false;
    bool block_owner_deletion = false;
    bool operator==(const owner_reference&) const = default;
};

struct object_meta {
    std::string name;
    std::string namespace_;
    std::string uid;
    std::string resource_version;
    long generation = 0;
    std::string creation_timestamp;
    std::optional<std::string> deletion_timestamp;
    string_map labels;
    string_map annotations;
    std::vector<owner_reference> owner_references;
    std::vector<std::string> finalizers;

    // The owner reference with controller=true, if any.
    const owner_reference* controller_ref() const;
    bool has_finalizer(const std::string& f) const;
    bool operator==(const object_meta&) const = default;
};

} // namespace kubecoro::api
