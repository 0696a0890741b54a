// libmicrohttpd 0.9.75 for Swift: fixed-arity wrappers for the variadic functions.
#ifndef UIQ_CMICROHTTPD_SHIM_H
#define UIQ_CMICROHTTPD_SHIM_H
#include <sys/prctl.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <microhttpd.h>

/// Everything UrgencyIQ configures on a daemon.
typedef struct uiq_mhd_config {
    unsigned int flags;
    uint16_t port;
    const struct sockaddr *address;  /// the interface to bind, or NULL for all
    unsigned int threads;            /// internal thread pool size
    unsigned int connection_limit;
    unsigned int connection_timeout; /// seconds of inactivity before a connection is dropped
    size_t connection_memory_limit;  /// per-connection buffer for headers and reads
    unsigned int per_ip_connection_limit;
    unsigned int listen_backlog;
    MHD_AccessHandlerCallback handler;
    void *handler_context;
    MHD_RequestCompletedCallback completed;
    void *completed_context;
} uiq_mhd_config;

/// MHD_start_daemon with the options above.
static inline struct MHD_Daemon *uiq_mhd_start(const uiq_mhd_config *c) {
    return MHD_start_daemon(c->flags, c->port, NULL, NULL, c->handler, c->handler_context,
                            MHD_OPTION_THREAD_POOL_SIZE, c->threads,
                            MHD_OPTION_CONNECTION_LIMIT, c->connection_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, c->connection_timeout,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->connection_memory_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->per_ip_connection_limit,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, c->listen_backlog,
                            MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
                            MHD_OPTION_NOTIFY_COMPLETED, c->completed, c->completed_context,
                            c->address ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, c->address,
                            MHD_OPTION_END);
}

/// The port the daemon listens on (useful after binding port 0).
static inline uint16_t uiq_mhd_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

/// The client's address, or NULL.
static inline const struct sockaddr *uiq_mhd_client_address(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info ? info->client_addr : NULL;
}

/// A response owning a copy of `size` bytes.
static inline struct MHD_Response *uiq_mhd_response_copying(size_t size, const void *bytes) {
    return MHD_create_response_from_buffer(size, (void *)bytes, MHD_RESPMEM_MUST_COPY);
}

/// Names the calling thread (15 characters at most), as top and perf show it.
static inline void uiq_set_thread_name(const char *name) { prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0); }

static inline unsigned int uiq_mhd_flag_epoll(void) { return MHD_USE_EPOLL_INTERNAL_THREAD; }
static inline unsigned int uiq_mhd_flag_suspend_resume(void) { return MHD_ALLOW_SUSPEND_RESUME; }
static inline unsigned int uiq_mhd_flag_error_log(void) { return MHD_USE_ERROR_LOG; }
static inline unsigned int uiq_mhd_flag_ipv6(void) { return MHD_USE_IPv6; }
#endif
