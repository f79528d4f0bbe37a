// The two Secrets and the passwords in the server: which password to render, and a Job that sets
// the application's password in the server when its Secret changed.
#pragma once

#include "database/password.hpp"
#include "database/resources.hpp"
#include "database/status.hpp"

#include <string>
#include <vector>

namespace kubecoro::controllers::database {

struct credentials {
    passwords pw;
    bool app_regenerated = false; // the application Secret was gone while data existed
};

// The passwords to render. A missing Secret gets a new password only when no data exists yet, or
// (the application's) when the operator can set it inside the server as the superuser. A missing
// superuser Secret while data exists is an error (api::errc::not_found) that says what to do; a
// Secret that cannot be read (any other error) is an error, never a new password.
awaitable<core::result<credentials>>
read_credentials(runtime::managed_context& ctx, const resources& rs, const observed_state& seen);

// The application password in the server follows the application Secret. At first start the
// image sets it; afterwards a credentials Job does, as the superuser, whenever the Secret changed
// (a user's rotation, or the operator's new password for a deleted Secret). Sets
// in.credentials(_version); returns the finished Jobs the status write makes obsolete.
awaitable<core::result<std::vector<std::string>>> converge_password(runtime::managed_context& ctx,
                                                                    const resources& rs,
                                                                    const database_spec& spec,
                                                                    status_input& in,
                                                                    bool regenerated,
                                                                    const std::string& version);

} // namespace kubecoro::controllers::database
