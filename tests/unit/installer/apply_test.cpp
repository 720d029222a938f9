// The executor with the fake Fs and CommandRunner, and once with a real --root temp folder:
// first install, second install = no work (ninja's BuildTest.NoWork), an install interrupted at
// every single write finishes on the next run, uninstall leaves nothing behind, and preflight
// reports every problem at once with exact text.
#include "apply/apply.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "bundlespec/digest.hpp"
#include "bundlespec/interrupt.hpp"
#include "fake_host.hpp"
#include "plan_fixtures.hpp"
#include "support/test_util.hpp"

namespace installer {
namespace {

using installer::testing::current_inventory;
using installer::testing::host;
using installer::testing::plan_for;
using installer::testing::plan_inputs;
using installer::testing::seed_inventory;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// The commands that change something: all but `systemctl is-active` questions.
std::vector<std::string> actions(const std::vector<std::string>& calls) {
  std::vector<std::string> out;
  for (const auto& call : calls) {
    if (call.rfind("systemctl is-active ", 0) != 0) out.push_back(call);
  }
  return out;
}

// A healthy live host: no swap, sysctls set, modules loaded, ports free, runtime running.
void healthy_system(FakeFs& system, const Plan& plan) {
  system.add_file("/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
  for (const auto& [key, value] : plan.preflight.sysctls) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    system.add_file(path, value + "\n");
  }
  for (const auto& module : plan.preflight.modules) system.add_dir("/sys/module/" + module);
  system.add_file("/proc/net/tcp", "  sl  local_address rem_address   st\n");
  system.add_file("/run/containerd/containerd.sock", "", 0755);
  system.add_file("/run/docker.sock", "", 0755);
  for (const auto& [tool, why] : plan.preflight.tools) system.add_file("/usr/sbin/" + tool, "", 0755);
}

// The extracted bundle: each binary's content is its bundle path (plan_inputs' digests).
void bundle_sources(FakeFs& fs, const Plan& plan) {
  for (const Step& s : plan.steps) {
    const auto* f = s.as<FileStep>();
    if (f != nullptr && f->source.rfind("bundle:", 0) == 0) fs.sources["/bundle/" + f->source.substr(7)] = f->source.substr(7);
  }
}

struct Rig {
  FakeFs fs;
  FakeFs system;
  FakeCommandRunner runner;
  ApplyOptions options;
  int extractions = 0;

