#include "api/lib/wire.h"

#include <cstdint>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace ferry::api {

void AppendLengthPrefix(int number, size_t length, std::string* out) {
  using google::protobuf::internal::WireFormatLite;
  uint8_t prefix[16];  // a tag and a length: at most 5 + 5 bytes
  uint8_t* end =
      WireFormatLite::WriteTagToArray(number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, prefix);
  end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(length),
                                                                      end);
  out->append(reinterpret_cast<const char*>(prefix), end - prefix);
}

void AppendLengthDelimited(int number, absl::string_view bytes, std::string* out) {
  AppendLengthPrefix(number, bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

}  // namespace ferry::api
