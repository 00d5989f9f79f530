#ifndef FERRY_API_LIB_LIST_METADATA_H_
#define FERRY_API_LIB_LIST_METADATA_H_

namespace ferry::api {

// A List streams the objects of one store snapshot and ends with that
// snapshot's revision in this trailing metadata key: every object listed is
// as of that revision (a selector only filters it), so a client that
// watches from it misses and replays nothing.
inline constexpr char kListRevisionMetadata[] = "resource-version";

}  // namespace ferry::api

#endif  // FERRY_API_LIB_LIST_METADATA_H_
