#include "database/render.hpp"
#include "database/status.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;
using namespace kubecoro::controllers;
using namespace kubecoro::controllers::database;
using runtime::condition;
using runtime::find_condition;
using test_helpers::parse;
using test_helpers::str;

namespace {

constexpr const char* t0 = "2024-05-01T10:00:00Z";
constexpr const char* t1 = "2024-05-01T11:00:00Z";

status_input base_input(std::string_view extra_spec = "") {
    status_input in;
    in.meta.name = "db1";
    in.meta.namespace_ = "ns";
    in.meta.generation = 2;
    auto s = parse_spec(parse(R"({"spec":{"engine":"postgresql","version":"16","storage":"10Gi")" +
                              std::string(extra_spec) + "}}"));
    REQUIRE(s.has_value());
    in.spec = *s;
    in.now = t1;
    return in;
}

observed_statefulset sts(int desired, int replicas, int ready) {
    return observed_statefulset{
        .engine = "postgresql",
        .image = "postgres:16",
        .claim_storage = "10Gi",
        .generation = 1,
        .observed_generation = 1,
        .spec_replicas = desired,
        .replicas = replicas,
        .ready_replicas = ready,
        .updated_replicas = replicas,
        .current_revision = "db1-a",
        .update_revision = "db1-a",
    };
}

const condition& get(const database_status& s, std::string_view type) {
    const condition* c = find_condition(s.conditions, type);
    REQUIRE_MESSAGE(c, type);
    return *c;
}

std::string reason(const database_status& s, std::string_view type) {
    return get(s, type).reason;
}

} // namespace

TEST_CASE("Pending before the StatefulSet exists") {
    auto s = compute_status(base_input());
    CHECK(s.phase == phase::pending);
    CHECK(s.ready == "0/1");
    CHECK(s.replicas == 0);
    CHECK(s.observed_generation == 2);
    CHECK(s.endpoint == "db1.ns.svc:5432");
    CHECK(s.secret_name == "db1-credentials");
    CHECK(s.selector == "app.kubernetes.io/component=database,app.kubernetes.io/"
                        "instance=db1,app.kubernetes.io/name=postgresql");
    CHECK(s.current_image.empty());
    REQUIRE(s.conditions.size() == 4);
    CHECK(get(s, "Ready").status == "False");
    CHECK(reason(s, "Ready") == "NotCreated");
    CHECK(get(s, "Progressing").status == "True");
    CHECK(reason(s, "Progressing") == "Provisioning");
    CHECK(reason(s, "BackupReady") == "NotScheduled");
    CHECK(get(s, "ReconcileSucceeded").status == "True");
    CHECK(reason(s, "ReconcileSucceeded") == "Succeeded");
    for (const condition& c : s.conditions) {
        CHECK(c.observed_generation == 2);
        CHECK(c.last_transition_time == t1);
    }
}

TEST_CASE("Provisioning until the first pod is ready, then Ready") {
    auto in = base_input();
    in.observed.statefulset = sts(1, 1, 0);
    in.phase = "Pending";
    auto s = compute_status(in);
    CHECK(s.phase == phase::provisioning);
    CHECK(reason(s, "Ready") == "NoReplicasReady");
    CHECK(reason(s, "Progressing") == "Provisioning");
    CHECK(s.current_image == "postgres:16");

    in.observed.statefulset = sts(1, 1, 1);
    in.phase = "Provisioning";
    s = compute_status(in);
    CHECK(s.phase == phase::ready);
    CHECK(s.ready == "1/1");
    CHECK(s.ready_replicas == 1);
    CHECK(get(s, "Ready").status == "True");
    CHECK(reason(s, "Ready") == "AllReplicasReady");
    CHECK(get(s, "Ready").message == "1/1 replicas ready");
    CHECK(get(s, "Progressing").status == "False");
    CHECK(reason(s, "Progressing") == "UpToDate");
}

TEST_CASE("Degraded when a once-ready database loses pods") {
    auto in = base_input(R"(,"replicas":3)");
    in.observed.statefulset = sts(3, 3, 2);
    in.phase = "Ready";
    auto s = compute_status(in);
    CHECK(s.phase == phase::degraded);
    CHECK(s.ready == "2/3");
    CHECK(reason(s, "Ready") == "ReplicasNotReady");
    CHECK(reason(s, "Progressing") == "UpToDate");
}

