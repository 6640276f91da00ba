// SPDX-License-Identifier: Apache-2.0
// kiln/loggers/detail/http_client.hpp — JSON over HTTP with libcurl: one connection, reused, per client.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include <curl/curl.h>

namespace kiln::detail {

/// What one request gave: `status` 0 when no answer came (`error` says why, as libcurl words it;
/// `failure` is libcurl's short name for the kind of failure, the same for every such request).
struct HttpReply {
  long status = 0;
  std::string failure;
  std::string body;
  std::string error;
  bool answered() const { return status != 0; }
  bool ok() const { return status >= 200 && status < 300; }
};

/// One libcurl easy handle: keeps its connection open between requests. Not shared between
/// threads; each thread that talks to a server makes its own.
class HttpClient {
 public:
  HttpClient(std::chrono::milliseconds connect_timeout, std::chrono::milliseconds timeout)
      : connect_timeout_(connect_timeout), timeout_(timeout) {
    static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;  // once, before any thread's handle
    (void)initialised;
    handle_.reset(curl_easy_init());
  }

  HttpReply get(const std::string& url) { return perform(url, nullptr); }
  HttpReply post_json(const std::string& url, const std::string& json) { return perform(url, &json); }

  /// `s` percent-encoded for a URL's query (libcurl's curl_easy_escape).
  std::string escape(const std::string& s) {
    std::unique_ptr<char, void (*)(void*)> out(
        handle_ ? curl_easy_escape(handle_.get(), s.data(), static_cast<int>(s.size())) : nullptr, curl_free);
    return out ? std::string(out.get()) : std::string();
  }

 private:
  struct Cleanup {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };
  static std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }

  HttpReply perform(const std::string& url, const std::string* json) {
    HttpReply reply;
    CURL* c = handle_.get();
    if (!c) {
      reply.error = reply.failure = "libcurl could not make a handle";
      return reply;
    }
    char error[CURL_ERROR_SIZE] = "";
    std::unique_ptr<curl_slist, Cleanup> headers(curl_slist_append(nullptr, "Content-Type: application/json"));
    curl_easy_reset(c);  // keeps the open connection, forgets the previous request's options
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: the sender is a background thread
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_.count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &HttpClient::collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
    if (json) {
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, json->data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json->size()));
    }
    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      reply.failure = curl_easy_strerror(rc);
      reply.error = error[0] ? error : reply.failure;
      reply.body.clear();
      return reply;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
    return reply;
  }

  std::chrono::milliseconds connect_timeout_, timeout_;
  std::unique_ptr<CURL, Cleanup> handle_;
};

}  // namespace kiln::detail
