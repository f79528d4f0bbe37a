// ObjectMeta and OwnerReference as owned structs (what reconcilers and the store read).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kubecoro::api {

struct owner_reference {
    std::string api_version;
    std::string kind;
    std::string name;
    std::string uid;
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
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    std::vector<owner_reference> owner_references;
    std::vector<std::string> finalizers;

    // The owner reference with controller=true, if any.
    const owner_reference* controller_ref() const;
    bool has_finalizer(const std::string& f) const;
    bool operator==(const object_meta&) const = default;
};

} // namespace kubecoro::api
