#ifndef FERRY_CONTROLLER_OBSERVABILITY_HTTP_CLIENT_H_
#define FERRY_CONTROLLER_OBSERVABILITY_HTTP_CLIENT_H_

// The one HTTP client call the webhook notifier needs: POST a body to an
// http:// URL and return the status code. No TLS, no redirects, no
// keep-alive; every step is bounded by a deadline and a cancel fd.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ferry::controller {

struct HttpUrl {
  std::string host;  // hostname or IP literal, without brackets
  int port = 80;
  std::string path = "/";  // with query, if any
  std::string text;        // the URL as given, for logs
};

// Accepts http://host[:port][/path], with [v6] hosts. INVALID_ARGUMENT
// names `field` (e.g. "--alert-webhook") and what is wrong.
absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url,
                                     absl::string_view field);

// Resolves (getaddrinfo), connects, sends and reads the status line.
// Returns the HTTP status code; transport failures are UNAVAILABLE,
// DEADLINE_EXCEEDED or CANCELLED (once `cancel_fd` is readable).
absl::StatusOr<int> HttpPost(const HttpUrl& url, absl::string_view content_type,
                             absl::string_view body, absl::Duration timeout,
                             int cancel_fd);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_OBSERVABILITY_HTTP_CLIENT_H_
