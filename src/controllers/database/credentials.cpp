#include "database/credentials.hpp"

#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/errc.hpp>

namespace kubecoro::controllers::database {
namespace {

// The password in Secret `name`, which may have outlived an earlier Database of the same name
// (deletionPolicy Retain); nullopt when there is no such Secret.
awaitable<core::result<std::optional<std::string>>>
secret_password(runtime::managed_context& ctx, const resources& rs, const std::string& name) {
    if (auto secret = ctx.cached(rs.secrets, name))
        if (auto password = password_from_secret(whole(*secret)))
            co_return password;
    auto existing = co_await ctx.client().get(rs.secrets, ctx.namespace_(), name);
    if (existing) {
        if (auto password = password_from_secret(*existing))
            co_return password;
        co_return core::fail(core::errc::invalid_argument,
                             "Secret " + name + " exists without a usable data.password");
    }
    if (existing.error().code != api::errc::not_found)
        co_return core::fail(existing.error());
    co_return std::optional<std::string>{};
}

// Data exists once the StatefulSet or a data claim does: its passwords are the truth from then on.
bool data_exists(const observed_state& seen) {
    return seen.statefulset || !seen.data_pvcs.empty();
}

} // namespace

awaitable<core::result<credentials>>
read_credentials(runtime::managed_context& ctx, const resources& rs, const observed_state& seen) {
    credentials out;
    std::string super_name = superuser_secret_name(ctx.meta());
    auto super = co_await secret_password(ctx, rs, super_name);
    if (!super)
        co_return core::fail(super.error());
    if (*super) {
        out.pw.superuser = **super;
    } else if (data_exists(seen)) {
        co_return core::fail(
            api::errc::not_found,
            "Secret " + super_name +
                " is gone, and the server's superuser password was in it: kubecoro will not "
                "generate a password the server does not have. Recreate the Secret with keys "
                "username and password (from your copy of it), or create a new Database from "
                "a backup (spec.bootstrap)");
    } else if (auto generated = generate_password(); generated) {
        out.pw.superuser = *generated;
    } else {
        co_return core::fail(generated.error());
    }
    const std::string app_name = secret_name(ctx.meta()); // named: g++ 12 and temporaries in co_await
    auto app = co_await secret_password(ctx, rs, app_name);
    if (!app)
        co_return core::fail(app.error());
    if (*app) {
        out.pw.app = **app;
    } else if (auto generated = generate_password(); generated) {
        out.pw.app = *generated;
        out.app_regenerated = data_exists(seen);
    } else {
        co_return core::fail(generated.error());
    }
    co_return out;
}

awaitable<core::result<std::vector<std::string>>> converge_password(runtime::managed_context& ctx,
                                                                    const resources& rs,
                                                                    const database_spec& spec,
                                                                    status_input& in,
                                                                    bool regenerated,
                                                                    const std::string& version) {
    const auto& db = ctx.meta();
    const observed_job* job = nullptr; // the one for this version of the Secret (its name says which)
    std::vector<std::string> obsolete; // finished, for an earlier version
    for (const observed_job& j : in.observed.credentials_jobs) {
        if (j.secret_version == version)
            job = &j;
        else if (j.succeeded || j.failed)
            obsolete.push_back(j.name);
    }
    const auto* before = ctx.primary().body.at("status", "credentials", "secretVersion");
    std::string applied = before ? before->string_or("") : std::string();
    if (applied.empty() && !in.observed.statefulset && !regenerated)
        applied = version; // the first start sets this password
    if (job && job->succeeded)
        applied = version;
    in.credentials_version = applied;
    if (version.empty() || applied == version) {
        in.credentials = credentials_state{};
        if (before && before->string_or("") != version && !applied.empty())
            ctx.record(runtime::event_type::normal,
                       "PasswordApplied",
                       "the server has the password of Secret " + secret_name(db));
        if (job && job->succeeded)
            obsolete.push_back(job->name);
        co_return obsolete;
    }
    if (job && job->failed) {
        in.credentials = credentials_state{"False",
                                           "PasswordApplyFailed",
                                           "job " + job->name + " could not set the password of Secret " +
                                               secret_name(db) +
                                               " in the server (see its pod's log); it runs again when the "
                                               "Secret changes"};
        co_return obsolete;
    }
    if (!in.observed.statefulset || in.observed.statefulset->ready_replicas < 1) {
        in.credentials = credentials_state{"False",
                                           "WaitingForServer",
                                           "the password of Secret " + secret_name(db) +
                                               " is set once the server is ready"};
        co_return obsolete;
    }
    if (!job) {
        json::value set_password = render_credentials_job(db, spec, version);
        if (auto created = co_await ctx.apply(rs.jobs, std::move(set_password)); !created)
            co_return core::fail(created.error());
    }
    in.credentials =
        credentials_state{"False",
                          "Applying",
                          "job " + credentials_job_name(db, version) + " sets the password of Secret " +
                              secret_name(db) + " in the server"};
    co_return obsolete;
}

} // namespace kubecoro::controllers::database
