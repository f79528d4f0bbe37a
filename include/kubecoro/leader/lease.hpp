// coordination.k8s.io/v1 Lease objects <-> lease_record, and the MicroTime timestamps they carry.
// Pure conversions: no I/O.
#pragma once

#include <kubecoro/api/resource.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/json/value.hpp>
#include <kubecoro/leader/election_fsm.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace kubecoro::leader {

// coordination.k8s.io/v1 leases (namespaced).
api::resource lease_resource();

// metav1.MicroTime: RFC 3339 in UTC with exactly six fraction digits, "2026-11-21T23:20:27.123456Z".
// Finer precision is truncated.
std::string format_micro_time(std::chrono::system_clock::time_point t);

// Any RFC 3339 date-time: "Z" or a numeric offset, with or without a fraction (up to nanoseconds).
// Fails with errc::bad_lease.
core::result<std::chrono::system_clock::time_point> parse_micro_time(std::string_view text);

// The Lease to create or replace: metadata (name, namespace, and resourceVersion when the record has
// one, as the precondition of a replace) and the spec. holderIdentity is always written ("" when
// nobody holds the lease); unset timestamps are left out.
json::value lease_to_json(const lease_record& record, std::string_view ns, std::string_view name);

// The record in a Lease: spec fields and metadata.resourceVersion. Missing fields stay empty (0, "",
// nullopt); a field of the wrong type or an unparsable timestamp fails with errc::bad_lease.
core::result<lease_record> lease_from_json(const json::value& lease);

} // namespace kubecoro::leader
