// libcurl 7.88 for Swift: fixed-arity wrappers for the variadic curl_easy_setopt / curl_easy_getinfo.
#ifndef UIQ_CCURL_SHIM_H
#define UIQ_CCURL_SHIM_H
#include <curl/curl.h>

/// The signature of CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION callbacks.
typedef size_t (*uiq_curl_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode uiq_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode uiq_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode uiq_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode uiq_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode uiq_curl_setopt_size(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode uiq_curl_setopt_callback(CURL *handle, CURLoption option, uiq_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode uiq_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode uiq_curl_getinfo_offset(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
#endif