TEST_CASE("Updating: rolling update, scaling, volume expansion") {
    auto in = base_input(R"(,"replicas":2)");
    in.phase = "Ready";

    in.observed.statefulset = sts(2, 2, 1);
    in.observed.statefulset->update_revision = "db1-b";
    in.observed.statefulset->updated_replicas = 1;
    auto s = compute_status(in);
    CHECK(s.phase == phase::updating);
    CHECK(reason(s, "Progressing") == "RollingUpdate");
    CHECK(get(s, "Progressing").message == "1/2 replicas updated");
    // OnDelete (the operator rolls a replicated PostgreSQL): every pod updated ends it, although
    // the StatefulSet's currentRevision stays behind.
    in.observed.statefulset = sts(2, 2, 2);
    in.observed.statefulset->update_revision = "db1-b";
    in.observed.statefulset->updated_replicas = 2;
    CHECK(compute_status(in).phase == phase::updating); // RollingUpdate: until currentRevision moves
    in.observed.statefulset->on_delete = true;
    CHECK(compute_status(in).phase == phase::ready);

    // The StatefulSet controller has not seen the new spec yet: even all-ready is not Ready.
    in.observed.statefulset = sts(2, 2, 2);
    in.observed.statefulset->generation = 2;
    CHECK(compute_status(in).phase == phase::updating);

    in.observed.statefulset = sts(1, 1, 1);
    s = compute_status(in);
    CHECK(s.phase == phase::updating);
    CHECK(reason(s, "Progressing") == "Scaling");
    CHECK(get(s, "Progressing").message == "scaling from 1 to 2 replicas");

    in.observed.statefulset = sts(2, 2, 2);
    in.spec->storage = "20Gi";
    in.observed.data_pvcs = {observed_pvc{.name = "data-db1-0", .requested = "20Gi", .capacity = "10Gi"}};
    s = compute_status(in);
    CHECK(s.phase == phase::updating);
    CHECK(reason(s, "Progressing") == "Resizing");

    in.observed.data_pvcs[0].capacity = "20Gi";
    in.observed.data_pvcs[0].resize_pending = true;
    CHECK(compute_status(in).phase == phase::updating);
    in.observed.data_pvcs[0].resize_pending = false;
    CHECK(compute_status(in).phase == phase::ready);
}

TEST_CASE("Failed on an invalid spec or a refused change") {
    auto in = base_input();
    in.spec.reset();
    in.error = reconcile_error{error_kind::invalid_spec, "spec.storage: \"x\" is not a quantity"};
    in.observed.statefulset = sts(1, 1, 1);
    auto s = compute_status(in);
    CHECK(s.phase == phase::failed);
    CHECK(get(s, "ReconcileSucceeded").status == "False");
    CHECK(reason(s, "ReconcileSucceeded") == "InvalidSpec");
    CHECK(get(s, "ReconcileSucceeded").message == "spec.storage: \"x\" is not a quantity");
    CHECK(reason(s, "Progressing") == "InvalidSpec");
    CHECK(get(s, "BackupReady").status == "Unknown");
    // What runs is still reported, from the StatefulSet.
    CHECK(get(s, "Ready").status == "True");
    CHECK(s.ready == "1/1");
    CHECK(s.endpoint == "db1.ns.svc:5432");

    auto refused = base_input();
    refused.observed.statefulset = sts(1, 1, 1);
    refused.error = reconcile_error{error_kind::change_refused, "spec.engine: cannot change"};
    s = compute_status(refused);
    CHECK(s.phase == phase::failed);
    CHECK(reason(s, "ReconcileSucceeded") == "ChangeRefused");
    CHECK(reason(s, "Progressing") == "ChangeRefused");
}

TEST_CASE("an apply failure is reported without changing the phase") {
    auto in = base_input();
    in.observed.statefulset = sts(1, 1, 1);
    in.phase = "Ready";
    in.error = reconcile_error{error_kind::apply_failed, "422 Invalid: bad"};
    auto s = compute_status(in);
    CHECK(s.phase == phase::ready);
    CHECK(get(s, "ReconcileSucceeded").status == "False");
    CHECK(reason(s, "ReconcileSucceeded") == "ApplyFailed");
    CHECK(get(s, "ReconcileSucceeded").message == "422 Invalid: bad");

    in.error->message = std::string(50000, 'x'); // more than the CRD allows in a message
    CHECK(get(compute_status(in), "ReconcileSucceeded").message.size() == 1024);
}