  explicit Rig(const Plan& plan) {
    healthy_system(system, plan);
    bundle_sources(fs, plan);
    fs.add_dir("/etc");
    fs.add_file("/etc/hosts", "127.0.0.1 localhost\n");
    options.system = &system;
    options.now = 1800000000;
    options.bundle_dir = [this]() -> Result<std::string> {
      ++extractions;
      return std::string("/bundle");
    };
  }
  Result<ApplyReport> apply(const Plan& plan) { return apply_plan(plan, fs, runner, options); }
};

TEST(Apply, FirstInstallWritesEveryFileWithItsModeAndRunsTheCommands) {
  const Plan plan = plan_for(seed_inventory(), "master01");
  Rig rig(plan);
  auto report = rig.apply(plan);
  ASSERT_OK(report);
  EXPECT_TRUE(report->changed());
  EXPECT_THAT(report->warnings, IsEmpty());
  for (const Step& s : plan.steps) {
    if (const auto* d = s.as<DirStep>()) {
      ASSERT_EQ(rig.fs.nodes.count(d->path), 1u) << d->path;
      EXPECT_EQ(rig.fs.nodes[d->path].mode, d->mode) << d->path;
    }
    if (const auto* f = s.as<FileStep>()) {
      ASSERT_EQ(rig.fs.nodes.count(f->path), 1u) << f->path;
      EXPECT_EQ(rig.fs.nodes[f->path].mode, f->mode) << f->path;
      EXPECT_EQ(bundlespec::sha256_hex(rig.fs.nodes[f->path].content), f->sha256) << f->path;
    }
  }
  EXPECT_EQ(rig.fs.nodes["/usr/local/bin/kubectl"].content, "/opt/kubernetes/bin/kubectl");
  EXPECT_EQ(rig.fs.nodes["/etc/hosts"].content,
            "127.0.0.1 localhost\n# BEGIN kubeferry cluster kubernetes\n192.168.80.21 master01\n192.168.80.7 node01\n"
            "192.168.80.8 node02\n# END kubeferry cluster kubernetes\n");
  EXPECT_EQ(rig.fs.nodes.count(k_journal_path), 1u);
  EXPECT_EQ(rig.fs.nodes[k_journal_path].mode, 0600u);
  EXPECT_EQ(rig.extractions, 1);
  EXPECT_THAT(
      rig.runner.calls,
      ElementsAre(
          "modprobe -a br_netfilter overlay", "sysctl --system", "systemctl daemon-reload",
          "systemctl enable etcd.service", "systemctl restart --no-block etcd.service",
          "/opt/etcd/bin/etcdctl --cacert=/opt/etcd/ssl/ca.pem --cert=/opt/etcd/ssl/server.pem "
          "--key=/opt/etcd/ssl/server-key.pem --endpoints=https://192.168.80.21:2379 endpoint health",
          "systemctl enable kube-apiserver.service", "systemctl restart kube-apiserver.service",
          "/opt/kubernetes/bin/kubectl --kubeconfig=/root/.kube/config get --raw=/readyz",
          "systemctl enable kube-controller-manager.service", "systemctl restart kube-controller-manager.service",
          "systemctl enable kube-scheduler.service", "systemctl restart kube-scheduler.service",
          "/opt/kubernetes/bin/kubectl --kubeconfig=/root/.kube/config apply -f /opt/kubernetes/addons/rbac.yaml",
          "/opt/kubernetes/bin/kubectl --kubeconfig=/root/.kube/config apply -f "
          "/opt/kubernetes/addons/kube-flannel.yml",
          "/opt/kubernetes/bin/kubectl --kubeconfig=/root/.kube/config apply -f "
          "/opt/kubernetes/addons/coredns.yaml",
          "/opt/kubernetes/bin/kubectl --kubeconfig=/root/.kube/config get -f /opt/kubernetes/addons/rbac.yaml -f "
          "/opt/kubernetes/addons/kube-flannel.yml -f /opt/kubernetes/addons/coredns.yaml -o name"));
}

// A check that never passes: tried `attempts` times with the interval between, then the run
// stops at it, naming the check, the command, what it said and what to look at.
TEST(Apply, ACheckThatNeverPassesStopsWithWhatItSaidAndWhereToLook) {
  const Plan plan = plan_for(seed_inventory(), "node01");
  Rig rig(plan);
  std::vector<int> sleeps;
  std::vector<std::string> lines;
  rig.options.sleep_ms = [&](int ms) { sleeps.push_back(ms); };
  rig.options.log = [&](const std::string& line) { lines.push_back(line); };
  const std::string get_node =
      "/opt/kubernetes/bin/kubectl --kubeconfig=/opt/kubernetes/cfg/kubelet.kubeconfig get node node01 -o name";
  rig.runner.script.push_back({get_node, CommandResult{1,
                                                       "I1201 warming up\nError from server (NotFound): nodes "
                                                       "\"node01\" not found\n"}});
  auto report = rig.apply(plan);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(std::count(rig.runner.calls.begin(), rig.runner.calls.end(), get_node), 60);
  EXPECT_EQ(sleeps, std::vector<int>(59, 2000));
  EXPECT_EQ(report.error().message(), "step " + std::to_string(plan.steps.size()) +
                                          " (check node-registered): gave up after 60 tries, 2000 ms "
                                          "apart; the last: " +
                                          get_node +
                                          " exited with 1: Error from server (NotFound): nodes \"node01\" not "
                                          "found. Wanted: " +
                                          plan.steps.back().reason);
  EXPECT_THAT(plan.steps.back().reason, HasSubstr("journalctl -u kubelet on node01"));
  EXPECT_THAT(lines, Contains("check node-registered: not yet (" + get_node +
                              " exited with 1: Error from server (NotFound): nodes \"node01\" not found); 59 more "
                              "tries, every 2000 ms"));
  // Not journaled: the next run checks again, and passes once the node is there.
  rig.runner.script.clear();
  rig.runner.calls.clear();
  auto again = rig.apply(plan);
  ASSERT_OK(again);
  EXPECT_THAT(again->applied, ElementsAre("check node-registered"));
}

// readyz answers with one line per health check, which kubectl 1.20 prints on one line with
// "\n" escapes (this is its output, shortened, with etcd stopped: tests/integration/checks.sh):
// the failed items are what the message keeps.
TEST(Apply, ACheckKeepsTheFailedLinesOfItsOutput) {
  const Plan plan = plan_for(seed_inventory(), "master01");
  Rig rig(plan);
  rig.runner.script.push_back(
      {"/opt/kubernetes/bin/kubectl --kubeconfig=/root/.kube/config get --raw=/readyz",
       CommandResult{1, R"(Error from server (InternalError): an error on the server ("[+]ping ok\n[+]log ok\n)"
                        R"([-]etcd failed: reason withheld\n[+]informer-sync ok\n[+]shutdown ok\n)"
                        R"(readyz check failed") has prevented the request from succeeding)"
                        "\n"}});
  auto report = rig.apply(plan);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.error().message(),
              HasSubstr("(check apiserver-ready): gave up after 60 tries, 2000 ms apart; the last: "
                        "/opt/kubernetes/bin/kubectl --kubeconfig=/root/.kube/config get --raw=/readyz exited with 1: "
                        "Error from server (InternalError): an error on the server (\"[+]ping ok | [-]etcd failed: "
                        "reason withheld. Wanted: the API server answers /readyz"));
}

TEST(Apply, NodeLoadsImagesFromTheExtractedBundle) {
  const Plan plan = plan_for(seed_inventory(), "node01");
  Rig rig(plan);
  ASSERT_OK(rig.apply(plan));
  // The installer runs itself on the extracted bundle (images/images.json + blobs).
  EXPECT_THAT(rig.runner.calls, Contains("/proc/self/exe images load --from /bundle --runtime docker"));
  const Plan current = plan_for(current_inventory(), "node02");
  Rig rig2(current);
  ASSERT_OK(rig2.apply(current));
  EXPECT_THAT(rig2.runner.calls, Contains("/proc/self/exe images load --from /bundle --runtime containerd"));
}

