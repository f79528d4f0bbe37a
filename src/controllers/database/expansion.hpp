// Whether the volume claims of a Database may grow: the StorageClass of each claim that is
// smaller than the spec asks must allow volume expansion. Pure: no I/O.
#pragma once

#include "database/spec.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kubecoro::controllers::database {

// What the controller reads of a StorageClass.
struct storage_class {
    std::string name;
    bool is_default = false; // annotation storageclass.kubernetes.io/is-default-class: "true"
    bool allow_volume_expansion = false;
};

storage_class observe_storage_class(const json::value& sc);

// Why the claims cannot grow, naming each class (a class of "" when a claim has none).
struct expansion_refusal {
    std::vector<std::string> storage_classes;
    std::string message; // e.g. "StorageClass \"standard\" does not allow volume expansion ..."
};

// Refuses growing the data claims to spec.storage (and the backup claim to spec.backup.storage)
// when the StorageClass of a claim that must grow does not allow expansion, does not exist, or
// there is none. A claim's class is its own storageClassName, else spec.storageClassName, else
// the cluster's default class. nullopt: nothing must grow, or every class allows it.
std::optional<expansion_refusal> refuse_expansion(const database_spec& spec,
                                                  const observed_state& observed,
                                                  const std::vector<storage_class>& classes);

// The spec with the storage sizes held at what the claims request now, so that nothing renders
// a bigger claim (used when the expansion is refused).
database_spec hold_storage(database_spec spec, const observed_state& observed);

} // namespace kubecoro::controllers::database