TEST_CASE("a refused volume expansion: reported, not shown as in progress, phase unchanged") {
    auto in = base_input(R"(,"replicas":2)");
    in.phase = "Ready";
    in.spec->storage = "20Gi";
    in.observed.statefulset = sts(2, 2, 2);
    in.observed.data_pvcs = {observed_pvc{.name = "data-db1-0", .requested = "10Gi", .capacity = "10Gi"}};
    in.error = reconcile_error{error_kind::volume_expansion_failed, "data-db1-0 to 20Gi: 403 Forbidden: no"};
    auto s = compute_status(in);
    CHECK(s.phase == phase::ready); // the database serves at its current size
    CHECK(get(s, "ReconcileSucceeded").status == "False");
    CHECK(reason(s, "ReconcileSucceeded") == "VolumeExpansionFailed");
    CHECK(get(s, "ReconcileSucceeded").message == "data-db1-0 to 20Gi: 403 Forbidden: no");
    CHECK(get(s, "Progressing").status == "False");
    CHECK(reason(s, "Progressing") == "VolumeExpansionFailed");
    CHECK(get(s, "Ready").status == "True");

    // Other work in progress still shows.
    in.observed.statefulset = sts(2, 1, 1);
    s = compute_status(in);
    CHECK(s.phase == phase::updating);
    CHECK(reason(s, "Progressing") == "Scaling");
}

TEST_CASE("a volume expansion the StorageClass does not allow: reported like a refused one") {
    auto in = base_input();
    in.phase = "Ready";
    in.spec->storage = "20Gi";
    in.observed.statefulset = sts(1, 1, 1);
    in.observed.data_pvcs = {observed_pvc{.name = "data-db1-0", .requested = "10Gi", .capacity = "10Gi"}};
    in.error = reconcile_error{error_kind::volume_expansion_not_supported, "StorageClass \"fixed\" does not"};
    auto s = compute_status(in);
    CHECK(s.phase == phase::ready);
    CHECK(get(s, "ReconcileSucceeded").status == "False");
    CHECK(reason(s, "ReconcileSucceeded") == "VolumeExpansionNotSupported");
    CHECK(get(s, "ReconcileSucceeded").message == "StorageClass \"fixed\" does not");
    CHECK(reason(s, "Progressing") == "VolumeExpansionNotSupported");
}

TEST_CASE("Paused and Deleting") {
    auto in = base_input(R"(,"paused":true)");
    in.observed.statefulset = sts(1, 1, 1);
    auto s = compute_status(in);
    CHECK(s.phase == phase::paused);
    CHECK(reason(s, "Progressing") == "Paused");
    CHECK(reason(s, "ReconcileSucceeded") == "Paused");
    CHECK(get(s, "Ready").status == "True");

    in.meta.deletion_timestamp = "2024-05-01T10:30:00Z";
    s = compute_status(in);
    CHECK(s.phase == phase::deleting);
    CHECK(reason(s, "Ready") == "Deleting");
    CHECK(reason(s, "Progressing") == "Deleting");
}

TEST_CASE("BackupReady reasons and backup times") {
    auto in = base_input();
    in.observed.statefulset = sts(1, 1, 1);
    CHECK(reason(compute_status(in), "BackupReady") == "NotScheduled");

    in.observed.cronjob = observed_cronjob{.last_schedule_time = "2024-05-01T02:00:00Z"};
    auto s = compute_status(in);
    CHECK(get(s, "BackupReady").status == "True");
    CHECK(reason(s, "BackupReady") == "Scheduled");
    CHECK(s.last_schedule_time == "2024-05-01T02:00:00Z");
    CHECK(s.last_successful_time.empty());

    in.observed.backup_jobs = {
        observed_job{.name = "b-1", .succeeded = true, .finished_time = "2024-04-30T02:01:00Z"},
        observed_job{.name = "b-2", .succeeded = true, .finished_time = "2024-05-01T02:01:00Z"},
        observed_job{.name = "b-3"}, // running
    };
    s = compute_status(in);
    CHECK(reason(s, "BackupReady") == "BackupSucceeded");
    CHECK(s.last_successful_time == "2024-05-01T02:01:00Z");

    in.observed.backup_jobs.push_back(
        observed_job{.name = "b-4", .failed = true, .finished_time = "2024-05-02T02:05:00Z"});
    s = compute_status(in);
    CHECK(get(s, "BackupReady").status == "False");
    CHECK(reason(s, "BackupReady") == "BackupFailed");
    CHECK(get(s, "BackupReady").message == "backup job b-4 failed at 2024-05-02T02:05:00Z");
    CHECK(s.last_successful_time == "2024-05-01T02:01:00Z");

    // batch/v1 CronJobs report the last success themselves.
    in.observed.backup_jobs.clear();
    in.observed.cronjob->last_successful_time = "2024-05-03T02:01:00Z";
    CHECK(compute_status(in).last_successful_time == "2024-05-03T02:01:00Z");

    auto off = base_input(R"(,"backup":{"enabled":false})");
    s = compute_status(off);
    CHECK(get(s, "BackupReady").status == "False");
    CHECK(reason(s, "BackupReady") == "Disabled");
}