// ninja's BuildTest.NoWork: a converged host gets no write, no command, no extraction.
TEST(Apply, SecondInstallDoesNothing) {
  for (const char* name : {"master01", "node01"}) {
    const Plan plan = plan_for(seed_inventory(), name);
    Rig rig(plan);
    ASSERT_OK(rig.apply(plan));
    rig.fs.calls.clear();
    rig.runner.calls.clear();
    auto again = rig.apply(plan);
    ASSERT_OK(again);
    EXPECT_FALSE(again->changed()) << name;
    EXPECT_THAT(again->applied, IsEmpty());
    EXPECT_EQ(again->unchanged.size(), plan.steps.size() - 1) << "every step but preflight";
    EXPECT_THAT(rig.fs.calls, IsEmpty());
    // Only questions: is each service still running?
    std::vector<std::string> queries;
    for (const Step& s : plan.steps) {
      if (const auto* service = s.as<ServiceStep>()) queries.push_back("systemctl is-active --quiet " + service->unit);
    }
    EXPECT_FALSE(queries.empty());
    EXPECT_EQ(rig.runner.calls, queries);
    EXPECT_EQ(rig.extractions, 1);
  }
}

// A converged host whose service died: the next run starts it again, and does nothing else.
TEST(Apply, AServiceThatStoppedIsStartedAgain) {
  const Plan plan = plan_for(seed_inventory(), "master01");
  Rig rig(plan);
  ASSERT_OK(rig.apply(plan));
  rig.fs.calls.clear();
  rig.runner.calls.clear();
  rig.runner.script.push_back({"systemctl is-active --quiet kube-scheduler.service", CommandResult{3, ""}});
  auto again = rig.apply(plan);
  ASSERT_OK(again);
  EXPECT_THAT(again->applied, ElementsAre("service kube-scheduler.service"));
  EXPECT_THAT(rig.runner.calls, Contains("systemctl restart kube-scheduler.service"));
  for (const std::string& call : rig.runner.calls) {
    if (call.find("kube-scheduler") == std::string::npos) {
      EXPECT_THAT(call, HasSubstr("systemctl is-active --quiet"));
    }
  }
  EXPECT_THAT(rig.fs.calls, ElementsAre("write /var/lib/kubeferry/journal.json 0600"));
}

TEST(Apply, ChangedConfigRewritesTheFileAndRestartsOnlyItsService) {
  const Plan plan = plan_for(seed_inventory(), "master01");
  Rig rig(plan);
  ASSERT_OK(rig.apply(plan));
  rig.fs.nodes["/opt/kubernetes/cfg/kube-scheduler.conf"].content += "# edited by hand\n";
  rig.fs.calls.clear();
  rig.runner.calls.clear();
  auto again = rig.apply(plan);
  ASSERT_OK(again);
  EXPECT_THAT(again->applied, ElementsAre("file /opt/kubernetes/cfg/kube-scheduler.conf"));
  EXPECT_THAT(rig.fs.calls, ElementsAre("write /opt/kubernetes/cfg/kube-scheduler.conf 0644",
                                        "write /var/lib/kubeferry/journal.json 0600"));
  EXPECT_THAT(actions(rig.runner.calls), IsEmpty()) << "the service step's digest did not change: same content again";
}

// A journal as the executor wrote it before the steps were typed (kind as free text): it loads
// with each kind as its enum, saves back byte for byte, and an uninstall undoes it.
TEST(Journal, OldFormatLoadsAndSavesByteForByte) {
  const std::string old = R"({
  "entries": [
    {
      "created": [
        "/opt",
        "/opt/etcd"
      ],
      "digest": "b1a468c0e4644d06c3dac13de33aeaf1b9df4c207b0940c1441405cb4cd851fa",
      "id": "dir /opt/etcd",
      "kind": "dir",
      "path": "/opt/etcd"
    },
    {
      "digest": "digest of step 2",
      "id": "file /opt/etcd/cfg/etcd.conf",
      "kind": "file",
      "path": "/opt/etcd/cfg/etcd.conf"
    },
    {
      "digest": "digest of step 3",
      "hosts_begin": "# BEGIN kubeferry cluster rig",
      "hosts_end": "# END kubeferry cluster rig",
      "id": "hosts_block /etc/hosts",
      "kind": "hosts_block",
      "path": "/etc/hosts"
    },
    {
      "digest": "digest of step 4",
      "id": "symlink /usr/local/bin/kubectl",
      "kind": "symlink",
      "path": "/usr/local/bin/kubectl"
    },
    {
      "digest": "digest of step 5",
      "id": "command sysctl",
      "kind": "command"
    },
    {
      "digest": "digest of step 6",
      "id": "images load",
      "kind": "image"
    },
    {
      "created": [
        "/etc/systemd/system/multi-user.target.wants"
      ],
      "digest": "digest of step 7",
      "id": "service etcd.service",
      "kind": "service",
      "unit": "etcd.service"
    },
    {
      "digest": "digest of step 8",
      "id": "check etcd-health",
      "kind": "check"
    },
    {
      "created": [
        "/var/lib/etcd"
      ],
      "data": true,
      "digest": "digest of step 9",
      "id": "dir /var/lib/etcd",
      "kind": "dir",
      "path": "/var/lib/etcd"
    }
  ],
  "format": 1,
  "host": "e1",
  "state_created": [
    "/var/lib/kubeferry"
  ]
}
)";
  FakeFs fs;
  fs.add_dir("/var/lib/kubeferry", 0700);
  fs.add_file(k_journal_path, old, 0600);
  auto journal = load_journal(fs);
  ASSERT_OK(journal);
  ASSERT_TRUE(journal->has_value());
  std::vector<StepKind> kinds;
  for (const JournalEntry& e : (*journal)->entries) kinds.push_back(e.kind);
  EXPECT_THAT(kinds, ElementsAre(StepKind::dir, StepKind::file, StepKind::hosts_block, StepKind::symlink,
                                 StepKind::command, StepKind::image, StepKind::service, StepKind::check,
                                 StepKind::dir));
  EXPECT_EQ((*journal)->entries[6].unit, "etcd.service");
  EXPECT_EQ((*journal)->entries[2].hosts_end, "# END kubeferry cluster rig");
  EXPECT_TRUE((*journal)->entries[8].data);
  ASSERT_OK(save_journal(fs, **journal));
  EXPECT_EQ(fs.nodes[k_journal_path].content, old);

  // Undone by kind: the service stopped, the file removed, the data folder kept.
  fs.add_file("/opt/etcd/cfg/etcd.conf", "ETCD_NAME=e1\n");
  fs.add_dir("/var/lib/etcd");
  FakeCommandRunner runner;
  UninstallOptions options;
  options.live = false;
  options.root = "/target";
  auto report = uninstall(fs, runner, options);
  ASSERT_OK(report);
  EXPECT_THAT(runner.calls, ElementsAre("systemctl --root=/target disable etcd.service"));
  EXPECT_THAT(report->removed, Contains("/opt/etcd/cfg/etcd.conf"));
  EXPECT_THAT(report->kept, ElementsAre("/var/lib/etcd (data; --purge removes it)"));
}

