#ifndef FERRY_TESTS_UNIT_CONTROLLER_WRITE_OPS_H_
#define FERRY_TESTS_UNIT_CONTROLLER_WRITE_OPS_H_

// The store tests' write ops: raw values under kind IPForward (or Node),
// as the Store interface sees them, whatever the backend.

#include <cstdint>
#include <string>

#include "controller/store/store.h"

namespace ferry::controller::store_test {

inline WriteOp Put(const std::string& name, const std::string& value,
                   int64_t expected = WriteOp::kAnyRevision) {
  WriteOp op;
  op.kind = "IPForward";
  op.name = name;
  op.value = value;
  op.expected_revision = expected;
  return op;
}

inline WriteOp Create(const std::string& name, const std::string& value) {
  return Put(name, value, WriteOp::kMustNotExist);
}

inline WriteOp Delete(const std::string& name, int64_t expected = WriteOp::kAnyRevision) {
  WriteOp op = Put(name, "", expected);
  op.type = WriteOp::Type::kDelete;
  return op;
}

inline WriteOp PutNode(const std::string& name, const std::string& value) {
  WriteOp op = Put(name, value);
  op.kind = "Node";
  return op;
}

}  // namespace ferry::controller::store_test

#endif  // FERRY_TESTS_UNIT_CONTROLLER_WRITE_OPS_H_