TEST_CASE("lastTransitionTime moves only when a condition's status changes") {
    auto in = base_input();
    in.observed.statefulset = sts(1, 1, 1);
    in.conditions = {
        condition{
            .type = "Ready", .status = "True", .reason = "AllReplicasReady", .last_transition_time = t0},
        condition{
            .type = "Progressing", .status = "True", .reason = "Provisioning", .last_transition_time = t0},
        condition{.type = "Custom", .status = "True", .reason = "Other", .last_transition_time = t0},
    };
    auto s = compute_status(in);
    CHECK(get(s, "Ready").last_transition_time == t0);
    CHECK(get(s, "Progressing").last_transition_time == t1);
    CHECK(get(s, "BackupReady").last_transition_time == t1);
    CHECK(get(s, "Custom").last_transition_time == t0); // conditions of other writers are kept
    CHECK(s.conditions.size() == 5);
}

TEST_CASE("render_status: the body for the status subresource") {
    auto in = base_input();
    in.observed.statefulset = sts(1, 1, 1);
    in.observed.cronjob = observed_cronjob{.last_schedule_time = "2024-05-01T02:00:00Z"};
    auto s = compute_status(in);
    json::value body = render_status(in.meta, s);
    CHECK(str(body.at("apiVersion")) == "kubecoro.dev/v1alpha1");
    CHECK(str(body.at("kind")) == "Database");
    CHECK(str(body.at("metadata", "name")) == "db1");
    CHECK(str(body.at("metadata", "namespace")) == "ns");
    CHECK(body.at("spec") == nullptr);
    const json::value* st = body.at("status");
    REQUIRE(st);
    CHECK(test_helpers::num(st->at("observedGeneration")) == 2);
    CHECK(str(st->at("phase")) == "Ready");
    CHECK(test_helpers::num(st->at("replicas")) == 1);
    CHECK(test_helpers::num(st->at("readyReplicas")) == 1);
    CHECK(str(st->at("ready")) == "1/1");
    CHECK(str(st->at("selector")) == s.selector);
    CHECK(str(st->at("endpoint")) == "db1.ns.svc:5432");
    CHECK(str(st->at("secretName")) == "db1-credentials");
    CHECK(str(st->at("currentImage")) == "postgres:16");
    CHECK(str(st->at("backup", "lastScheduleTime")) == "2024-05-01T02:00:00Z");
    CHECK(st->at("backup", "lastSuccessfulTime") == nullptr);
    const json::value* conds = st->at("conditions");
    REQUIRE(test_helpers::size(conds) == 4);
    const json::value* ready = test_helpers::by_name(conds, "Ready", "type");
    REQUIRE(ready);
    CHECK(*ready == parse(R"({"type":"Ready","status":"True","observedGeneration":2,
        "lastTransitionTime":"2024-05-01T11:00:00Z","reason":"AllReplicasReady","message":"1/1 replicas ready"})"));
    auto read_back = runtime::conditions_from_json(*conds);
    REQUIRE(read_back.has_value());
    CHECK(*read_back == s.conditions);

    // Nothing known yet: no empty strings in the body.
    status_input bare;
    bare.meta = in.meta;
    bare.error = reconcile_error{error_kind::invalid_spec, "spec: required"};
    json::value minimal = render_status(bare.meta, compute_status(bare));
    CHECK(minimal.at("status", "endpoint") == nullptr);
    CHECK(minimal.at("status", "selector") == nullptr);
    CHECK(minimal.at("status", "backup") == nullptr);
    CHECK(str(minimal.at("status", "phase")) == "Failed");
}