TEST(Journal, AnUnknownKindIsRefused) {
  FakeFs fs;
  fs.add_file(k_journal_path, R"({"entries": [{"id": "x", "kind": "teleport", "digest": ""}], "format": 1})", 0600);
  auto journal = load_journal(fs);
  ASSERT_FALSE(journal.ok());
  EXPECT_EQ(journal.error().message(),
            "journal /var/lib/kubeferry/journal.json: entry \"x\" has an unknown kind \"teleport\"");
}

TEST(Apply, FailedStepIsNamedAndTheRerunFinishes) {
  const Plan plan = plan_for(seed_inventory(), "master01");
  Rig rig(plan);
  rig.runner.script.push_back({"systemctl restart kube-apiserver.service", CommandResult{1, "Job failed.\n"}});
  auto first = rig.apply(plan);
  ASSERT_FALSE(first.ok());
  size_t index = 0;
  while (plan.steps[index].id != "service kube-apiserver.service") ++index;
  EXPECT_EQ(first.error().message(), "step " + std::to_string(index + 1) +
                                         " (service kube-apiserver.service): systemctl restart kube-apiserver.service "
                                         "exited with 1: Job failed.");
  rig.runner.script.clear();
  rig.runner.calls.clear();
  auto second = rig.apply(plan);
  ASSERT_OK(second);
  EXPECT_EQ(second->applied.front(), "service kube-apiserver.service");
  EXPECT_EQ(actions(rig.runner.calls).front(), "systemctl enable kube-apiserver.service");
  auto third = rig.apply(plan);
  ASSERT_OK(third);
  EXPECT_FALSE(third->changed());
}

// Kill the run at every single mutating call in turn: the next run must reach exactly the
// state of an uninterrupted install, and the run after that must do nothing.
TEST(Apply, InterruptedAtAnyWriteFinishesOnTheNextRun) {
  const Plan plan = plan_for(seed_inventory(), "node01");
  Rig reference(plan);
  ASSERT_OK(reference.apply(plan));
  const size_t total = reference.fs.calls.size();
  ASSERT_GT(total, 40u);
  for (size_t k = 0; k < total; ++k) {
    Rig rig(plan);
    rig.fs.fail_at = static_cast<long>(k);
    auto first = rig.apply(plan);
    ASSERT_FALSE(first.ok()) << "call " << k;
    EXPECT_THAT(first.error().message(), HasSubstr(": injected failure")) << k;
    rig.fs.fail_at = -1;
    ASSERT_OK(rig.apply(plan));
    // Same files, same contents and modes as the uninterrupted install.
    ASSERT_EQ(rig.fs.list(), reference.fs.list()) << "interrupted at call " << k << ": " << reference.fs.calls[k];
    for (const auto& [path, node] : reference.fs.nodes) {
      if (path == k_journal_path) continue;
      EXPECT_EQ(rig.fs.nodes[path].content, node.content) << path;
      EXPECT_EQ(rig.fs.nodes[path].mode, node.mode) << path;
    }
    auto third = rig.apply(plan);
    ASSERT_OK(third);
    EXPECT_FALSE(third->changed()) << "interrupted at call " << k;
  }
}

TEST(Apply, InterruptStopsBetweenStepsAndTheRerunFinishes) {
  const Plan plan = plan_for(seed_inventory(), "node01");
  Rig rig(plan);
  // Ctrl-C arrives while step 20 runs: that step finishes, the next one does not start.
  size_t writes = 0;
  rig.options.bundle_dir = [&]() -> Result<std::string> {
    if (++writes == 1) bundlespec::set_interrupt_requested(true);
    return std::string("/bundle");
  };
  auto first = rig.apply(plan);
  bundlespec::set_interrupt_requested(false);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code(), bundlespec::ErrorCode::interrupted);
  EXPECT_EQ(first.error().message(), "step 23 (file /opt/etcd/bin/etcdctl): interrupted");
  auto second = rig.apply(plan);
  ASSERT_OK(second);
  EXPECT_EQ(second->applied.front(), "file /opt/etcd/bin/etcdctl");
  EXPECT_EQ(second->unchanged.size(), 21u);
}

