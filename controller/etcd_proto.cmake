# etcd's v3 API, generated with the project's own protoc and gRPC plugin
# from the .proto files Debian ships in golang-etcd-server-dev (3.4, the
# same release as etcd-server). scripts/run.sh unpacks that one package
# into the build dir; installing it would pull ~140 Go source packages.
#
# The files are copied with their Go-only annotations removed: gogoproto
# options (code generation hints for Go) and google.api.http options (the
# JSON gateway). Neither changes a message's wire format, and their own
# .proto files are not in Debian's etcd packages.
set(FERRY_ETCD_PROTO_ROOT "" CACHE PATH
    "go.etcd.io/etcd source root holding etcdserver/etcdserverpb/rpc.proto")
if(NOT FERRY_ETCD_PROTO_ROOT)
  foreach(candidate /usr/share/gocode/src/go.etcd.io/etcd
                    ${CMAKE_BINARY_DIR}/etcd-api/usr/share/gocode/src/go.etcd.io/etcd)
    if(EXISTS ${candidate}/etcdserver/etcdserverpb/rpc.proto)
      set(FERRY_ETCD_PROTO_ROOT ${candidate})
      break()
    endif()
  endforeach()
endif()
if(NOT EXISTS ${FERRY_ETCD_PROTO_ROOT}/etcdserver/etcdserverpb/rpc.proto)
  message(FATAL_ERROR
    "etcd's API .proto files were not found. Run scripts/run.sh build, or unpack "
    "Debian's golang-etcd-server-dev: apt-get download golang-etcd-server-dev && "
    "dpkg-deb -x golang-etcd-server-dev_*.deb ${CMAKE_BINARY_DIR}/etcd-api")
endif()

set(ETCD_GEN ${CMAKE_BINARY_DIR}/gen)
set(ETCD_PROTO_DIR ${CMAKE_BINARY_DIR}/etcd-proto)
set(ETCD_PROTOS mvcc/mvccpb/kv.proto auth/authpb/auth.proto etcdserver/etcdserverpb/rpc.proto)
set(ETCD_PROTO_FILES)
set(ETCD_GEN_SRCS)
foreach(rel ${ETCD_PROTOS})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${FERRY_ETCD_PROTO_ROOT}/${rel})
  file(READ ${FERRY_ETCD_PROTO_ROOT}/${rel} text)
  string(REGEX REPLACE "import \"(gogoproto/gogo|google/api/annotations)\\.proto\";" "" text "${text}")
  string(REGEX REPLACE "option \\(gogoproto\\.[a-z_]+\\) = [a-z]+;" "" text "${text}")
  string(REGEX REPLACE "\\[\\(gogoproto\\.[^]]*\\]" "" text "${text}")
  string(REGEX REPLACE "option \\(google\\.api\\.http\\) = {([^{}]|{[^{}]*})*};" "" text "${text}")
  file(CONFIGURE OUTPUT ${ETCD_PROTO_DIR}/etcd/${rel} CONTENT "${text}" @ONLY)
  list(APPEND ETCD_PROTO_FILES ${ETCD_PROTO_DIR}/etcd/${rel})
  string(REGEX REPLACE "\\.proto$" "" stem ${rel})
  list(APPEND ETCD_GEN_SRCS ${ETCD_GEN}/etcd/${stem}.pb.cc)
endforeach()
list(APPEND ETCD_GEN_SRCS ${ETCD_GEN}/etcd/etcdserver/etcdserverpb/rpc.grpc.pb.cc)
add_custom_command(
  OUTPUT ${ETCD_GEN_SRCS}
  COMMAND protobuf::protoc
  ARGS --proto_path=${ETCD_PROTO_DIR} --cpp_out=${ETCD_GEN} --grpc_out=${ETCD_GEN}
       --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin> ${ETCD_PROTO_FILES}
  DEPENDS ${ETCD_PROTO_FILES}
  COMMENT "protoc etcd v3 API (rpc.proto, kv.proto, auth.proto)")
add_library(ferry_etcd_proto STATIC ${ETCD_GEN_SRCS})
target_include_directories(ferry_etcd_proto PUBLIC ${ETCD_GEN})
target_link_libraries(ferry_etcd_proto PUBLIC protobuf::libprotobuf gRPC::grpc++)
# Generated code: not ours to warn about.
target_compile_options(ferry_etcd_proto PRIVATE -w)