namespace {
std::chrono::system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi) {
    using namespace std::chrono;
    return sys_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi);
}
} // namespace

TEST_CASE("BackupReady: a Job without a pod, a stale schedule, a failure's reason") {
    auto in = base_input(R"(,"backup":{"schedule":"0 2 * * *"})");
    in.meta.creation_timestamp = "2024-05-01T00:00:00Z";
    in.observed.statefulset = sts(1, 1, 1);
    in.observed.cronjob = observed_cronjob{};
    in.clock = at(2024, 5, 1, 10, 0);
    CHECK(reason(compute_status(in), condition_type::backup_ready) == "Scheduled");
    // Stale once two runs (1 and 2 May, 02:00) and the grace have passed without a success.
    CHECK(backup_recheck(in) == at(2024, 5, 2, 2, 10));
    in.clock = at(2024, 5, 2, 2, 9);
    CHECK(reason(compute_status(in), condition_type::backup_ready) == "Scheduled");
    in.clock = at(2024, 5, 2, 2, 10);
    auto stale = get(compute_status(in), condition_type::backup_ready);
    CHECK(stale.status == "False");
    CHECK(stale.reason == "BackupStale");
    CHECK(stale.message ==
          "no backup has succeeded, and two runs of the schedule \"0 2 * * *\" have passed since");
    in.observed.backup_jobs = {
        observed_job{.name = "db1-backup-1", .succeeded = true, .finished_time = "2024-05-03T02:01:00Z"}};
    CHECK(reason(compute_status(in), condition_type::backup_ready) == "BackupSucceeded");
    CHECK(backup_recheck(in) == at(2024, 5, 5, 2, 10));

    // A Job that runs no pod (a ResourceQuota refuses it): after 60 s.
    in.observed.backup_jobs.push_back(
        observed_job{.name = "db1-backup-2", .component = "backup", .created = "2024-05-03T02:05:00Z"});
    in.clock = at(2024, 5, 3, 2, 5);
    CHECK(reason(compute_status(in), condition_type::backup_ready) == "BackupSucceeded");
    CHECK(backup_recheck(in) == at(2024, 5, 3, 2, 6));
    in.clock = at(2024, 5, 3, 2, 6);
    auto refused = get(compute_status(in), condition_type::backup_ready);
    CHECK(refused.reason == "BackupNotStarted");
    CHECK(refused.message.find("backup job db1-backup-2 has run no pod since 2024-05-03T02:05:00Z") == 0);
    in.observed.backup_jobs.back().active = 1; // running: fine
    CHECK(reason(compute_status(in), condition_type::backup_ready) == "BackupSucceeded");

    // The success recorded in the status counts once its Job is gone.
    in.observed.backup_jobs.clear();
    in.backup.last_successful_time = "2024-05-03T02:01:00Z";
    CHECK(reason(compute_status(in), condition_type::backup_ready) == "BackupSucceeded");
    CHECK(compute_status(in).last_successful_time == "2024-05-03T02:01:00Z");
    CHECK(backup_recheck(in) == at(2024, 5, 5, 2, 10));
    in.observed.backup_jobs.push_back(
        observed_job{.name = "db1-backup-2", .component = "backup", .created = "2024-05-03T02:05:00Z"});

    in.observed.backup_jobs.back() =
        observed_job{.name = "db1-backup-2",
                     .failed = true,
                     .finished_time = "2024-05-03T08:05:00Z",
                     .failure = "DeadlineExceeded: Job was active longer than specified deadline"};
    auto failed = get(compute_status(in), condition_type::backup_ready);
    CHECK(failed.reason == "BackupFailed");
    CHECK(failed.message ==
          "backup job db1-backup-2 failed at 2024-05-03T08:05:00Z (DeadlineExceeded: Job was "
          "active longer than specified deadline)");
}