TEST(Apply, DryRunWritesNothing) {
  const Plan plan = plan_for(seed_inventory(), "node02");
  Rig rig(plan);
  rig.options.dry_run = true;
  auto report = rig.apply(plan);
  ASSERT_OK(report);
  EXPECT_EQ(report->applied.size(), plan.steps.size() - 1);
  EXPECT_THAT(rig.fs.calls, IsEmpty());
  EXPECT_THAT(rig.runner.calls, IsEmpty());
  EXPECT_EQ(rig.extractions, 0);
}

TEST(Apply, RefusesAPlanWithoutContents) {
  auto inputs = plan_inputs(seed_inventory(), host(seed_inventory(), "node01"));
  inputs.kit.reset();
  auto plan = make_plan(seed_inventory(), host(seed_inventory(), "node01"), inputs);
  ASSERT_OK(plan);
  Rig rig(*plan);
  auto report = rig.apply(*plan);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(
      report.error().message(),
      "the plan does not know the content of /opt/etcd/ssl/ca.pem (it was made without the PKI kit or the bundle)");
}

TEST(Uninstall, PurgeLeavesNothingOfOursBehind) {
  const Plan plan = plan_for(seed_inventory(), "master01");
  Rig rig(plan);
  const auto before = rig.fs.list();
  const std::string hosts_before = rig.fs.nodes["/etc/hosts"].content;
  ASSERT_OK(rig.apply(plan));
  rig.fs.add_file("/var/lib/etcd/default.etcd/member/wal/0.wal", "data");  // what etcd would write
  rig.runner.calls.clear();
  // systemd unloads a stopped unit that did not fail: reset-failed then exits 1, no warning.
  rig.runner.script.push_back({"systemctl reset-failed", CommandResult{1, "Unit etcd.service not loaded.\n"}});
  UninstallOptions options;
  options.purge = Purge::yes;
  auto report = uninstall(rig.fs, rig.runner, options);
  ASSERT_OK(report);
  EXPECT_TRUE(report->had_journal);
  EXPECT_THAT(report->warnings, IsEmpty());
  EXPECT_EQ(rig.fs.list(), before);
  EXPECT_EQ(rig.fs.nodes["/etc/hosts"].content, hosts_before);
  EXPECT_THAT(
      rig.runner.calls,
      ElementsAre("systemctl disable --now kube-scheduler.service", "systemctl reset-failed kube-scheduler.service",
                  "systemctl disable --now kube-controller-manager.service",
                  "systemctl reset-failed kube-controller-manager.service",
                  "systemctl disable --now kube-apiserver.service", "systemctl reset-failed kube-apiserver.service",
                  "systemctl disable --now etcd.service", "systemctl reset-failed etcd.service",
                  // before each data folder's purge: what is mounted below it is unmounted
                  "findmnt -rn -o TARGET", "findmnt -rn -o TARGET", "findmnt -rn -o TARGET",
                  "systemctl daemon-reload"));
}

// A containerd node: install restarts containerd with kubeferry's settings before loading the
// images; uninstall removes the drop-in and config, then restarts containerd with its own.
TEST(Uninstall, ContainerdNodeGetsItsOwnSettingsBack) {
  const Plan plan = plan_for(current_inventory(), "node01");
  Rig rig(plan);
  const auto before = rig.fs.list();
  ASSERT_OK(rig.apply(plan));
  const auto& calls = rig.runner.calls;
  const auto restart = std::find(calls.begin(), calls.end(), "systemctl restart containerd.service");
  ASSERT_NE(restart, calls.end());
  EXPECT_EQ(*(restart - 1), "systemctl daemon-reload");
  EXPECT_THAT(*(restart + 1), HasSubstr("images load --from /bundle --runtime containerd"));
  EXPECT_TRUE(rig.fs.nodes.count("/etc/systemd/system/containerd.service.d/10-kubeferry.conf"));
  // Converged: nothing restarts containerd again.
  rig.runner.calls.clear();
  ASSERT_OK(rig.apply(plan));
  EXPECT_THAT(rig.runner.calls, Not(Contains("systemctl restart containerd.service")));
  rig.runner.calls.clear();
  UninstallOptions options;
  options.purge = Purge::yes;
  auto report = uninstall(rig.fs, rig.runner, options);
  ASSERT_OK(report);
  EXPECT_THAT(report->warnings, IsEmpty());
  EXPECT_EQ(rig.fs.list(), before);
  ASSERT_GE(rig.runner.calls.size(), 2u);
  EXPECT_EQ(rig.runner.calls[rig.runner.calls.size() - 2], "systemctl daemon-reload");
  EXPECT_EQ(rig.runner.calls.back(), "systemctl restart containerd.service");
}

