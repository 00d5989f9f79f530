# One static library per source folder, globbed so new files need no edit.
function(ferry_folder_lib name dir)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.cc)
  list(FILTER srcs EXCLUDE REGEX ".*_main\\.cc$")
  if(srcs)
    add_library(${name} STATIC ${srcs})
    target_link_libraries(${name} PUBLIC ${ARGN})
  else()
    add_library(${name} INTERFACE)
    target_link_libraries(${name} INTERFACE ${ARGN})
  endif()
endfunction()

# The daemons allocate with tcmalloc (gperftools' minimal build, from
# Debian). At 100k forwards the controller holds ~2M small objects for the
# life of the process, allocated between the garbage of a large apply on
# the RPC threads and of each reconcile pass: glibc's per-thread arenas
# kept ~130 MB of free memory resident between them (180 MB in use, 305 MB
# RSS), which malloc_trim cannot return; tcmalloc's size-class spans keep
# long-lived objects apart from short-lived ones of other sizes (240 MB).
# The agent's 100k-rule batch ran 5-10% faster too. ferryctl stays on
# glibc: loading tcmalloc added 1.5 ms to every CLI process (8.1 against
# 6.6 ms for --help), which one change pays twice (apply, wait), for a 5%
# faster parse of a 26 MB manifest (docs/performance.md, section 7). Not in
# the fuzzers' sanitizer build, which brings its own allocator.
if(NOT FERRY_FUZZ)
  find_library(FERRY_TCMALLOC tcmalloc_minimal REQUIRED)
endif()
function(ferry_use_tcmalloc target)
  if(TARGET ${target} AND FERRY_TCMALLOC)
    target_link_libraries(${target} PRIVATE ${FERRY_TCMALLOC})
  endif()
endfunction()

# A binary from one main file, if that file exists yet.
function(ferry_binary name main)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${main})
    add_executable(${name} ${main})
    target_link_libraries(${name} PRIVATE ${ARGN})
  endif()
endfunction()