TEST_CASE("BackupReady: backups enabled later count from the CronJob's creation, not the Database's") {
    auto in = base_input(R"(,"backup":{"schedule":"0 2 * * *"})");
    in.meta.creation_timestamp = "2024-05-01T00:00:00Z";
    in.observed.statefulset = sts(1, 1, 1);
    in.observed.cronjob = observed_cronjob{.created = "2024-05-10T09:00:00Z"};
    in.backup.last_successful_time = "2024-05-02T02:01:00Z"; // before backups were turned off
    in.clock = at(2024, 5, 10, 10, 0);
    CHECK(reason(compute_status(in), condition_type::backup_ready) == "BackupSucceeded");
    CHECK(backup_recheck(in) == at(2024, 5, 12, 2, 10)); // 11 and 12 May, 02:00, then the grace
    CHECK(backup_stale_at("0 2 * * *", "", "") == std::nullopt);
    CHECK(backup_stale_at("0 2 * * *", "2024-05-12T02:01:00Z", "2024-05-10T09:00:00Z") ==
          at(2024, 5, 14, 2, 10));
}

TEST_CASE("CredentialsReady, RolloutStuck and the recorded backup in the status body") {
    auto in = base_input();
    in.observed.statefulset = sts(1, 1, 0);
    in.credentials = credentials_state{"False", "Applying", "job db1-pw-1 sets it"};
    in.credentials_version = "41";
    in.backup = backup_record{.last_failure_time = t0,
                              .last_failure = "job db1-backup-1: BackoffLimitExceeded: x",
                              .last_dump = "20240501T020000Z",
                              .last_dump_bytes = 4096,
                              .last_dump_job = "db1-backup-9"};
    in.observed.pod =
        observed_pod{.name = "db1-0", .waiting_reason = "ImagePullBackOff", .waiting_message = "no such tag"};
    auto s = compute_status(in);
    CHECK(get(s, condition_type::credentials_ready).status == "False");
    CHECK(reason(s, condition_type::credentials_ready) == "Applying");
    auto progressing = get(s, condition_type::progressing);
    CHECK(progressing.reason == "RolloutStuck");
    CHECK(progressing.message.find("pod db1-0 is waiting: ImagePullBackOff: no such tag") == 0);
    auto body = render_status(in.meta, s);
    CHECK(str(body.at("status", "credentials", "secretVersion")) == "41");
    CHECK(str(body.at("status", "superuserSecretName")) == "db1-superuser");
    CHECK(str(body.at("status", "backup", "lastDump", "name")) == "20240501T020000Z");
    CHECK(*body.at("status", "backup", "lastDump", "bytes") == json::value(std::int64_t{4096}));
    CHECK(str(body.at("status", "backup", "lastFailure")) == "job db1-backup-1: BackoffLimitExceeded: x");

    in.observed.pod->waiting_reason = "ContainerCreating"; // not stuck: waits by itself
    CHECK(reason(compute_status(in), condition_type::progressing) != "RolloutStuck");
}

TEST_CASE("status.instances: role, readiness, timeline and a replica's lag, as the members answered") {
    auto in = base_input(R"(,"replicas":3)");
    in.observed.statefulset = sts(3, 3, 3);
    in.observed.primary = "db1-0";
    for (std::string name : {"db1-0", "db1-1", "db1-2"})
        in.observed.instances.push_back(observed_pod{.name = name, .ready = true});
    member p{.name = "db1-0", .answered = true, .wal = 0x5000000 + 1234, .timeline = 2};
    member r1{.name = "db1-1", .answered = true, .in_recovery = true, .replayed = 0x5000000, .timeline = 2};
    r1.lag_seconds = 0;
    member r2{.name = "db1-2", .answered = true, .in_recovery = true, .replayed = 0x2000000, .timeline = 2};
    r2.lag_seconds = 7;
    in.members = {p, r1, r2}; // db1-2 is 48 MiB behind and 7 s since its last replayed commit
    json::value body = render_status(in.meta, compute_status(in));
    CHECK(*body.at("status", "instances") == parse(R"([
        {"name":"db1-0","role":"primary","ready":true,"timeline":2},
        {"name":"db1-1","role":"replica","ready":true,"timeline":2,"lagBytes":0,"lagSeconds":0},
        {"name":"db1-2","role":"replica","ready":true,"timeline":2,"lagBytes":50331648,"lagSeconds":7}])"));
    // A primary that did not answer: no lag in bytes to report; a silent member, nothing but its pod.
    in.members = {r2};
    in.members[0].name = "db1-1";
    body = render_status(in.meta, compute_status(in));
    CHECK(*body.at("status", "instances") == parse(R"([
        {"name":"db1-0","role":"primary","ready":true},
        {"name":"db1-1","role":"replica","ready":true,"timeline":2,"lagSeconds":7},
        {"name":"db1-2","role":"replica","ready":true}])"));
}