TEST(Uninstall, KeepsDataWithoutPurgeAndAPurgeLaterRemovesIt) {
  const Plan plan = plan_for(seed_inventory(), "node01");
  Rig rig(plan);
  const auto before = rig.fs.list();
  ASSERT_OK(rig.apply(plan));
  rig.fs.add_file("/var/lib/kubelet/pki/kubelet-client-current.pem", "cert");
  const auto left = [&] {
    std::vector<std::string> out;
    for (const auto& path : rig.fs.list()) {
      if (std::find(before.begin(), before.end(), path) == before.end()) out.push_back(path);
    }
    return out;
  };
  const std::vector<std::string> data_and_journal = {"/etc/cni/",
                                                     "/etc/cni/net.d/",
                                                     "/opt/",
                                                     "/opt/kubernetes/",
                                                     "/opt/kubernetes/logs/",
                                                     "/var/",
                                                     "/var/lib/",
                                                     "/var/lib/cni/",
                                                     "/var/lib/dockershim/",
                                                     "/var/lib/etcd/",
                                                     "/var/lib/kubeferry/",
                                                     "/var/lib/kubeferry/journal.json",
                                                     "/var/lib/kubelet/",
                                                     "/var/lib/kubelet/pki/kubelet-client-current.pem"};
  auto report = uninstall(rig.fs, rig.runner, UninstallOptions{});
  ASSERT_OK(report);
  EXPECT_EQ(left(), data_and_journal);
  EXPECT_THAT(report->kept, Contains("/var/lib/etcd (data; --purge removes it)"));
  EXPECT_THAT(report->kept, Contains("/var/lib/kubelet (data; --purge removes it)"));
  EXPECT_THAT(report->kept, Contains("/etc/cni/net.d (data; --purge removes it)"));
  // The journal now lists only the kept folders: a plain uninstall again changes nothing...
  auto again = uninstall(rig.fs, rig.runner, UninstallOptions{});
  ASSERT_OK(again);
  EXPECT_TRUE(again->had_journal);
  EXPECT_THAT(again->removed, IsEmpty());
  EXPECT_EQ(left(), data_and_journal);
  // ...and --purge, asked for later, still removes them.
  UninstallOptions purge;
  purge.purge = Purge::yes;
  ASSERT_OK(uninstall(rig.fs, rig.runner, purge));
  EXPECT_EQ(rig.fs.list(), before);
  auto none = uninstall(rig.fs, rig.runner, UninstallOptions{});
  ASSERT_OK(none);
  EXPECT_FALSE(none->had_journal);
}

// Reinstalled over kept data, the folders are still ours: a purge removes them.
TEST(Uninstall, ReinstallOverKeptDataOwnsIt) {
  const Plan plan = plan_for(seed_inventory(), "node01");
  Rig rig(plan);
  const auto before = rig.fs.list();
  ASSERT_OK(rig.apply(plan));
  rig.fs.add_file("/var/lib/etcd/default.etcd/member/wal/0.wal", "data");
  ASSERT_OK(uninstall(rig.fs, rig.runner, UninstallOptions{}));
  auto reinstall = rig.apply(plan);
  ASSERT_OK(reinstall);
  EXPECT_THAT(reinstall->unchanged, Contains("dir /var/lib/etcd"));
  UninstallOptions purge;
  purge.purge = Purge::yes;
  auto report = uninstall(rig.fs, rig.runner, purge);
  ASSERT_OK(report);
  EXPECT_THAT(report->kept, IsEmpty());
  EXPECT_EQ(rig.fs.list(), before);
}

TEST(Preflight, ReportsEveryProblemAtOnceBeforeWriting) {
  const Plan plan = plan_for(seed_inventory(), "node01");
  Rig rig(plan);
  rig.system.nodes.clear();
  rig.system.add_file("/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/vda2 partition\t2097148\t0\t-2\n");
  rig.system.add_file("/proc/sys/net/ipv4/ip_forward", "0\n");
  rig.system.add_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1\n");
  for (const auto& module : plan.preflight.modules) {
    if (module != "br_netfilter" && module != "ip_vs") rig.system.add_dir("/sys/module/" + module);
  }
  rig.system.add_file("/proc/net/tcp",
                      "  sl  local_address rem_address   st\n"
                      "   0: 00000000:094B 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
                      "   1: 0100007F:2A3A 0100007F:094B 01 00000000:00000000 00:00000000 00000000\n");
  rig.fs.free = 5 << 20;
  auto report = rig.apply(plan);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().message(),
            "step 1 (preflight): preflight found 15 problems on node01:\n"
            "  - swap: swap is on (/dev/vda2); kubelet needs it off. Run swapoff -a and remove it from /etc/fstab\n"
            "  - sysctl: net.bridge.bridge-nf-call-ip6tables does not exist (load br_netfilter first)\n"
            "  - sysctl: net.bridge.bridge-nf-call-iptables does not exist (load br_netfilter first)\n"
            "  - sysctl: net.ipv4.ip_forward is 0, want 1\n"
            "  - module: kernel module br_netfilter is not loaded\n"
            "  - module: kernel module ip_vs is not loaded\n"
            "  - port: TCP port 2379 is already in use by another program\n"
            "  - disk: /etc has 5 MiB free, the install needs 17 MiB\n"
            "  - disk: /opt has 5 MiB free, the install needs 17 MiB\n"
            "  - disk: /usr has 5 MiB free, the install needs 17 MiB\n"
            "  - runtime: docker is not installed (node roles need a running container runtime)\n"
            "  - tool: iptables is not installed (needed by kube-proxy and the CNI plugins): install it from the "
            "distribution's media (package iptables)\n"
            "  - tool: conntrack is not installed (needed by kube-proxy, to clear the connections of removed "
            "endpoints): install it from the distribution's media (package conntrack; CentOS/RHEL: conntrack-tools)\n"
            "  - tool: ipset is not installed (needed by kube-proxy in IPVS mode): install it from the distribution's "
            "media (package ipset)\n"
            "  - tool: socat is not installed (needed by kubectl port-forward through dockershim): install it from the "
            "distribution's media (package socat)\n"
            "run again with --fix to apply the safe fixes (swapoff, modprobe, sysctl)");
  EXPECT_THAT(rig.fs.calls, IsEmpty()) << "nothing written before preflight passes";
  EXPECT_THAT(rig.runner.calls, IsEmpty());

  // --fix runs only the safe fixes, then checks again (the fake system does not change).
  rig.options.fix = true;
  auto fixed = rig.apply(plan);
  ASSERT_FALSE(fixed.ok());
  EXPECT_THAT(rig.runner.calls,
              ElementsAre("swapoff -a", "sysctl -w net.bridge.bridge-nf-call-ip6tables=1",
                          "sysctl -w net.bridge.bridge-nf-call-iptables=1", "sysctl -w net.ipv4.ip_forward=1",
                          "modprobe br_netfilter", "modprobe ip_vs"));
  EXPECT_THAT(rig.fs.calls, IsEmpty());
}

