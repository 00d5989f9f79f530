#ifndef FERRY_TESTS_UNIT_CONTROLLER_TEST_FORWARDS_H_
#define FERRY_TESTS_UNIT_CONTROLLER_TEST_FORWARDS_H_

// What the ResourceService tests share: a valid IPForward object and a
// fresh SqliteStore in a directory of its own per test.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "controller/store/sqlite_store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// node-a's `frontend_address`:`port`/TCP to node-b's 10.8.0.2.
inline ferry::v1::Object TestForward(const std::string& name, const std::string& frontend_address,
                                     uint32_t port) {
  ferry::v1::Object object;
  auto* f = object.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name(name);
  f->mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f->mutable_spec()->mutable_frontend()->set_address(frontend_address);
  f->mutable_spec()->mutable_backend()->set_node_name("node-b");
  f->mutable_spec()->mutable_backend()->set_address("10.8.0.2");
  auto* p = f->mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(port);
  return object;
}

// An empty store under TempDir, named for `prefix`, the pid and the running
// test; `dir` receives the path. Fails the test if it cannot be opened.
inline std::unique_ptr<SqliteStore> OpenTestStore(const std::string& prefix, std::string* dir) {
  *dir = absl::StrCat(::testing::TempDir(), "/", prefix, "-", getpid(), "-",
                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(*dir);
  auto store = SqliteStore::Open(*dir);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

}  // namespace ferry::controller

#endif  // FERRY_TESTS_UNIT_CONTROLLER_TEST_FORWARDS_H_
