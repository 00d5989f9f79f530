#ifndef FERRY_API_OBSERVABILITY_HTTP_CLIENT_H_
#define FERRY_API_OBSERVABILITY_HTTP_CLIENT_H_

// The one HTTP client call the webhook notifier needs: POST a body to an
// http:// or https:// URL and return the status code. No redirects, no
// keep-alive; every step is bounded by a deadline and a cancel fd.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/observability/tls_stream.h"

namespace ferry::observability {

struct HttpUrl {
  bool https = false;
  std::string host;        // hostname or IP literal, without brackets
  int port = 80;           // 443 for https unless given
  std::string path = "/";  // with query, if any; never a fragment
  std::string text;        // the URL as given, for logs
};

// Accepts http[s]://host[:port][/path][?query][#fragment], with [v6] hosts;
// the scheme is case-insensitive. INVALID_ARGUMENT names `field` (e.g.
// "--alert-webhook") and the URL (C-escaped), and says what is wrong:
// another scheme, credentials, a control character (a byte below 0x20, or
// 0x7f), a space or a non-ASCII byte (percent-encode those), a bad port.
absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url, absl::string_view field);

struct HttpPostRequest {
  absl::string_view content_type;
  absl::string_view body;
  // Sent after the standard headers, as given; names and values must not
  // contain CR or LF (the caller builds them, never from user input).
  std::vector<std::pair<std::string, std::string>> headers;
};

// Resolves (getaddrinfo), connects, for https handshakes with `tls` (which
// must be non-null then), sends and reads the status line. Returns the HTTP
// status code; transport and TLS failures are UNAVAILABLE (naming the URL),
// DEADLINE_EXCEEDED or CANCELLED (once `cancel_fd` is readable).
absl::StatusOr<int> HttpPost(const HttpUrl& url, const HttpPostRequest& request,
                             const TlsClientContext* tls, absl::Duration timeout, int cancel_fd);

}  // namespace ferry::observability

#endif  // FERRY_API_OBSERVABILITY_HTTP_CLIENT_H_