// A module compiled into the kernel need not show in /sys/module: modules.builtin vouches.
TEST(Preflight, BuiltinModulesNeedNoLoading) {
  const Plan plan = plan_for(seed_inventory(), "node01");
  Rig rig(plan);
  rig.system.nodes.erase("/sys/module/br_netfilter");
  rig.system.nodes.erase("/sys/module/ip_vs");
  rig.system.add_file("/proc/sys/kernel/osrelease", "6.1.0-test\n");
  rig.system.add_file("/lib/modules/6.1.0-test/modules.builtin",
                      "kernel/net/bridge/br_netfilter.ko\nkernel/fs/overlayfs/overlay.ko\n");
  auto report = rig.apply(plan);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().message(),
            "step 1 (preflight): preflight found 1 problem on node01:\n"
            "  - module: kernel module ip_vs is not loaded\n"
            "run again with --fix to apply the safe fixes (swapoff, modprobe, sysctl)");
  rig.system.add_file("/lib/modules/6.1.0-test/modules.builtin",
                      "kernel/net/bridge/br_netfilter.ko\nkernel/net/netfilter/ipvs/ip_vs.ko\n");
  EXPECT_OK(rig.apply(plan));
}

// dockershim's kubelet stops when docker's cgroup driver is not its own (cgroupfs).
TEST(Preflight, DockerMustUseTheKubeletsCgroupDriver) {
  const Plan plan = plan_for(seed_inventory(), "node01");  // docker
  const std::string problem =
      "step 1 (preflight): preflight found 1 problem on node01:\n"
      "  - runtime: docker uses the systemd cgroup driver here (WHY) and the kubelet cgroupfs; they must agree. Set "
      "\"exec-opts\": [\"native.cgroupdriver=cgroupfs\"] in /etc/docker/daemon.json and restart docker";
  const auto with = [&](const std::string& why) {
    return problem.substr(0, problem.find("WHY")) + why + problem.substr(problem.find("WHY") + 3);
  };
  {
    Rig rig(plan);
    rig.system.add_file("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
    auto report = rig.apply(plan);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().message(), with("its default on a cgroup v2 host"));
    rig.system.add_file("/etc/docker/daemon.json", "{\"exec-opts\": [\"native.cgroupdriver=cgroupfs\"]}\n");
    EXPECT_OK(rig.apply(plan));
  }
  {
    Rig rig(plan);  // cgroup v1, but told to use systemd
    rig.system.add_file("/etc/docker/daemon.json", "{\"exec-opts\": [\"native.cgroupdriver=systemd\"]}\n");
    auto report = rig.apply(plan);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().message(), with("/etc/docker/daemon.json says so"));
  }
}

TEST(Preflight, ClockBehindTheCertificates) {
  const Plan plan = plan_for(seed_inventory(), "master01");
  ASSERT_GT(plan.preflight.not_before, 0);
  Rig rig(plan);
  rig.options.now = plan.preflight.not_before - 3600;
  auto report = rig.apply(plan);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().message(),
            "step 1 (preflight): preflight found 1 problem on master01:\n  - clock: the clock (" +
                std::to_string(plan.preflight.not_before - 3600) + ") is behind the certificates' notBefore (" +
                std::to_string(plan.preflight.not_before) +
                "): they would be rejected. Set the time (a local NTP server)");
}

TEST(Preflight, ConvergedHostsOwnPortsAreNoConflict) {
  const Plan plan = plan_for(seed_inventory(), "master01");
  Rig rig(plan);
  ASSERT_OK(rig.apply(plan));
  rig.system.add_file("/proc/net/tcp",
                      "  sl  local_address rem_address   st\n"
                      "   0: 00000000:094B 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n");
  auto again = rig.apply(plan);
  ASSERT_OK(again);
  EXPECT_FALSE(again->changed());
  // Renewed certificates change etcd's service step: still our etcd holding its port.
  Plan renewed = plan;
  for (Step& s : renewed.steps) {
    if (s.kind() == StepKind::service) s.digest = bundlespec::sha256_hex("renewed " + s.digest);
  }
  auto after_renewal = rig.apply(renewed);
  ASSERT_OK(after_renewal);
  EXPECT_THAT(after_renewal->applied, Contains("service etcd.service"));
}

// --root DIR on a real folder: files only, services enabled with systemctl --root, and
// uninstall --purge leaves the folder empty.
TEST(ApplyRealRoot, InstallTwiceThenUninstall) {
  const Plan plan = plan_for(seed_inventory(), "node02");
  kftest::TempDir root;
  kftest::TempDir bundle;
  for (const Step& s : plan.steps) {
    const auto* f = s.as<FileStep>();
    if (f != nullptr && f->source.rfind("bundle:", 0) == 0) {
      kftest::write_file(bundle / f->source.substr(7), f->source.substr(7), 0755);
    }
  }
  RealFs fs(root.path());
  FakeFs system;
  FakeCommandRunner runner;
  ApplyOptions options;
  options.live = false;
  options.root = root.path();
  options.system = &system;
  options.now = 1800000000;
  options.bundle_dir = [&]() -> Result<std::string> { return bundle.path(); };
  auto first = apply_plan(plan, fs, runner, options);
  ASSERT_OK(first);
  EXPECT_TRUE(first->changed());
  EXPECT_THAT(runner.calls, ElementsAre("systemctl --root=" + root.path() + " enable etcd.service",
                                        "systemctl --root=" + root.path() + " enable kubelet.service",
                                        "systemctl --root=" + root.path() + " enable kube-proxy.service"));
  struct stat st {};
  ASSERT_EQ(::stat((root / "opt/kubernetes/cfg/bootstrap.kubeconfig").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((root / "opt/kubernetes/bin/kubelet").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((root / "var/lib/etcd").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_FALSE(first->skipped.empty());

  runner.calls.clear();
  auto second = apply_plan(plan, fs, runner, options);
  ASSERT_OK(second);
  EXPECT_FALSE(second->changed());
  EXPECT_THAT(runner.calls, IsEmpty());

  UninstallOptions remove;
  remove.live = false;
  remove.root = root.path();
  remove.purge = Purge::yes;
  auto report = uninstall(fs, runner, remove);
  ASSERT_OK(report);
  EXPECT_THAT(report->warnings, IsEmpty());
  std::string listing;
  EXPECT_EQ(kftest::run_command("find " + root.path() + " -mindepth 1", &listing), 0);
  EXPECT_EQ(listing, "");
}

// A node's uninstall takes its Node object out of the cluster with the kubelet's own
// credentials, after the kubelet stopped (it would register again); without a bootstrapped
// kubeconfig there is no Node to delete; a failed delete is a warning naming what to run.
TEST(Uninstall, NodeDeletesItsNodeObjectAfterStoppingTheKubelet) {
  const Plan plan = plan_for(seed_inventory(), "node01");
  Rig rig(plan);
  ASSERT_OK(rig.apply(plan));
  rig.fs.add_file("/opt/kubernetes/cfg/kubelet.kubeconfig", "written by TLS bootstrap");
  rig.runner.calls.clear();
  rig.runner.script.push_back({"docker ps -aq --filter name=^k8s_", CommandResult{0, "c1\nc2\n"}});
  rig.runner.script.push_back(
      {"findmnt", CommandResult{0, "/\n/var/lib/kubelet/pods/p/volumes/x\n/var/lib/kubeletx\n"}});
  UninstallOptions purge;
  purge.purge = Purge::yes;
  auto report = uninstall(rig.fs, rig.runner, purge);
  ASSERT_OK(report);
  ASSERT_GE(rig.runner.calls.size(), 4u);
  EXPECT_EQ(rig.runner.calls[0], "systemctl stop kubelet.service");
  // The pods' containers go (dockershim's k8s_*), then the Node object.
  EXPECT_EQ(rig.runner.calls[1], "docker ps -aq --filter name=^k8s_");
  EXPECT_EQ(rig.runner.calls[2], "docker rm -f c1 c2");
  // The kubelet's volume mounts below /var/lib/kubelet (and only those) are unmounted before the purge.
  EXPECT_THAT(rig.runner.calls, Contains("umount -l /var/lib/kubelet/pods/p/volumes/x"));
  EXPECT_THAT(rig.runner.calls, Not(Contains("umount -l /var/lib/kubeletx")));
  EXPECT_EQ(rig.runner.calls[3],
            "/opt/kubernetes/bin/kubectl --kubeconfig=/opt/kubernetes/cfg/kubelet.kubeconfig --request-timeout=20s "
            "delete node node01 --ignore-not-found --wait=false");
  EXPECT_THAT(report->removed, Contains("node node01 (its Node object in the cluster)"));
}

TEST(Uninstall, NodeWithoutBootstrapDeletesNothingAndAFailedDeleteWarns) {
  const Plan plan = plan_for(seed_inventory(), "node01");
  {
    Rig rig(plan);
    ASSERT_OK(rig.apply(plan));
    rig.runner.calls.clear();
    ASSERT_OK(uninstall(rig.fs, rig.runner, UninstallOptions{}));
    EXPECT_THAT(rig.runner.calls, Not(Contains(HasSubstr("delete node"))));
  }
  Rig rig(plan);
  ASSERT_OK(rig.apply(plan));
  rig.fs.add_file("/opt/kubernetes/cfg/kubelet.kubeconfig", "written by TLS bootstrap");
  rig.runner.script.push_back({"/opt/kubernetes/bin/kubectl --kubeconfig=", CommandResult{1, "connection refused\n"}});
  auto report = uninstall(rig.fs, rig.runner, UninstallOptions{});
  ASSERT_OK(report);
  EXPECT_THAT(
      report->warnings,
      Contains("the Node object node01 stays in the cluster (kubectl delete node exited 1: connection refused): "
               "on a master, run kubectl delete node node01"));
}

}  // namespace
}  // namespace installer
